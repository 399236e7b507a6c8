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

from api.controllers.federation import FederationController
from api.controllers.meta import MetaController
from api.errors import EXCEPTION_HANDLERS
from api.hosts import allowed_hosts_middleware
from registry import db
from registry.settings import Settings, get_settings


def create_app(settings: Settings | None = None, *, migrate: bool = False) -> Litestar:
    """Build the app. With ``migrate=True`` pending migrations run at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        db.use_database(settings.effective_database_url)
        if migrate:
            await db.migrate()
        try:
            yield
        finally:
            await db.close()

    from web.routes import TEMPLATES, web_router

    route_handlers: list[Any] = [MetaController, FederationController, web_router]
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
        middleware=[allowed_hosts_middleware(settings.allowed_hosts)],
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        state=State({"settings": settings}),
        debug=False,
    )
