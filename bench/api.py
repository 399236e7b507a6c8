"""Catalogue API benchmark, on SQLite and on PostgreSQL.

For each engine: a fresh database is migrated and seeded (``communs seed``'s generator:
100,000 projects, 300,000 releases, 20,000 reuse declarations by default), a uvicorn
server is started on it (one worker, rate limits off), and the script measures:

* latency (p50/p95, one request at a time) and throughput (requests per second with a
  few concurrent clients) of search with facets, project sheet and the project list;
* searches whose words the server has not seen yet (``search_cold``: the full-text match
  comes from the database's engine, no kept match serves it);
* searches each made right after a catalogue change (``search_after_change``: the server
  re-indexes the changed project and refreshes its facet index on that request);
* the web front's server-rendered pages: the search page with a query and filters
  (``web_search``) and a project sheet (``web_sheet``), HTML through the same server;
* throughput of a trivial Litestar endpoint in the same server, the yardstick of the
  ``list_rps_ratio_to_trivial`` figure.

The last line printed is one JSON object with every figure. PostgreSQL is found at
``COMMUNS_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``); a
database of the benchmark's own is created and dropped.

    python bench/api.py [--projects 100000] [--requests 300] [--engines sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, seed_catalogue, wait_healthy  # noqa: E402
from fakeforge.testing import free_port  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "COMMUNS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
QUERIES = (
    "cantine",
    "budget",
    "velo",
    "stationnement",
    "ecole",
    "portail citoyen",
    "mairie",
    "software water",
    "dechets",
    "urbanisme",
    "transport",
    "culture",
    "reservation salle",
    "gestion",
    "democratie",
    "ville",
    "sante",
    "petition",
)
#: words in every seeded project's text (descriptions, publisher names): their prefixes
#: match the whole catalogue
UNIVERSAL = ("ville", "software", "logiciel", "communes", "pour")
FILTERS = (
    {},
    {"license": "MIT"},
    {"fr_authorised": "true"},
    {"language": "Python"},
    {"category": "cms"},
    {"active_months": "12"},
    {"country": "FR"},
)


def bench_app() -> Any:
    """The app the benchmark serves: the real one, rate limits off, plus a trivial route."""
    from litestar import get

    from api.app import create_app
    from registry.settings import Settings

    @get("/bench/trivial", include_in_schema=False, sync_to_thread=False)
    def trivial() -> dict[str, bool]:
        return {"ok": True}

    app = create_app(Settings.from_env(), rate_limit=None, run_registrations=False)
    app.register(trivial)
    return app


async def _measure(
    client: httpx.AsyncClient, paths: list[str], concurrency: int
) -> tuple[list[float], float]:
    """Latencies (ms) of every request and requests per second, ``concurrency`` at once."""
    latencies: list[float] = []
    queue = list(paths)
    failures: list[str] = []

    async def worker() -> None:
        while queue:
            path = queue.pop()
            start = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                failures.append(f"{path}: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"benchmark requests failed: {failures[:3]}")
    return latencies, len(paths) / elapsed


def _cold_queries(rng: random.Random, count: int, seen: set[tuple[str, ...]]) -> list[str]:
    """``count`` queries whose word sets are all new (not in ``seen``, which is updated):
    one in 18 a prefix of a word every project contains (as "ville" among QUERIES), the
    others one or two prefixes of the seed's words."""
    from communs.api_cli import WORDS

    seed_words = [w for w in WORDS if w.isalpha()]
    out: list[str] = []
    while len(out) < count:
        if rng.randrange(18) == 0:
            word = rng.choice(UNIVERSAL)
            words = [word[: rng.randint(3, len(word))]]
        else:
            words = [
                w[: rng.randint(min(4, len(w)), len(w))]
                for w in rng.sample(seed_words, rng.randint(1, 2))
            ]
        key = tuple(sorted(set(words)))
        if key in seen:
            if len(seen) > 50_000:
                raise SystemExit("not enough distinct cold queries")
            continue
        seen.add(key)
        out.append(" ".join(words))
    return out


def _scenarios(
    rng: random.Random, projects: int, count: int, seen: set[tuple[str, ...]]
) -> dict[str, list[str]]:
    from urllib.parse import urlencode

    search = []
    for _ in range(count):
        params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
        search.append("/api/v1/projects?" + urlencode(params))
    # every search distinct (active_months >= 60 keeps every seeded project: the seed's
    # activity is within five years), so no cached facet counts can serve it
    uncached = []
    for i in range(count):
        params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
        params["active_months"] = str(61 + (i + rng.randrange(10**6)) % 179)
        uncached.append("/api/v1/projects?" + urlencode(params))
    cold = []
    for i, q in enumerate(_cold_queries(rng, 2 * count, seen)):
        params = {"q": q, **rng.choice(FILTERS)}
        params["active_months"] = str(61 + (i + rng.randrange(10**6)) % 179)
        cold.append("/api/v1/projects?" + urlencode(params))
    web_search = []
    for i in range(count):
        params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
        params["active_months"] = str(61 + (i + rng.randrange(10**6)) % 179)
        web_search.append("/?" + urlencode(params))
    return {
        "search_uncached": uncached,
        "search": search,
        "sheet": [f"/api/v1/projects/seed-{rng.randint(1, projects)}" for _ in range(count)],
        "list": [
            "/api/v1/projects?"
            + urlencode(
                {
                    "sort": rng.choice(["recent", "name", "reused"]),
                    "page": rng.randint(1, 20),
                    "facets": "false",
                }
            )
            for _ in range(count)
        ],
        "web_search": web_search,
        "web_sheet": [f"/projects/seed-{rng.randint(1, projects)}" for _ in range(count)],
        "trivial": ["/bench/trivial"] * count,
        # last: the matches these compute push older ones out of the server's budget
        # (first half for latencies, second half for throughput: every one new)
        "search_cold": cold,
    }


#: catalogue changes in the search_after_change scenario
CHANGES = 40


async def _after_changes(
    client: httpx.AsyncClient, url: str, rng: random.Random, projects: int, count: int
) -> list[float]:
    """Latencies (ms) of searches each made right after a catalogue change (a project's
    activity moves, recorded in the change log as a crawl does): the server brings its
    search index and facet index up to date on that search."""
    import datetime as dt
    from urllib.parse import urlencode

    from registry import db
    from registry.services import changelog
    from registry.tables import Project

    db.use_database(url)
    latencies = []
    try:
        for _ in range(count):
            pid = rng.randint(1, projects)
            await Project.update(
                {Project.last_activity_at: dt.datetime.now(dt.UTC) - dt.timedelta(days=1)}
            ).where(Project.id == pid)
            await changelog.record("project", pid, "update", {"bench": True})
            params = {"q": rng.choice(QUERIES), **rng.choice(FILTERS)}
            start = time.perf_counter()
            response = await client.get("/api/v1/projects?" + urlencode(params))
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"search after a change failed: {response.status_code}")
    finally:
        await db.close()
    return latencies


def _known_tokens() -> set[tuple[str, ...]]:
    """The word sets of QUERIES: cold queries must not be one of them."""
    return {tuple(sorted(set(q.split()))) for q in QUERIES}


async def _run_engine(
    engine: str, url: str, projects: int, count: int, concurrency: int
) -> dict[str, Any]:
    seeded = await seed_catalogue(url, projects, projects * 3, projects // 5)
    print(f"[{engine}] seeded: {seeded}", flush=True)
    port = free_port()
    env = {
        **os.environ,
        "COMMUNS_DATABASE_URL": url,
        "COMMUNS_ALLOWED_HOSTS": "*",
        "COMMUNS_SECRET_KEY": "bench",
        "COMMUNS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.api:bench_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    results: dict[str, Any] = {"seed": seeded}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await wait_healthy(client, 20)
            rng = random.Random(7)
            seen = _known_tokens()
            warm = _scenarios(rng, projects, 30, seen)
            for name, paths in warm.items():
                if name != "search_cold":  # cold by definition
                    await _measure(client, paths, 2)
            for name, paths in _scenarios(rng, projects, count, seen).items():
                if name == "search_cold":
                    latencies, _ = await _measure(client, paths[:count], 1)
                    _, rps = await _measure(client, paths[count:], concurrency)
                else:
                    latencies, _ = await _measure(client, paths, 1)
                    _, rps = await _measure(client, paths, concurrency)
                results[name] = {
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p95_ms": round(percentile(latencies, 0.95), 2),
                    "rps": round(rps, 1),
                }
                print(
                    f"[{engine}] {name:16} p50 {results[name]['p50_ms']:7.2f} ms  "
                    f"p95 {results[name]['p95_ms']:7.2f} ms  {rps:8.1f} req/s",
                    flush=True,
                )
            latencies = await _after_changes(client, url, rng, projects, CHANGES)
            changed = {
                "p50_ms": round(statistics.median(latencies), 2),
                "p95_ms": round(percentile(latencies, 0.95), 2),
            }
            results["search_after_change"] = changed
            print(
                f"[{engine}] search_after_change p50 {changed['p50_ms']:7.2f} ms  "
                f"p95 {changed['p95_ms']:7.2f} ms",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    results["list_rps_ratio_to_trivial"] = round(
        results["list"]["rps"] / results["trivial"]["rps"], 3
    )
    return results


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args()
    summary: dict[str, Any] = {"projects": args.projects}
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="communs-bench-") as scratch:
        for engine in engines:
            if engine == "sqlite":
                url = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
                results = await _run_engine(
                    engine, url, args.projects, args.requests, args.concurrency
                )
            else:
                name = f"communs_bench_{uuid.uuid4().hex[:8]}"
                await _pg_admin(f'CREATE DATABASE "{name}"')
                try:
                    url = PG_ADMIN_URL.rpartition("/")[0] + "/" + name
                    results = await _run_engine(
                        engine, url, args.projects, args.requests, args.concurrency
                    )
                finally:
                    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for scenario in (
                "search_uncached",
                "search",
                "search_cold",
                "sheet",
                "list",
                "web_search",
                "web_sheet",
                "trivial",
                "search_after_change",
            ):
                for key, value in results[scenario].items():
                    summary[f"{scenario}_{key}_{engine}"] = value
            summary[f"list_rps_ratio_to_trivial_{engine}"] = results["list_rps_ratio_to_trivial"]
    # headline figures: searches that no cache served
    for engine in engines:
        for key in ("p50_ms", "p95_ms", "rps"):
            summary[f"search_{key}_{engine}"], summary[f"search_cached_mix_{key}_{engine}"] = (
                summary.pop(f"search_uncached_{key}_{engine}"),
                summary[f"search_{key}_{engine}"],
            )
    ratios = [v for k, v in summary.items() if k.startswith("list_rps_ratio_to_trivial_")]
    summary["list_rps_ratio_to_trivial"] = min(ratios) if ratios else None
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    asyncio.run(main())
