"""Instance-level resources: health."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get

from registry import db
from registry.settings import Settings


class Health(msgspec.Struct):
    status: str
    instance: str
    database: str
    tasks: str


class MetaController(Controller):
    path = "/api/v1"
    tags = ["meta"]

    @get("/health", operation_id="getHealth", summary="Is this instance up?")
    async def health(self, request: Request) -> Health:  # type: ignore[type-arg]
        """Answers when the server is up and its database reachable."""
        settings: Settings = request.app.state.settings
        engine = db.current_engine()
        from registry.tables import Publisher

        await Publisher.count()
        return Health(
            status="ok",
            instance=settings.instance_name,
            database=engine.engine_type,
            tasks="in-process" if settings.tasks_in_process else "celery",
        )
