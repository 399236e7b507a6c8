"""The "we use this" form: a member of a publisher declares, edits or withdraws reuse.

Writes go through :mod:`registry.services.declarations`, the service the API uses: the
same permission rule (members of the publisher, admins), the same history.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from registry.errors import (
    AuthenticationError,
    PermissionDeniedError,
    ValidationError,
)
from registry.services import catalogue, declarations
from registry.tables import Publisher
from web.i18n import N_
from web.templating import current_user, redirect, render

STATUSES = declarations.WRITABLE_STATUSES


def actor_for(user: dict[str, Any]) -> declarations.Actor:
    return declarations.Actor(
        user_id=int(user["id"]),
        name=user["username"],
        is_admin=user["role"] == "admin",
        publisher_ids=frozenset(user["memberships"]),
    )


async def _context(request: Request[Any, Any, Any], slug: str) -> dict[str, Any]:
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    sheet = await catalogue.project_sheet(slug)
    publishers = (
        await Publisher.select(Publisher.id, Publisher.name)
        .where(Publisher.id.is_in(list(user["memberships"]) or [-1]))
        .order_by(Publisher.name)
    )
    if not publishers:
        raise PermissionDeniedError(N_("Only members of a publisher can declare reuse."))
    versions: list[str] = []
    for release in sorted(
        (r for repo in sheet.repositories for r in repo.releases),
        key=lambda r: (r.published_at is not None, r.published_at),
        reverse=True,
    ):
        version = release.version or release.tag
        if version not in versions:
            versions.append(version)
    return {"user": user, "project": sheet, "publishers": publishers, "versions": versions}


def _chosen_publisher(raw: Any, publishers: list[dict[str, Any]]) -> dict[str, Any]:
    for publisher in publishers:
        if str(publisher["id"]) == str(raw):
            return publisher
    return publishers[0]


async def _existing(publisher_id: int, project_id: int) -> declarations.Declaration | None:
    found = await declarations.list_declarations(
        publisher_id=publisher_id, project_id=project_id, include_withdrawn=True, limit=1
    )
    return found[0] if found else None


def _values_of(existing: declarations.Declaration | None) -> dict[str, Any]:
    if existing is None or existing.status == "withdrawn":
        return {
            "version": "", "since": None, "status": "production",
            "service_url": "", "contact": "", "comment": "",
        }  # fmt: skip
    return {k: getattr(existing, k) for k in declarations.FIELDS}


@get("/projects/{slug:str}/reuse", name="reuse_form")
async def reuse_form(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[str]:
    """The form, filled with the current declaration of the chosen publisher if any."""
    context = await _context(request, slug)
    publisher = _chosen_publisher(request.query_params.get("publisher"), context["publishers"])
    existing = await _existing(int(publisher["id"]), context["project"].id)
    return await render(
        request,
        "reuse.html",
        {**context, "publisher": publisher, "existing": existing,
         "values": _values_of(existing), "statuses": STATUSES, "errors": []},
    )  # fmt: skip


@post("/projects/{slug:str}/reuse", name="reuse_save", status_code=303)
async def reuse_save(request: Request[Any, Any, Any], slug: FromPath[str]) -> Response[Any]:
    """Create, update or (``action=withdraw``) withdraw the declaration."""
    context = await _context(request, slug)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    publisher = _chosen_publisher(form.get("publisher"), context["publishers"])
    project = context["project"]
    actor = actor_for(context["user"])
    existing = await _existing(int(publisher["id"]), project.id)
    current = existing is not None and existing.status != "withdrawn"
    errors: list[str] = []
    since: dt.date | None = None
    if form.get("since"):
        try:
            since = dt.date.fromisoformat(form["since"])
        except ValueError:
            errors.append(N_("The date must be written as YYYY-MM-DD."))
    values = {
        "version": form.get("version", "").strip()[:200],
        "since": since,
        "status": form.get("status", "production"),
        "service_url": form.get("service_url", "").strip()[:500],
        "contact": form.get("contact", "").strip()[:300],
        "comment": form.get("comment", "").strip()[:5000],
    }
    if values["version"] and values["version"] not in context["versions"]:
        errors.append(N_("Choose the version among the project's known releases."))
    if not errors:
        try:
            if form.get("action") == "withdraw":
                if current and existing is not None:
                    await declarations.withdraw(actor, existing.id)
            elif current and existing is not None:
                await declarations.update(actor, existing.id, values)
            else:
                await declarations.declare(actor, int(publisher["id"]), project.id, values)
            return redirect(request, f"/projects/{project.slug}#reusers")
        except ValidationError as error:
            errors.append(error.message)
    return await render(
        request,
        "reuse.html",
        {**context, "publisher": publisher, "existing": existing, "values": values,
         "statuses": STATUSES, "errors": errors},
        status=400,
    )  # fmt: skip


ROUTES = [reuse_form, reuse_save]
