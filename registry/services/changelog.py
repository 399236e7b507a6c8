"""The append-only change log: one row per change to a catalogue entry.

Writers call :func:`record` inside the same transaction as the change itself, so the
log never misses a change nor records one that was rolled back. The federation feed
and the history pages read it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from registry.tables import ChangeLog


def jsonable(value: Any) -> Any:
    """A change log entry's data as JSON values (datetimes in ISO 8601)."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


async def record(
    entity: str,
    entity_id: int,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    actor: str = "",
    origin: str = "",
) -> int:
    """Append one change; returns its sequence number (the row id)."""
    rows = await ChangeLog.insert(
        ChangeLog(
            entity=entity,
            entity_id=entity_id,
            action=action,
            data=jsonable(data or {}),
            actor=actor,
            origin=origin,
        )
    ).returning(ChangeLog.id)
    return int(rows[0]["id"])


async def entries(entity: str | None = None, entity_id: int | None = None) -> list[dict[str, Any]]:
    """Changes in commit order, optionally for one entry."""
    query = ChangeLog.select().order_by(ChangeLog.id)
    if entity is not None:
        query = query.where(ChangeLog.entity == entity)
    if entity_id is not None:
        query = query.where(ChangeLog.entity_id == entity_id)
    return await query


async def count() -> int:
    return await ChangeLog.count()
