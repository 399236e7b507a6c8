"""The one app factory: the API and the web site in one Litestar app.

``create_app(settings)`` binds the catalogue to the settings' database, mounts the
``api`` and ``web`` routers and installs the one error format. Tests build apps with
their own :class:`~registry.settings.Settings` instead of patching globals.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.template.config import TemplateConfig
from piccolo.engine.postgres import PostgresEngine

from api.auth import DEPENDENCIES
from api.caching import conditional_get_middleware
from api.controllers.declarations import DeclarationController
from api.controllers.federation import FederationController
from api.controllers.meta import MetaController
from api.controllers.operations import (
    CrawlRunController,
    RegistrationController,
    StatsController,
)
from api.controllers.projects import ExportController, ProjectController
from api.controllers.publishers import PublisherController
from api.errors import EXCEPTION_HANDLERS, document_problems
from api.hosts import allowed_hosts_middleware
from api.ratelimit import WRITE_AND_SEARCH_LIMIT, rate_limit_config
from registry import db
from registry.settings import Settings, get_settings

API_CONTROLLERS = (
    ProjectController,
    ExportController,
    PublisherController,
    DeclarationController,
    RegistrationController,
    CrawlRunController,
    StatsController,
)


document_problems(MetaController, *API_CONTROLLERS)


def create_app(
    settings: Settings | None = None,
    *,
    migrate: bool = False,
    bind_database: bool = True,
    rate_limit: tuple[str, int] | None = WRITE_AND_SEARCH_LIMIT,
    run_registrations: bool = True,
) -> Litestar:
    """Build the app. With ``migrate=True`` pending migrations run at start-up.

    ``bind_database=False`` keeps the engine the caller already bound (tests);
    ``rate_limit`` is (unit, count) per client for writes and searches, ``None`` for none;
    ``run_registrations=False`` leaves registrations queued instead of crawling in-process.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        if bind_database:
            engine = db.use_database(settings.effective_database_url)
            if isinstance(engine, PostgresEngine):
                await engine.start_connection_pool(min_size=2, max_size=10)
        if migrate:
            await db.migrate()
        try:
            yield
        finally:
            if bind_database:
                await db.close()

    from web.routes import TEMPLATES, web_router

    route_handlers: list[Any] = [MetaController, FederationController, *API_CONTROLLERS, web_router]
    middleware: list[Any] = [
        allowed_hosts_middleware(settings.allowed_hosts),
        conditional_get_middleware,
    ]
    if rate_limit is not None:
        middleware.append(rate_limit_config(rate_limit).middleware)
    return Litestar(
        route_handlers=route_handlers,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title=f"{settings.instance_name} API",
            version="1.0.0",
            description="The catalogue of reusable public-sector software.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        middleware=middleware,
        dependencies=DEPENDENCIES,
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        state=State({"settings": settings, "run_registrations": run_registrations}),
        debug=False,
    )
