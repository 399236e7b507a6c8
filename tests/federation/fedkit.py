"""Real Communs instances for federation tests: ``communs serve`` subprocesses on
loopback ports, each with its own data directory (key pair) and database.

The test process writes into an instance's database (bound with :func:`bound`) the way
the catalogue services do (rows plus a change log record in one transaction), and
pulls either in-process (:func:`pull`) or with the ``communs peers`` command line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from registry import db
from registry.services import changelog
from registry.settings import Settings
from registry.tables import Peer, Project, Publisher, Repository, ReuseDeclaration

PG_ADMIN_URL = os.environ.get(
    "COMMUNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Instance:
    name: str
    port: int
    data_dir: Path
    database_url: str
    process: subprocess.Popen[str] | None = None
    created_databases: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
        env.update(
            COMMUNS_INSTANCE_URL=self.url,
            COMMUNS_INSTANCE_NAME=self.name,
            COMMUNS_DATA_DIR=str(self.data_dir),
            COMMUNS_DATABASE_URL=self.database_url,
            COMMUNS_ALLOW_LOOPBACK="true",
            COMMUNS_HTTP_TIMEOUT="10",
        )
        env.update(extra)
        return env

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env())

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "communs", "serve", "--port", str(self.port)],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RuntimeError(f"communs serve for {self.name} exited: {output}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"communs serve for {self.name} did not answer in 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "communs", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pg_available() -> bool:
    try:
        _run(_pg_admin("SELECT 1"))
    except Exception:
        return False
    return True


def make_instance(tmp_path: Path, name: str, engine: str = "sqlite") -> Instance:
    data_dir = tmp_path / name
    data_dir.mkdir(parents=True, exist_ok=True)
    created: list[str] = []
    if engine == "postgres":
        database = f"communs_fed_{name.lower()}_{uuid.uuid4().hex[:8]}"
        _run(_pg_admin(f'CREATE DATABASE "{database}"'))
        created.append(database)
        url = f"{PG_ADMIN_URL.rpartition('/')[0]}/{database}"
    else:
        url = f"sqlite:///{data_dir / 'communs.sqlite3'}"
    return Instance(
        name=name, port=free_port(), data_dir=data_dir, database_url=url, created_databases=created
    )


def drop_databases(instance: Instance) -> None:
    for database in instance.created_databases:
        _run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@asynccontextmanager
async def bound(instance: Instance) -> AsyncIterator[None]:
    """Bind the catalogue tables to ``instance``'s database for the block."""
    db.use_database(instance.database_url)
    try:
        yield
    finally:
        await db.close()


# Writing the way the services do ---------------------------------------------------------


async def create_publisher(slug: str, name: str) -> int:
    values = {"slug": slug, "name": name, "kind": "municipality", "country": "FR"}
    async with db.transaction():
        rows = await Publisher.insert(Publisher(**values)).returning(Publisher.id)
        publisher_id = int(rows[0]["id"])
        await changelog.record("publisher", publisher_id, "create", values, actor="test")
    return publisher_id


async def create_project(
    slug: str, name: str, repositories: list[str], publisher: int | None = None
) -> int:
    values: dict[str, Any] = {
        "slug": slug,
        "name": name,
        "publisher": publisher,
        "description": {"fr": f"{name}, logiciel libre"},
        "license_expression": "AGPL-3.0-only",
    }
    async with db.transaction():
        rows = await Project.insert(Project(**values)).returning(Project.id)
        project_id = int(rows[0]["id"])
        for url in repositories:
            await Repository.insert(
                Repository(url=url, project=project_id, name=url.rsplit("/", 1)[-1])
            )
        await changelog.record("project", project_id, "create", values, actor="test")
    return project_id


def _admin() -> Any:
    from registry.services.declarations import Actor

    return Actor(user_id=None, name="test-admin", is_admin=True)


async def declare(
    publisher: int, project: int, *, status: str = "production", version: str = "1.2.0"
) -> int:
    """Declare reuse through the declarations service (as the API does)."""
    from registry.services import declarations as service

    values: dict[str, Any] = {
        "status": status,
        "version": version,
        "since": "2025-03-01",
        "service_url": "https://services.example.fr/app",
        "comment": "en production",
    }
    declared = await service.declare(_admin(), publisher, project, values)
    return declared.id


async def withdraw(declaration: int) -> None:
    from registry.services import declarations as service

    await service.withdraw(_admin(), declaration)


async def seed(count: int, prefix: str = "ville") -> None:
    """``count`` publishers each declaring one of ``count // 10 + 1`` projects, written
    in one transaction with their change log records, as an import would."""
    async with db.transaction():
        projects = []
        for i in range(count // 10 + 1):
            values: dict[str, Any] = {"slug": f"{prefix}-logiciel-{i}", "name": f"Logiciel {i}"}
            rows = await Project.insert(Project(**values)).returning(Project.id)
            projects.append(int(rows[0]["id"]))
            url = f"https://git.example.org/{prefix}/logiciel-{i}"
            await Repository.insert(Repository(url=url, project=projects[-1]))
            await changelog.record("project", projects[-1], "create", values)
        for i in range(count):
            values = {"slug": f"{prefix}-{i}", "name": f"Ville {i}", "kind": "municipality"}
            rows = await Publisher.insert(Publisher(**values)).returning(Publisher.id)
            publisher = int(rows[0]["id"])
            await changelog.record("publisher", publisher, "create", values)
            values = {"publisher": publisher, "project": projects[i % len(projects)]}
            rows = await ReuseDeclaration.insert(ReuseDeclaration(**values)).returning(
                ReuseDeclaration.id
            )
            await changelog.record("reuse_declaration", int(rows[0]["id"]), "create", values)


# Reading what an instance shows ----------------------------------------------------------


async def declarations() -> set[tuple[str, str, str, str, str]]:
    """(publisher slug, project slug, status, origin, origin id) of every declaration."""
    rows = await ReuseDeclaration.select(
        ReuseDeclaration.publisher.slug,
        ReuseDeclaration.project.slug,
        ReuseDeclaration.status,
        ReuseDeclaration.origin,
        ReuseDeclaration.origin_id,
    )
    return {
        (r["publisher.slug"], r["project.slug"], r["status"], r["origin"], r["origin_id"])
        for r in rows
    }


async def add_peer(instance: Instance, peer: Instance, *, trusted: bool = True) -> None:
    """Register ``peer`` in ``instance``'s database with the key it announces."""
    from crawlers.federation import add_peer as add
    from crawlers.federation import fetch_instance

    info = await fetch_instance(instance.settings, peer.url)
    async with bound(instance):
        await add(info, trusted=trusted)


async def pull(instance: Instance, peer: Instance, **options: Any) -> Any:
    from crawlers.federation import pull_peer

    async with bound(instance):
        return await pull_peer(instance.settings, peer.url, **options)


async def peer_row(instance: Instance, peer: Instance) -> dict[str, Any]:
    async with bound(instance):
        row = await Peer.select().where(Peer.url == peer.url).first()
    assert row is not None
    return row


class TamperingTransport(httpx.AsyncBaseTransport):
    """A man in the middle: real HTTP to the peer, feed pages rewritten by ``mutate``
    (bytes in, bytes out) before the puller sees them."""

    def __init__(self, mutate: Any) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.mutate = mutate
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/federation/feed"):
            return response
        body = await response.aread()
        self.pages += 1
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=self.mutate(body), request=request
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def tampering_client(instance: Instance, mutate: Any | TamperingTransport) -> Any:
    """A client whose feed pages go through ``mutate`` (or the transport given)."""
    from crawlers.http import ForgeClient

    transport = mutate if isinstance(mutate, TamperingTransport) else TamperingTransport(mutate)
    return ForgeClient(instance.settings, transport=transport, backoff_s=0.01, max_retries=2)


async def mirrored_changes(instance: Instance, origin: str) -> int:
    """Change log rows of ``instance`` that came from ``origin``."""
    from registry.tables import ChangeLog

    async with bound(instance):
        return await ChangeLog.count().where(ChangeLog.origin == origin)
