"""Web page render times at the API benchmark's scale.

Seeds a fresh SQLite catalogue with ``communs seed``'s generator (100,000 projects,
300,000 releases, 20,000 declarations by default, as ``bench/api.py``), serves the real
app with ``communs serve`` and measures, one request at a time, the server time of each
page kind (search with facets, project sheet, publisher page, home), and the bytes of
each page. The last line is one JSON object with every figure.

    python bench/web.py [--projects 100000] [--requests 200]
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
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import percentile, seed_catalogue, wait_healthy  # noqa: E402
from fakeforge.testing import free_port  # noqa: E402

QUERIES = ("cantine", "budget", "velo", "ecole", "portail citoyen", "mairie", "urbanisme")
FILTERS: tuple[dict[str, str], ...] = (
    {},
    {"license": "EUPL-1.2"},
    {"kind": "municipality"},
    {"active_months": "12"},
    {"sort": "reused"},
)


async def _publisher_slugs(url: str, count: int) -> list[str]:
    from registry import db
    from registry.tables import Publisher

    db.use_database(url)
    try:
        rows = await Publisher.select(Publisher.slug).limit(count)
        return [r["slug"] for r in rows]
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, help="reuse a catalogue seeded by a former run")
    parser.add_argument("--only", default="", help="comma-separated page kinds to measure")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="communs-web-bench-"))
    url = f"sqlite:///{data_dir / 'communs.sqlite3'}"
    if args.data_dir is None:
        started = time.perf_counter()
        seeded = await seed_catalogue(url, args.projects, args.projects * 3, args.projects // 5)
        print(f"seeded in {time.perf_counter() - started:.0f} s: {seeded}", flush=True)
        print(f"catalogue kept in {data_dir} (--data-dir to reuse it)", flush=True)
    publishers = await _publisher_slugs(url, 200)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env.update(COMMUNS_LOG_LEVEL="WARNING", COMMUNS_SECRET_KEY="bench")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "communs",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rng = random.Random(7)
    n = args.requests
    scenarios = {
        "search": [
            "/?" + urlencode({"q": rng.choice(QUERIES), **rng.choice(FILTERS)}) for _ in range(n)
        ],
        "search_htmx": [
            "/?" + urlencode({"q": rng.choice(QUERIES), **rng.choice(FILTERS)}) for _ in range(n)
        ],
        "home": ["/?" + urlencode({"page": rng.randint(1, 20)}) for _ in range(n)],
        "sheet": [f"/projects/seed-{rng.randint(1, args.projects)}" for _ in range(n)],
        "publisher": [f"/publishers/{rng.choice(publishers)}" for _ in range(n)],
    }
    results: dict[str, Any] = {"projects": args.projects}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await wait_healthy(client, 30)
            for name, paths in scenarios.items():
                if args.only and name not in args.only.split(","):
                    continue
                headers = {"HX-Request": "true"} if name == "search_htmx" else {}
                for path in paths[:20]:  # warm-up
                    await client.get(path, headers=headers)
                latencies, sizes = [], []
                for path in paths:
                    start = time.perf_counter()
                    response = await client.get(path, headers=headers)
                    latencies.append((time.perf_counter() - start) * 1000)
                    if response.status_code != 200:
                        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
                    sizes.append(len(response.content))
                results[name] = {
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p95_ms": round(percentile(latencies, 0.95), 2),
                    "max_html_bytes": max(sizes),
                }
                print(f"{name:12} {results[name]}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
