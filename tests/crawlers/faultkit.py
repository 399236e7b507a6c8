"""Helpers of the fault, recrawl and kill/resume tests: a small generated account on the fake
forge, crawled in-process through the real client with small pages, and what the catalogue
then holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import fakeforge
from crawlers.crawl import Crawler, CrawlSummary, parse_target
from crawlers.forges import gitea, github, gitlab
from crawlers.http import ForgeClient
from fakeforge.app import FakeForge
from registry.settings import Settings
from registry.tables import CrawlRun, LicenseFinding, Release, Repository

FORGES = ("github", "gitlab", "gitea")
#: forge kind -> the public host its targets name
HOSTS = {"github": "github.com", "gitlab": "gitlab.com", "gitea": "codeberg.org"}
OWNER = "org"
SIZE = 12
#: small pages, so that a dozen repositories span three listing pages on every forge
PAGE = 5
#: path substrings of an account's listing requests, and of per-repository requests
LISTING = {"github": "/graphql", "gitlab": "/groups/", "gitea": "/orgs/"}
DETAIL = {"github": "/graphql", "gitlab": "/repository/tags", "gitea": "/tags"}
#: the fault rules' ``forge`` of the requests a crawl of each forge kind makes
API = {"github": "github-graphql", "gitlab": "gitlab", "gitea": "gitea"}


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing pages of :data:`PAGE` repositories on every adapter."""
    for module in (github, gitlab, gitea):
        monkeypatch.setattr(module, "PAGE_SIZE", PAGE)


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    app = fakeforge.create_app([], [f"github:{OWNER}:{SIZE}"])
    yield app
    app.git.cleanup()


def url(forge_kind: str, name: str) -> str:
    return f"https://{HOSTS[forge_kind]}/{OWNER}/{name}"


def expected_urls(forge_kind: str, app: FakeForge) -> list[str]:
    account = app.world.account(OWNER)
    assert account is not None
    return sorted(url(forge_kind, r.name) for r in account.repositories)


@dataclass
class Crawl:
    """What one crawl did: its summary, its run row, the client's counters, the waits."""

    summary: CrawlSummary
    run: dict[str, Any]
    client: ForgeClient
    slept: list[float] = field(default_factory=list)


async def crawl(
    app: FakeForge,
    forge_kind: str,
    target: str | None = None,
    *,
    base: str | None = None,
    settings: Settings | None = None,
    **client_options: Any,
) -> Crawl:
    """Crawl ``forge_kind:org`` (or ``target``) through ``app``, in-process unless a
    ``transport``/``base`` says otherwise. The client's waits are recorded, not slept: a
    wait lets the forge's rate-limit window reset, as the time passing would. ``base``: the
    URL of ``app`` served on a real socket (else it is reached in-process)."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        app.limiter.reset()

    settings = settings or Settings(allow_loopback=True)
    transport = None if base else httpx.ASGITransport(app=app)
    base = base or "http://127.0.0.1"
    endpoints = {f"https://{host}": f"{base}/{kind}" for kind, host in HOSTS.items()}
    async with ForgeClient(settings, transport=transport, sleep=sleep, **client_options) as client:
        crawler = Crawler(client, endpoints=endpoints)
        summary = await crawler.crawl(parse_target(target or f"{forge_kind}:{OWNER}"))
    run = (
        await CrawlRun.select()
        .where(CrawlRun.id == summary.run_ids[-1])
        .output(load_json=True)
        .first()
    )
    return Crawl(summary, run, client, slept)


async def catalogue() -> dict[str, dict[str, Any]]:
    """Every repository row by URL, with its releases and license findings."""
    rows = await Repository.select().order_by(Repository.id)
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["url"] not in result, f"{row['url']} twice"
        releases = await Release.select(Release.tag, Release.version).where(
            Release.repository == row["id"]
        )
        findings = await LicenseFinding.select(
            LicenseFinding.source, LicenseFinding.file, LicenseFinding.expression
        ).where(LicenseFinding.repository == row["id"])
        result[row["url"]] = {
            "id": row["id"],
            "forge_id": row["forge_id"],
            "project": row["project"],
            "gone": row["gone_at"] is not None,
            "releases": sorted((r["tag"], r["version"]) for r in releases),
            "licenses": sorted((f["source"], f["file"], f["expression"]) for f in findings),
        }
    return result


def expected_releases(app: FakeForge, name: str) -> int:
    repo = app.world.repo(OWNER, name)
    assert repo is not None
    return len(repo.tags)
