"""Multi-row ``INSERT ... ON CONFLICT DO NOTHING`` on both engines.

The ORM builds one object and one query string per row, which costs about a
millisecond per row; applying a feed page of a thousand entries needs a few statements
instead. Statements run on the current transaction's own connection.
"""

from __future__ import annotations

import json
from typing import Any

from piccolo.columns import JSON
from piccolo.columns.defaults.base import Default
from piccolo.table import Table


def _row_defaults(table: type[Table]) -> dict[str, Any]:
    """Every column but the primary key with its default, as a bulk insert needs."""
    out: dict[str, Any] = {}
    for column in table._meta.columns:
        if column._meta.primary_key:
            continue
        value = column.get_default_value()
        if isinstance(value, Default):  # TimestamptzNow and friends
            value = value.python()
        out[column._meta.name] = value
    return out


def _json_columns(table: type[Table]) -> frozenset[str]:
    return frozenset(c._meta.name for c in table._meta.columns if isinstance(c, JSON))


def _params(columns: list[str], json_at: list[int], rows: list[dict[str, Any]]) -> list[Any]:
    """The rows' values in column order, one flat list; JSON columns serialised unless
    already text."""
    params: list[Any] = []
    for row in rows:
        values = [row[name] for name in columns]
        for at in json_at:
            if not isinstance(values[at], str):
                values[at] = json.dumps(values[at], ensure_ascii=False)
        params.extend(values)
    return params


async def bulk_insert(
    table: type[Table], rows: list[dict[str, Any]], returning: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """``INSERT ... ON CONFLICT DO NOTHING`` of many rows in few statements (the ORM's
    per-object inserts cost a millisecond each). Returns the ``returning`` columns of the
    rows actually inserted; the others met a unique constraint."""
    if not rows:
        return []
    defaults = _row_defaults(table)
    full = [{**defaults, **row} for row in rows]
    columns = list(full[0])
    per_row = "(" + ", ".join(["{}"] * len(columns)) + ")"
    names = ", ".join(f'"{c}"' for c in columns)
    tail = (" RETURNING " + ", ".join(f'"{c}"' for c in ("id", *returning))) if returning else ""
    size = max(1, min(500, 30_000 // len(columns)))
    json_columns = _json_columns(table)
    json_at = [at for at, name in enumerate(columns) if name in json_columns]
    out: list[dict[str, Any]] = []
    for start in range(0, len(full), size):
        chunk = full[start : start + size]
        params = _params(columns, json_at, chunk)
        values = ", ".join([per_row] * len(chunk))
        sql = (
            f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES {values}'
            f" ON CONFLICT DO NOTHING{tail}"
        )
        out.extend(await _run_raw(table, sql, params))
    return out


async def select_in(
    table: type[Table],
    columns: tuple[str, ...],
    equal: dict[str, Any],
    column: str,
    values: list[Any],
) -> list[dict[str, Any]]:
    """``SELECT columns WHERE a = .. AND b = .. AND column IN (values)``, in chunks, on
    the current transaction's connection. Naming every column of an index before the
    ``IN`` lets the database use the whole index (an ``IN`` on an inner column alone
    scans every row under the outer ones)."""
    out: list[dict[str, Any]] = []
    names = ", ".join(f'"{c}"' for c in columns)
    fixed = "".join(f'"{c}" = {{}} AND ' for c in equal)
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        sql = (
            f'SELECT {names} FROM "{table._meta.tablename}" WHERE {fixed}'
            f'"{column}" IN ({", ".join(["{}"] * len(chunk))})'
        )
        out.extend(await _run_raw(table, sql, [*equal.values(), *chunk]))
    return out


async def _run_raw(table: type[Table], sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Run ``sql`` (``{}`` placeholders) on the current transaction's own connection,
    skipping the ORM's query building, which costs more than the database for big
    statements; outside a transaction, through the ORM."""
    engine = table._meta.db
    transaction = engine.current_transaction.get()
    if transaction is None:
        return list(await table.raw(sql, *params) or [])
    if engine.engine_type == "sqlite":
        cursor = await transaction.connection.execute(sql.replace("{}", "?"), params)
        rows = await cursor.fetchall()
        await cursor.close()
        return [dict(row) for row in rows]
    parts = sql.split("{}")
    numbered = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
    return [dict(row) for row in await transaction.connection.fetch(numbered, *params)]
