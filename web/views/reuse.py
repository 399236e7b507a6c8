"""The "we use this" form: a member of a publisher declares, edits or withdraws reuse."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from registry.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from registry.tables import DECLARATION_STATUSES, Project, Publisher
from web.i18n import N_
from web.queries import declaration_for, declare_reuse, known_versions
from web.templating import current_user, redirect, render

STATUSES = tuple(s for s in DECLARATION_STATUSES if s != "withdrawn")


async def _context(request: Request[Any, Any, Any], slug: FromPath[str]) -> dict[str, Any]:
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    project = (
        await Project.select(Project.id, Project.slug, Project.name)
        .where(Project.slug == slug)
        .first()
    )
    if project is None:
        raise NotFoundError(f"no project {slug!r}")
    publishers = (
        await Publisher.select(Publisher.id, Publisher.name)
        .where(Publisher.id.is_in(list(user["memberships"]) or [-1]))
        .order_by(Publisher.name)
    )
    if not publishers:
        raise PermissionDeniedError("only members of a publisher can declare reuse")
    return {"user": user, "project": project, "publishers": publishers}


def _chosen_publisher(raw: Any, publishers: list[dict[str, Any]]) -> dict[str, Any]:
    for publisher in publishers:
        if str(publisher["id"]) == str(raw):
            return publisher
    return publishers[0]


@get("/projects/{slug:str}/reuse", name="reuse_form")
async def reuse_form(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """The form, filled with the current declaration of the chosen publisher if any."""
    context = await _context(request, slug)
    publisher = _chosen_publisher(request.query_params.get("publisher"), context["publishers"])
    existing = await declaration_for(int(publisher["id"]), int(context["project"]["id"]))
    values = dict(
        existing
        or {
            "version": "",
            "since": None,
            "status": "production",
            "service_url": "",
            "contact": "",
            "comment": "",
        }
    )
    return await render(
        request,
        "reuse.html",
        {
            **context,
            "publisher": publisher,
            "existing": existing,
            "values": values,
            "versions": await known_versions(int(context["project"]["id"])),
            "statuses": STATUSES,
            "errors": [],
        },
    )


@post("/projects/{slug:str}/reuse", name="reuse_save", status_code=303)
async def reuse_save(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    """Create, update or (``action=withdraw``) withdraw the declaration."""
    context = await _context(request, slug)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    publisher = _chosen_publisher(form.get("publisher"), context["publishers"])
    project_id = int(context["project"]["id"])
    existing = await declaration_for(int(publisher["id"]), project_id)
    withdraw = form.get("action") == "withdraw"
    errors: list[str] = []
    since: dt.date | None = None
    if form.get("since"):
        try:
            since = dt.date.fromisoformat(form["since"])
        except ValueError:
            errors.append(N_("The date must be written as YYYY-MM-DD."))
    values = {
        "version": form.get("version", "").strip(),
        "since": since,
        "status": "withdrawn" if withdraw else form.get("status", "production"),
        "service_url": form.get("service_url", "").strip(),
        "contact": form.get("contact", "").strip(),
        "comment": form.get("comment", "").strip(),
    }
    if withdraw and existing:
        values = {**{k: existing[k] for k in values}, "status": "withdrawn"}
    if not errors:
        try:
            await declare_reuse(
                user=context["user"],
                publisher_id=int(publisher["id"]),
                project_id=project_id,
                **values,
            )
            return redirect(request, f"/projects/{context['project']['slug']}#reusers")
        except ValidationError as error:
            errors.append(error.message)
    return await render(
        request,
        "reuse.html",
        {
            **context,
            "publisher": publisher,
            "existing": existing,
            "values": values,
            "versions": await known_versions(project_id),
            "statuses": STATUSES,
            "errors": errors,
        },
        status=400,
    )


ROUTES = [reuse_form, reuse_save]
