"""What the benchmarks that serve a seeded catalogue share: seeding, waiting for the
server, percentiles. (Free ports come from :func:`fakeforge.testing.free_port`.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


async def seed_catalogue(
    url: str, projects: int, releases: int, declarations: int
) -> dict[str, Any]:
    """Migrate the database at ``url`` and fill it with ``communs seed``'s generator."""
    from communs.api_cli import generate
    from registry import db

    db.use_database(url)
    await db.migrate()
    try:
        return await generate(projects, releases, declarations, seed=42)
    finally:
        await db.close()


async def wait_healthy(client: httpx.AsyncClient, seconds: float = 30) -> None:
    """Wait until the server answers ``/api/v1/health``; raise if it never does."""
    for _ in range(int(seconds * 10)):
        try:
            if (await client.get("/api/v1/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not answer /api/v1/health within {seconds} s")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.95 for the p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]
