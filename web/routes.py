"""The web site: server-rendered pages over the same catalogue services as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.response import Template

from registry.tables import ForgeAccount, Project, Publisher, Repository

TEMPLATES = Path(__file__).parent / "templates"


@get("/", name="home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    """The home page: what this instance holds and where to start."""
    counts = {
        "publishers": await Publisher.count(),
        "accounts": await ForgeAccount.count(),
        "projects": await Project.count(),
        "repositories": await Repository.count().where(Repository.gone_at.is_null()),
    }
    return Template(
        template_name="home.html",
        context={"settings": request.app.state.settings, "counts": counts},
    )


web_router = Router(path="/", route_handlers=[home], include_in_schema=False)
