"""Recrawls: a repository renamed between two crawls keeps its catalogue row, project and
releases (found by its forge id); a deleted one is marked gone; an account where nothing
changed is recrawled for a few requests, in a new process as a scheduled recrawl is."""

from __future__ import annotations

import pytest
from faultkit import FORGES, OWNER, SIZE, catalogue, crawl, forge, small_pages, url

from fakeforge.app import FakeForge
from registry.tables import ChangeLog, Release, Repository

__all__ = ["forge", "small_pages"]  # fixtures

pytestmark = pytest.mark.usefixtures("small_pages")


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_renamed_repository_keeps_its_row_project_and_releases(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    await crawl(forge, forge_kind)
    before = await catalogue()
    old = before[url(forge_kind, "repo-00004")]
    release_ids = sorted(
        r["id"] for r in await Release.select(Release.id).where(Release.repository == old["id"])
    )
    forge.rename_repository(f"{OWNER}/repo-00004", "renamed-four")
    again = await crawl(forge, forge_kind)
    assert again.run["status"] == "done" and again.run["failures"] == []
    assert (again.run["added"], again.run["gone"]) == (0, 0)
    after = await catalogue()
    assert len(after) == SIZE
    assert url(forge_kind, "repo-00004") not in after
    new = after[url(forge_kind, "renamed-four")]
    assert (new["id"], new["project"], new["forge_id"]) == (
        old["id"],
        old["project"],
        old["forge_id"],
    )
    assert new["releases"] == old["releases"] and not new["gone"]
    assert release_ids == sorted(
        r["id"] for r in await Release.select(Release.id).where(Release.repository == old["id"])
    )
    row = await Repository.select().where(Repository.id == old["id"]).first()
    assert row["full_name"] == f"{OWNER}/renamed-four"
    # the rename is in the change log as a change of that repository's URL
    changes = await ChangeLog.select().where(
        (ChangeLog.entity == "repository") & (ChangeLog.entity_id == old["id"])
    )
    assert [c["action"] for c in changes] == ["added", "changed"]


@pytest.mark.parametrize("forge_kind", ["github", "gitlab"])
async def test_repository_crawled_by_its_old_url_follows_the_forge_to_the_same_row(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    await crawl(forge, forge_kind)
    old = (await catalogue())[url(forge_kind, "repo-00006")]
    forge.rename_repository(f"{OWNER}/repo-00006", "six")
    one = await crawl(forge, forge_kind, url(forge_kind, "repo-00006"))
    assert one.run["status"] == "done", one.run["error"]
    after = await catalogue()
    assert after[url(forge_kind, "six")]["id"] == old["id"]
    assert url(forge_kind, "repo-00006") not in after and len(after) == SIZE


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_deleted_repository_is_marked_gone_and_kept(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    await crawl(forge, forge_kind)
    forge.delete_repository(f"{OWNER}/repo-00005")
    again = await crawl(forge, forge_kind)
    assert again.run["status"] == "done" and again.run["gone"] == 1
    after = await catalogue()
    assert len(after) == SIZE
    assert [u for u, row in after.items() if row["gone"]] == [url(forge_kind, "repo-00005")]
    assert after[url(forge_kind, "repo-00005")]["releases"]  # history kept


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_recrawl_with_nothing_changed_asks_almost_nothing(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    """A new client (a new process: no ETags in memory) on an unchanged account: only the
    listing pages are asked, conditionally."""
    await crawl(forge, forge_kind)
    before = await catalogue()
    forge.reset_stats()
    again = await crawl(forge, forge_kind)
    assert again.run["status"] == "done"
    assert (again.run["added"], again.run["changed"], again.run["gone"]) == (0, 0, 0)
    assert await catalogue() == before
    pages = -(-SIZE // 5)
    # GitHub: one query per page (its license texts too, GraphQL is a POST); elsewhere one
    # listing request per page, and nothing per repository
    assert forge.stats.snapshot()["total"] <= 2 * pages, forge.stats.snapshot()


@pytest.mark.parametrize("forge_kind", ["gitlab", "gitea"])
async def test_recrawl_reads_a_repository_again_when_the_forge_says_it_changed(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    import datetime as dt

    from fakeforge.model import Tag

    await crawl(forge, forge_kind)
    repo = forge.world.repo(OWNER, "repo-00008")
    assert repo is not None
    repo._tags = [Tag("v9.0.0", repo.pushed_at + dt.timedelta(days=1), "f" * 40), *repo.tags]
    repo.pushed_at += dt.timedelta(days=1)
    forge.cache.clear()
    again = await crawl(forge, forge_kind)
    assert (again.run["added"], again.run["changed"]) == (0, 1)
    releases = (await catalogue())[url(forge_kind, "repo-00008")]["releases"]
    assert ("v9.0.0", "9.0.0") in releases


async def test_redirect_to_a_private_address_is_refused() -> None:
    """A forge's ``Location`` is checked like any address the crawler is given."""
    from typing import Any

    import httpx

    from crawlers.http import AddressRefusedError, ForgeClient
    from registry.settings import Settings

    async def hostile(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"location", b"http://10.0.0.7/internal"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 301, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    settings = Settings(allow_loopback=True)
    async with ForgeClient(settings, transport=httpx.ASGITransport(app=hostile)) as client:
        with pytest.raises(AddressRefusedError, match=r"10\.0\.0\.7"):
            await client.get("http://127.0.0.1/gitlab/api/v4/projects/a%2Fb")


def test_etag_cache_memory_is_bounded_by_bytes_not_only_entries() -> None:
    from crawlers.http import CachedResponse, MemoryETagCache

    cache = MemoryETagCache(max_entries=10_000, max_bytes=10_000)
    for n in range(1_000):
        cache.put(f"u{n}", CachedResponse(f'W/"{n}"', b"x" * 100))
    assert len(cache) == 100  # 10,000 bytes of bodies, the newest kept
    assert cache.get("u999") is not None and cache.get("u0") is None
    cache.put("big", CachedResponse('W/"big"', b"x" * 20_000))
    assert cache.get("big") is None and len(cache) == 100
