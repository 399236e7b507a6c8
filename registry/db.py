"""Connecting the catalogue to its database.

The database URL decides the engine: ``sqlite:///path`` (the embedded default) or
``postgresql://...``. :func:`use_database` binds every table to the engine and runs
nothing; :func:`migrate` applies the Piccolo migrations, the same ones on both.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from registry.errors import CommunsError, ValidationError
from registry.tables import TABLES

os.environ.setdefault("PICCOLO_CONF", "registry.piccolo_conf")

#: SQLite waits this long for a lock held by another writer before failing.
SQLITE_BUSY_TIMEOUT_S = 30


def engine_for_url(url: str) -> Engine:
    """An engine for a database URL; no connection is opened yet."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        elif parts.netloc:
            path = parts.netloc + path
        else:
            path = path[1:] if path.startswith("/") else path
        if not path:
            raise ValidationError(f"database URL {url!r} names no SQLite file")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
    if parts.scheme in {"postgres", "postgresql", "postgresql+asyncpg"}:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        return PostgresEngine(config={"dsn": dsn})
    raise ValidationError(
        f"database URL {url!r}: unsupported scheme {parts.scheme!r} "
        "(use sqlite:///path or postgresql://user@host/db)"
    )


def use_database(url: str) -> Engine:
    """Bind every catalogue table (and Piccolo's migration table) to ``url``'s engine."""
    from registry import piccolo_conf

    engine = engine_for_url(url)
    piccolo_conf.DB = engine
    for table in (*TABLES, Migration):
        table._meta.db = engine
    return engine


def current_engine() -> Engine:
    from registry import piccolo_conf

    return piccolo_conf.DB


async def migrate(*, quiet: bool = True) -> list[str]:
    """Apply every migration not yet applied; return the ids applied.

    Safe to run on every start: already-applied migrations are skipped.
    """
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    before = set(await _applied())
    manager = ForwardsMigrationManager(app_name="registry")
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        result = await manager.run()
    if not result.success:
        raise CommunsError(f"migration failed: {result.message}\n{sink.getvalue()}")
    return sorted(set(await _applied()) - before)


async def _applied() -> list[str]:
    if not await Migration.table_exists().run():
        return []
    rows = await Migration.select(Migration.name).where(Migration.app_name == "registry").run()
    return [row["name"] for row in rows]


async def close(engine: Engine | None = None) -> None:
    """Close the PostgreSQL pool if one was started (SQLite has none)."""
    engine = engine or current_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


def transaction():  # type: ignore[no-untyped-def]
    """One unit of work. On SQLite an immediate transaction, so that two writers
    queue on the lock instead of failing when a read lock is upgraded."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        from piccolo.engine.sqlite import TransactionType

        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
