"""Registration of repositories, crawl runs and catalogue statistics."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter

from api.auth import Principal, authenticate_request, require_staff, require_user
from crawlers.tasks import queue_registration
from registry.errors import NotFoundError
from registry.services import registrations, stats
from registry.services.registrations import RunStatus
from registry.settings import Settings


class RegistrationCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=2048,
            description=(
                "A repository URL (any spelling: https, ssh, git@host:path), or the address "
                "of its publiccode.yml, whose url key names the repository."
            ),
        ),
    ]
    publisher_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class RegistrationController(Controller):
    path = "/api/v1/registrations"
    tags = ["registrations"]
    before_request = authenticate_request

    @post(
        "/",
        operation_id="registerRepository",
        summary="Submit a repository URL for a publisher",
        status_code=202,
    )
    async def register(
        self,
        request: Request,
        data: JSONBody[RegistrationCreate],
        principal: NamedDependency[Principal | None],  # type: ignore[type-arg]
    ) -> Response[RunStatus]:
        """Maintainers of the publisher (and admins). Answers 202 with the queued run and
        its ``Location``; poll it until ``done`` (with ``project_id``) or ``failed``."""
        user = require_user(principal)
        settings: Settings = request.app.state.settings
        run = await registrations.register(
            data.url,
            data.publisher_id,
            user_id=user.user_id,
            may_maintain=user.can_maintain(data.publisher_id),
            settings=settings,
        )
        background = None
        if request.app.state.get("run_registrations", True) and not queue_registration(
            settings, run.id
        ):
            background = BackgroundTask(registrations.execute, run.id, settings)
        return Response(
            run,
            status_code=202,
            headers={"Location": f"/api/v1/registrations/{run.id}"},
            background=background,
        )

    @get("/{run_id:int}", operation_id="getRegistration", summary="Where a registration is")
    async def status(
        self,
        run_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        principal: NamedDependency[Principal | None],
    ) -> RunStatus:
        """queued, running, done (``project_id`` set) or failed (``error`` says why). Visible
        to who requested it, maintainers of the publisher and staff; others get 404."""
        user = require_user(principal)
        run = await registrations.get_run(run_id)
        visible = run.kind == "registration" and (
            user.is_staff or (run.publisher_id is not None and run.publisher_id in user.memberships)
        )
        if not visible:
            raise NotFoundError(f"no registration {run_id}")
        return run


class CrawlRunController(Controller):
    path = "/api/v1/crawl-runs"
    tags = ["crawl runs"]
    before_request = authenticate_request

    @get("/", operation_id="listCrawlRuns", summary="Crawl runs, newest first (staff)")
    async def list_runs(
        self,
        principal: NamedDependency[Principal | None],
        kind: Annotated[str, Parameter(max_length=20)] = "",
        status: FromQuery[Literal["", "queued", "running", "done", "failed"]] = "",
        before: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[RunStatus]:
        require_staff(principal)
        return await registrations.list_runs(kind=kind, status=status, limit=limit, before=before)

    @get("/{run_id:int}", operation_id="getCrawlRun", summary="A crawl run (staff)")
    async def get_run(
        self,
        run_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)],
        principal: NamedDependency[Principal | None],
    ) -> RunStatus:
        require_staff(principal)
        return await registrations.get_run(run_id)


class StatsController(Controller):
    path = "/api/v1/stats"
    tags = ["statistics"]
    before_request = authenticate_request

    @get("/", operation_id="getCatalogueStats", summary="Catalogue totals")
    async def totals(self) -> stats.CatalogueStats:
        return await stats.catalogue_stats()
