"""Federation pull benchmark: a peer with N entries pulled from empty, then 100 changes.

Starts the peer as a real ``communs serve`` subprocess on loopback (SQLite, its own
data directory and key), seeds its catalogue with ``--entries`` change log entries
(publishers, projects with a repository each, reuse declarations), then pulls it into
an empty catalogue in this process over HTTP, with every page signature verified (and
the peer's entries against it, a few of them on their own signature). Then makes
``--changes`` new changes on the peer (half withdrawals, half new declarations) and
pulls again. Prints entries per second and bytes transferred; the last line is one
JSON object.

    .venv/bin/python bench/federation.py                  # 100,000 entries
    .venv/bin/python bench/federation.py --entries 10000  # quicker
    .venv/bin/python bench/federation.py --order interleaved  # records mixed, as made

Bounded: the whole run is abandoned after ``--timeout`` seconds (default 600).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawlers.federation import add_peer, fetch_instance, pull_peer  # noqa: E402
from fakeforge.testing import free_port  # noqa: E402
from registry import db  # noqa: E402
from registry.federation.bulk import bulk_insert  # noqa: E402
from registry.settings import Settings  # noqa: E402
from registry.tables import (  # noqa: E402
    ChangeLog,
    Project,
    Publisher,
    Repository,
    ReuseDeclaration,
)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process and its finished children, or of ``pid``."""
    if pid is None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_for(url: str, data_dir: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env.update(
        COMMUNS_INSTANCE_URL=url,
        COMMUNS_INSTANCE_NAME=name,
        COMMUNS_DATA_DIR=str(data_dir),
        COMMUNS_ALLOW_LOOPBACK="true",
        COMMUNS_HTTP_TIMEOUT="60",
    )
    return env


async def seed(entries: int, order: str = "grouped") -> None:
    """``entries`` change log entries: 20 % publishers, 10 % projects, 70 % declarations,
    written with multi-row inserts (the ORM's objects would take minutes). ``grouped``
    logs every publisher, then every project, then every declaration; ``interleaved``
    logs each record soon after what it names, as people make them (a declaration right
    after its publisher or project)."""
    publishers = max(1, entries // 5)
    projects = max(1, entries // 10)
    declarations = entries - publishers - projects
    now = dt.datetime.now(dt.UTC)
    log: list[dict[str, Any]] = []

    rank: list[float] = []

    def logged(entity: str, entity_id: int, values: dict[str, Any]) -> None:
        log.append(
            {
                "entity": entity,
                "entity_id": entity_id,
                "action": "create",
                "data": values,
                "at": now,
            }
        )
        # interleaved: publisher i at 5i, project j at 10j + 1 (after its publisher),
        # a declaration just after the later of its publisher and project
        if entity == "publisher":
            rank.append(5.0 * entity_id)
        elif entity == "project":
            rank.append(10.0 * entity_id + 1)
        else:
            named = (5.0 * values["publisher"], 10.0 * values["project"] + 1)
            rank.append(max(named) + 2 + entity_id / (entries + 1))

    async with db.transaction():
        rows: list[dict[str, Any]] = []
        for i in range(1, publishers + 1):
            values = {"slug": f"commune-{i}", "name": f"Commune {i}", "kind": "municipality"}
            rows.append({"id": i, "country": "FR", **values})
            logged("publisher", i, values)
        await bulk_insert(Publisher, rows)
        rows, repositories = [], []
        for i in range(1, projects + 1):
            values = {
                "slug": f"logiciel-{i}",
                "name": f"Logiciel {i}",
                "publisher": 1 + i % publishers,
                "description": {"fr": f"Le logiciel numéro {i}"},
                "license_expression": "EUPL-1.2",
            }
            rows.append({"id": i, **values})
            repositories.append(
                {"url": f"https://git.example.org/communs/logiciel-{i}", "project": i}
            )
            logged("project", i, values)
        await bulk_insert(Project, rows)
        await bulk_insert(Repository, repositories)
        rows = []
        for i in range(1, declarations + 1):
            publisher = 1 + (i - 1) % publishers
            project = 1 + ((i - 1) // publishers * 7919 + publisher) % projects
            values = {
                "publisher": publisher,
                "project": project,
                "status": "production",
                "version": f"1.{i % 20}.0",
                "since": "2025-01-15",
            }
            rows.append({"id": i, **values, "since": dt.date(2025, 1, 15)})
            logged("reuse_declaration", i, values)
        await bulk_insert(ReuseDeclaration, rows)
        if order == "interleaved":
            log = [row for _, row in sorted(zip(rank, log, strict=True), key=lambda x: x[0])]
        await bulk_insert(ChangeLog, log)


async def change(count: int, declarations: int) -> None:
    """``count`` changes: withdrawals of the first declarations and new declarations."""
    async with db.transaction():
        log = []
        for i in range(1, count // 2 + 1):
            await ReuseDeclaration.update({ReuseDeclaration.status: "withdrawn"}).where(
                ReuseDeclaration.id == i
            )
            log.append(
                ChangeLog(
                    entity="reuse_declaration",
                    entity_id=i,
                    action="update",
                    data={"status": "withdrawn"},
                )
            )
        publisher = await Publisher.insert(
            Publisher(slug="nouvelle-commune", name="Nouvelle commune")
        ).returning(Publisher.id)
        publisher_id = int(publisher[0]["id"])
        log.append(
            ChangeLog(
                entity="publisher",
                entity_id=publisher_id,
                action="create",
                data={"slug": "nouvelle-commune", "name": "Nouvelle commune"},
            )
        )
        for project in range(1, count - len(log) + 1):
            values = {"publisher": publisher_id, "project": project, "status": "evaluating"}
            rows = await ReuseDeclaration.insert(ReuseDeclaration(**values)).returning(
                ReuseDeclaration.id
            )
            log.append(
                ChangeLog(
                    entity="reuse_declaration",
                    entity_id=int(rows[0]["id"]),
                    action="create",
                    data=values,
                )
            )
        await ChangeLog.insert(*log)


def start_server(url: str, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "communs", "serve", "--port", str(port)],
        env=env_for(url, data_dir, "Peer"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("communs serve exited")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("communs serve did not answer in 60 s")


async def run(
    entries: int, changes: int, page_size: int, work: Path, order: str = "grouped"
) -> dict[str, Any]:
    port = free_port()
    peer_url = f"http://127.0.0.1:{port}"
    peer_dir, local_dir = work / "peer", work / "local"
    peer_db = f"sqlite:///{peer_dir / 'communs.sqlite3'}"
    local = Settings.from_env(env_for("http://127.0.0.1:1", local_dir, "Local"))

    db.use_database(peer_db)
    await db.migrate()
    started = time.monotonic()
    await seed(entries, order)
    await db.close()
    print(
        f"peer seeded with {entries} entries ({order}) in {time.monotonic() - started:.1f} s",
        flush=True,
    )

    server = start_server(peer_url, port, peer_dir)
    try:
        db.use_database(local.effective_database_url)
        await db.migrate()
        await add_peer(await fetch_instance(local, peer_url))
        load_before = os.getloadavg()[0]
        cpu_before, server_before = cpu_seconds(), cpu_seconds(server.pid)
        full = await pull_peer(local, peer_url, page_size=page_size)
        server_cpu = cpu_seconds(server.pid) - server_before
        if full.error:
            raise SystemExit(f"full pull failed: {full.error}")
        rate = full.report.applied / full.seconds
        print(
            f"full pull: {full.report.applied} entries in {full.seconds:.1f} s "
            f"({rate:.0f} entries/s), {full.bytes} bytes in {full.pages} pages; "
            f"waiting for pages {full.fetch_seconds:.1f} s, verifying {full.check_seconds:.1f} s, "
            f"storing {full.store_seconds:.1f} s",
            flush=True,
        )
        await db.close()
        puller_cpu = cpu_seconds() - cpu_before  # the verifying worker has exited by now
        print(
            f"CPU: puller {puller_cpu:.1f} s (with its verifying worker), "
            f"peer server {server_cpu:.1f} s, on {os.cpu_count()} cores; "
            f"load average before the pull {load_before:.1f}",
            flush=True,
        )

        db.use_database(peer_db)
        declarations = entries - max(1, entries // 5) - max(1, entries // 10)
        await change(changes, declarations)
        await db.close()

        db.use_database(local.effective_database_url)
        incremental = await pull_peer(local, peer_url, page_size=page_size)
        if incremental.error:
            raise SystemExit(f"incremental pull failed: {incremental.error}")
        withdrawn = await ReuseDeclaration.count().where(ReuseDeclaration.status == "withdrawn")
        shown = await ReuseDeclaration.count()
        await db.close()
        print(
            f"incremental pull: {incremental.report.applied} entries in "
            f"{incremental.seconds:.2f} s, {incremental.bytes} bytes "
            f"({withdrawn} withdrawn, {shown} declarations shown)",
            flush=True,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "entries": entries,
        "order": order,
        "page_size": page_size,
        "full_pull_seconds": round(full.seconds, 2),
        "full_pull_entries_per_second": round(rate),
        "full_pull_bytes": full.bytes,
        "full_pull_pages": full.pages,
        "full_pull_puller_cpu_seconds": round(puller_cpu, 1),
        "full_pull_peer_cpu_seconds": round(server_cpu, 1),
        "load_average_before": round(load_before, 1),
        "incremental_pull_seconds": round(incremental.seconds, 3),
        "incremental_pull_bytes": incremental.bytes,
        "incremental_entries": incremental.report.applied,
        "incremental_bytes_per_entry": round(
            incremental.bytes / max(1, incremental.report.applied)
        ),
        "full_bytes_per_entry": round(full.bytes / max(1, full.report.applied)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--order",
        choices=("grouped", "interleaved"),
        default="grouped",
        help="the peer's change log: each kind of record in a block, or interleaved",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="communs-bench-federation-"))
    try:
        result = asyncio.run(
            asyncio.wait_for(
                run(args.entries, args.changes, args.page_size, work, args.order), args.timeout
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
