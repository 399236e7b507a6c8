"""Reuse declarations: publisher X declares that it uses project Y.

One current declaration per (publisher, project) (a unique index says so); every state a
declaration goes through is kept in ``reuse_declaration_history`` (newest last, the
creation included) and recorded in the change log, in the same transaction. Withdrawing
is a status (``withdrawn``), never a deletion; declaring again after a withdrawal brings
the same declaration back.

Permission: the ``actor`` is described by :class:`Actor`; members of X (any membership
role) and admins may write X's declarations. Callers map the errors to HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from registry import db
from registry.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from registry.services import changelog
from registry.tables import (
    DECLARATION_STATUSES,
    Project,
    Publisher,
    ReuseDeclaration,
    ReuseDeclarationHistory,
)

FIELDS = ("version", "since", "status", "service_url", "contact", "comment")
WRITABLE_STATUSES = ("evaluating", "production", "stopped")


@dataclass(frozen=True)
class Actor:
    """Who writes: a user id, whether they are an admin, the publishers they belong to."""

    user_id: int | None
    name: str
    is_admin: bool = False
    publisher_ids: frozenset[int] = field(default_factory=frozenset)

    def may_declare_for(self, publisher_id: int) -> bool:
        return self.is_admin or publisher_id in self.publisher_ids


@dataclass
class Declaration:
    id: int
    publisher_id: int
    publisher_name: str
    project_id: int
    project_slug: str
    project_name: str
    version: str
    since: dt.date | None
    status: str
    service_url: str
    contact: str
    comment: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


@dataclass
class HistoryEntry:
    changed_at: dt.datetime | None
    changed_by: int | None
    snapshot: dict[str, Any]


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _check(values: dict[str, Any]) -> None:
    status = values.get("status")
    if status is not None and status not in WRITABLE_STATUSES:
        raise ValidationError(
            f"status {status!r}: one of {list(WRITABLE_STATUSES)} (withdraw to withdraw)",
            errors=[{"field": "status", "message": f"one of {list(WRITABLE_STATUSES)}"}],
        )
    url = values.get("service_url")
    if url and not str(url).startswith(("https://", "http://")):
        raise ValidationError(
            "service_url must be an http(s) URL",
            errors=[{"field": "service_url", "message": "http:// or https:// URL"}],
        )


async def _load(declaration_id: int) -> Declaration:
    rows = await ReuseDeclaration.raw(
        "SELECT d.*, pub.name AS publisher_name, p.slug AS project_slug, "
        "p.name AS project_name FROM reuse_declaration d "
        "JOIN publisher pub ON pub.id = d.publisher JOIN project p ON p.id = d.project "
        "WHERE d.id = {}",
        declaration_id,
    )
    if not rows:
        raise NotFoundError(f"reuse declaration {declaration_id} does not exist")
    r = rows[0]

    def when(value: Any) -> dt.datetime | None:
        if isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        return value  # type: ignore[no-any-return]

    return Declaration(
        id=int(r["id"]),
        publisher_id=int(r["publisher"]),
        publisher_name=r["publisher_name"],
        project_id=int(r["project"]),
        project_slug=r["project_slug"],
        project_name=r["project_name"],
        version=r["version"],
        since=_date(r["since"]),
        status=r["status"],
        service_url=r["service_url"],
        contact=r["contact"],
        comment=r["comment"],
        created_at=when(r["created_at"]),
        updated_at=when(r["updated_at"]),
    )


def _snapshot(d: Declaration) -> dict[str, Any]:
    return {
        "publisher": d.publisher_id,
        "project": d.project_id,
        "version": d.version,
        "since": d.since.isoformat() if d.since else None,
        "status": d.status,
        "service_url": d.service_url,
        "contact": d.contact,
        "comment": d.comment,
    }


async def _remember(d: Declaration, action: str, actor: Actor, changes: dict[str, Any]) -> None:
    await ReuseDeclarationHistory.insert(
        ReuseDeclarationHistory(declaration=d.id, snapshot=_snapshot(d), changed_by=actor.user_id)
    )
    await changelog.record(
        "reuse_declaration", d.id, action, {**_snapshot(d), "changed": changes}, actor=actor.name
    )


async def declare(
    actor: Actor, publisher_id: int, project_id: int, values: dict[str, Any]
) -> Declaration:
    """Declare that ``publisher_id`` uses ``project_id``.

    404 when either does not exist; 403 when the actor may not act for the publisher;
    409 when a current (not withdrawn) declaration exists (PATCH it instead); a withdrawn
    declaration is brought back with the new values.
    """
    _check(values)
    if not await Publisher.exists().where(Publisher.id == publisher_id):
        raise NotFoundError(f"publisher {publisher_id} does not exist")
    if not await Project.exists().where(Project.id == project_id):
        raise NotFoundError(f"project {project_id} does not exist")
    if not actor.may_declare_for(publisher_id):
        raise PermissionDeniedError("only members of the publisher may declare its reuse")
    values = {k: v for k, v in values.items() if k in FIELDS and v is not None}
    values.setdefault("status", "production")
    if "since" in values:
        values["since"] = _date(values["since"])
    now = dt.datetime.now(dt.UTC)
    async with db.transaction():
        existing = (
            await ReuseDeclaration.select(ReuseDeclaration.id, ReuseDeclaration.status)
            .where(
                (ReuseDeclaration.publisher == publisher_id)
                & (ReuseDeclaration.project == project_id)
            )
            .first()
        )
        if existing and existing["status"] != "withdrawn":
            raise ConflictError(
                f"publisher {publisher_id} already declared project {project_id} "
                f"(declaration {existing['id']}); change it instead",
                errors=[{"field": "project_id", "message": f"declaration {existing['id']}"}],
            )
        if existing:
            reset = {"version": "", "since": None, "service_url": "", "contact": "", "comment": ""}
            reset.update(values)
            await ReuseDeclaration.update(
                {
                    **{getattr(ReuseDeclaration, k): v for k, v in reset.items()},
                    ReuseDeclaration.declared_by: actor.user_id,
                    ReuseDeclaration.updated_at: now,
                }
            ).where(ReuseDeclaration.id == existing["id"])
            declaration_id, action = int(existing["id"]), "redeclared"
        else:
            rows = await ReuseDeclaration.insert(
                ReuseDeclaration(
                    publisher=publisher_id,
                    project=project_id,
                    declared_by=actor.user_id,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            ).returning(ReuseDeclaration.id)
            declaration_id, action = int(rows[0]["id"]), "added"
        declaration = await _load(declaration_id)
        await _remember(declaration, action, actor, values)
    return declaration


async def get(declaration_id: int) -> Declaration:
    return await _load(declaration_id)


async def update(actor: Actor, declaration_id: int, values: dict[str, Any]) -> Declaration:
    """Change some fields of a declaration; withdrawn ones must be declared again."""
    _check(values)
    values = {k: v for k, v in values.items() if k in FIELDS}
    if "since" in values:
        values["since"] = _date(values["since"])
    current = await _load(declaration_id)
    if not actor.may_declare_for(current.publisher_id):
        raise PermissionDeniedError("only members of the publisher may change its declarations")
    if current.status == "withdrawn":
        raise ConflictError("this declaration was withdrawn; declare the reuse again")
    return await _apply(actor, current, values, "changed")


async def withdraw(actor: Actor, declaration_id: int) -> Declaration:
    """Mark a declaration withdrawn (kept, with its history)."""
    current = await _load(declaration_id)
    if not actor.may_declare_for(current.publisher_id):
        raise PermissionDeniedError("only members of the publisher may withdraw its declarations")
    if current.status == "withdrawn":
        return current
    return await _apply(actor, current, {"status": "withdrawn"}, "withdrawn")


async def _apply(
    actor: Actor, current: Declaration, values: dict[str, Any], action: str
) -> Declaration:
    changes = {k: v for k, v in values.items() if getattr(current, k) != v}
    if not changes:
        return current
    async with db.transaction():
        await ReuseDeclaration.update(
            {
                **{getattr(ReuseDeclaration, k): v for k, v in changes.items()},
                ReuseDeclaration.updated_at: dt.datetime.now(dt.UTC),
            }
        ).where(ReuseDeclaration.id == current.id)
        declaration = await _load(current.id)
        await _remember(declaration, action, actor, changes)
    return declaration


async def history(declaration_id: int) -> list[HistoryEntry]:
    """Every state of a declaration, oldest first."""
    await _load(declaration_id)
    rows = (
        await ReuseDeclarationHistory.select()
        .where(ReuseDeclarationHistory.declaration == declaration_id)
        .order_by(ReuseDeclarationHistory.id)
        .output(load_json=True)
    )
    return [HistoryEntry(r["changed_at"], r["changed_by"], dict(r["snapshot"])) for r in rows]


async def list_declarations(
    *,
    publisher_id: int | None = None,
    project_id: int | None = None,
    include_withdrawn: bool = False,
    limit: int = 200,
) -> list[Declaration]:
    """Declarations of a publisher or of a project (newest first)."""
    query = (
        ReuseDeclaration.select(ReuseDeclaration.id)
        .order_by(ReuseDeclaration.id, ascending=False)
        .limit(limit)
    )
    if publisher_id is not None:
        query = query.where(ReuseDeclaration.publisher == publisher_id)
    if project_id is not None:
        query = query.where(ReuseDeclaration.project == project_id)
    if not include_withdrawn:
        query = query.where(ReuseDeclaration.status != "withdrawn")
    return [await _load(int(r["id"])) for r in await query]


assert set(WRITABLE_STATUSES) < set(DECLARATION_STATUSES)
