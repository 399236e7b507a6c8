"""Shared fixtures.

``database`` runs a test on SQLite and on PostgreSQL. PostgreSQL is found at
``COMMUNS_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
when it cannot be reached the PostgreSQL half is skipped with the reason, unless
``COMMUNS_TEST_REQUIRE_POSTGRES=1`` (CI), where that is a failure. Each test session
works in a database of its own, created from empty by the migrations.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from registry import db

PG_ADMIN_URL = os.environ.get(
    "COMMUNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("COMMUNS_TEST_REQUIRE_POSTGRES") == "1"
TESTS = Path(__file__).parent
DATA = TESTS / "data"


def run_sync(coro: object) -> object:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


def _pg_problem() -> str | None:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover
        return "asyncpg is not installed"

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        run_sync(probe())
    except Exception as error:  # any reason PostgreSQL is unusable is a skip reason
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {error}"
    return None


class PostgresDatabase:
    """A database of this test session's own on the PostgreSQL server."""

    def __init__(self) -> None:
        self.name = f"communs_test_{uuid.uuid4().hex[:10]}"
        base, _, _ = PG_ADMIN_URL.rpartition("/")
        self.url = f"{base}/{self.name}"

    def _admin(self, sql: str) -> None:
        import asyncpg

        async def run() -> None:
            conn = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        run_sync(run())

    def create(self) -> None:
        self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of an empty PostgreSQL database for this session (skips without one)."""
    problem = _pg_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"COMMUNS_TEST_REQUIRE_POSTGRES=1 but {problem}")
        pytest.skip(problem)
    database = PostgresDatabase()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


_migrated: set[str] = set()


async def _truncate_all() -> None:
    from registry.tables import TABLES

    #: tables created by raw DDL in migrations, with no Piccolo class
    raw_tables = ("federation_entity",)
    names = ", ".join([f'"{t._meta.tablename}"' for t in TABLES] + [f'"{n}"' for n in raw_tables])
    await db.current_engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty, migrated catalogue on SQLite, then on PostgreSQL; yields the engine type."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
        db.use_database(url)
        await db.migrate()
    else:
        url = request.getfixturevalue("postgres_url")
        db.use_database(url)
        if url not in _migrated:
            await db.migrate()
            _migrated.add(url)
        else:
            await _truncate_all()
    try:
        yield request.param
    finally:
        await db.close()


@pytest.fixture
def sqlite_only_database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
