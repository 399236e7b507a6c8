"""Crawler test helpers: the real fixtures, and crawls through the fake forge in-process.

A module of its own (not ``conftest``): several test folders have a conftest, and
``from conftest import`` would find whichever was imported first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from crawlers.crawl import Crawler, CrawlSummary, parse_target
from crawlers.http import ForgeClient
from registry.settings import Settings

REAL_FORGES = Path(__file__).parents[1] / "data" / "real-forges"
FIXTURES = sorted(REAL_FORGES.glob("*.json"))
#: forge kind -> (fake forge prefix, the public identity a target names)
SHAPES = {
    "github": ("github", "https://github.com"),
    "gitlab": ("gitlab", "https://gitlab.com"),
    "gitea": ("gitea", "https://codeberg.org"),
}
FAKE = "http://127.0.0.1"


def load(owner: str) -> dict[str, Any]:
    return json.loads((REAL_FORGES / f"github__{owner}.json").read_text())


def endpoints(base: str = FAKE) -> dict[str, str]:
    return {identity: f"{base}/{prefix}" for prefix, identity in SHAPES.values()}


async def crawl(app: Any, target: str, **options: Any) -> tuple[CrawlSummary, ForgeClient]:
    """Crawl ``target`` through ``app`` in-process; returns the summary and the client."""
    settings = Settings(allow_loopback=True)
    async with ForgeClient(settings, transport=httpx.ASGITransport(app=app)) as client:
        crawler = Crawler(client, endpoints=endpoints(), **options)
        summary = await crawler.crawl(parse_target(target))
    return summary, client
