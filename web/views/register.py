"""Registering a project: a maintainer gives a repository URL, watches the crawl, gets
the new sheet.

The web form calls :mod:`registry.services.registrations`, like ``POST
/api/v1/registrations``: the URL is checked and a registration run queued; without a
broker the crawl runs in-process right after the answer. The run's page shows its live
state (htmx polls its status fragment; without JavaScript a refresh link does the same)
and, once done, the link to the new sheet.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath

from crawlers.tasks import queue_registration
from registry.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from registry.services import registrations
from registry.tables import Project, Publisher
from web.i18n import N_
from web.templating import current_user, redirect, render

FINAL = ("done", "failed")


async def _maintained(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], list[Any]]:
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    ids = [pid for pid, role in user["memberships"].items() if role == "maintainer"]
    if not ids and user["role"] != "admin":
        raise PermissionDeniedError(N_("Only maintainers of a publisher can register projects."))
    query = Publisher.select(Publisher.id, Publisher.name).order_by(Publisher.name)
    if user["role"] != "admin" or ids:
        query = query.where(Publisher.id.is_in(ids or [-1]))
    return user, await query.limit(500)


@get("/register", name="register_form")
async def register_form(request: Request[Any, Any, Any]) -> Response[str]:
    """The registration form: the repository URL and the publisher it is registered for."""
    _user, publishers = await _maintained(request)
    return await render(
        request,
        "register.html",
        {"errors": [], "url": "", "publishers": publishers, "chosen": None},
    )


@post("/register", name="register_submit", status_code=303)
async def register_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """Queue the registration and go to its live status page."""
    user, publishers = await _maintained(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    url = form.get("url", "").strip()[:2048]
    chosen = next((p for p in publishers if str(p["id"]) == form.get("publisher")), None)
    errors: list[str] = []
    if chosen is None:
        errors.append(N_("Choose the publisher the project belongs to."))
    elif not url:
        errors.append(N_("Give the address of the repository."))
    else:
        settings = request.app.state.settings
        maintains = user["memberships"].get(int(chosen["id"])) == "maintainer"
        try:
            run = await registrations.register(
                url,
                int(chosen["id"]),
                user_id=int(user["id"]),
                may_maintain=maintains or user["role"] == "admin",
                settings=settings,
            )
        except ValidationError as error:
            errors.append(error.message)
        else:
            background = None
            if request.app.state.get("run_registrations", True) and not queue_registration(
                settings, run.id
            ):
                background = BackgroundTask(registrations.execute, run.id, settings)
            return redirect(request, f"/register/runs/{run.id}", background=background)
    return await render(
        request,
        "register.html",
        {"errors": errors, "url": url, "publishers": publishers, "chosen": chosen},
        status=400,
    )


@get("/register/runs/{run_id:int}", name="register_status")
async def register_status(request: Request[Any, Any, Any], run_id: FromPath[int]) -> Response[str]:
    """Where a registration is: queued, running, done (link to the sheet) or failed (why).

    Visible to maintainers of the publisher and staff; to others it does not exist.
    """
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    run = await registrations.get_run(run_id)
    visible = run.kind == "registration" and (
        user["role"] in ("admin", "community_manager")
        or (run.publisher_id is not None and run.publisher_id in user["memberships"])
    )
    if not visible:
        raise NotFoundError(f"no registration {run_id}")
    project = None
    if run.project_id is not None:
        project = (
            await Project.select(Project.slug, Project.name)
            .where(Project.id == run.project_id)
            .first()
        )
    return await render(
        request,
        "register_run.html",
        {"run": run, "project": project, "final": run.status in FINAL},
        fragment="register_run_status.html",
    )


ROUTES = [register_form, register_submit, register_status]
