"""Crawls under the faults a forge serves: errors, slow answers, timeouts, cut bodies, a
rate limit used up, a listing page served twice. Whatever the fault, the crawl finishes with
every repository once in the catalogue; transient faults are retried and leave no trace but
the retries; lasting ones are named in the run record (``failures``, ``error``), and a
repository that could not be read is never marked gone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from faultkit import (
    API,
    DETAIL,
    FORGES,
    LISTING,
    OWNER,
    SIZE,
    catalogue,
    crawl,
    expected_releases,
    expected_urls,
    forge,
    small_pages,
    url,
)

from fakeforge.app import FakeForge
from fakeforge.testing import serve_app
from registry.settings import Settings

__all__ = ["forge", "small_pages"]  # fixtures

pytestmark = pytest.mark.usefixtures("small_pages")

TRANSIENT = {
    "500 on a listing page": lambda f: {"status": 500, "path": LISTING[f], "times": 2, "every": 2},
    "502 on per-repository requests": lambda f: {
        "status": 502,
        "path": DETAIL[f],
        "every": 3,
        "times": 3,
    },
    "503 with Retry-After": lambda f: {
        "status": 503,
        "path": DETAIL[f],
        "times": 1,
        "retry_after": 7,
    },
    "truncated JSON listing": lambda f: {"kind": "truncate", "path": LISTING[f], "times": 1},
    "truncated JSON detail": lambda f: {
        "kind": "truncate",
        "path": DETAIL[f],
        "every": 2,
        "times": 2,
    },
    "rate limit used up": lambda f: {"kind": "ratelimit", "retry_after": 30, "times": 1},
    "slow answers": lambda f: {"kind": "delay", "delay_ms": 30, "times": None},
    "listing page served twice": lambda f: {"kind": "repeat", "path": LISTING[f], "times": 1},
}


async def assert_complete(app: FakeForge, forge_kind: str) -> dict[str, dict[str, Any]]:
    """Every repository of the account exactly once, with all its releases."""
    found = await catalogue()
    assert sorted(found) == expected_urls(forge_kind, app)
    for address, row in found.items():
        name = address.rsplit("/", 1)[1]
        assert len(row["releases"]) == expected_releases(app, name), address
        assert not row["gone"], address
    return found


@pytest.mark.parametrize("fault", list(TRANSIENT))
@pytest.mark.parametrize("forge_kind", FORGES)
async def test_transient_fault_is_retried_and_the_crawl_is_complete(
    database: str, forge: FakeForge, forge_kind: str, fault: str
) -> None:
    rule = TRANSIENT[fault](forge_kind)
    forge.faults.add(forge=API[forge_kind], **rule)
    done = await crawl(forge, forge_kind)
    fired = forge.faults.rules[0].fired
    assert fired >= 1, "the fault was never served"
    await assert_complete(forge, forge_kind)
    assert done.run["status"] == "done", done.run["error"]
    assert done.run["failures"] == [] and done.run["error"] == ""
    assert done.run["added"] == SIZE == done.summary.added
    assert done.summary.seen == SIZE  # a page served twice is not counted twice
    if rule.get("kind") not in ("delay", "repeat"):
        assert done.client.stats.retries >= 1
    if rule.get("kind") == "ratelimit":
        # the client waited for the reset the forge announced instead of failing
        assert any(29 <= s <= 32 for s in done.slept), done.slept
    if "retry_after" in rule and rule.get("kind") != "ratelimit":
        assert 7 in done.slept


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_timeouts_are_retried_over_a_real_socket(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    forge.faults.add(forge=API[forge_kind], kind="delay", delay_ms=1600, path=LISTING[forge_kind])
    forge.faults.add(forge=API[forge_kind], kind="delay", delay_ms=1600, path=DETAIL[forge_kind])
    with serve_app(forge) as running:
        done = await crawl(
            forge,
            forge_kind,
            base=running.url,
            settings=Settings(allow_loopback=True, http_timeout=1),
        )
    assert all(rule.fired == 1 for rule in forge.faults.rules)
    await assert_complete(forge, forge_kind)
    assert done.run["status"] == "done" and done.run["failures"] == []
    assert done.client.stats.retries >= 2


@pytest.mark.parametrize("forge_kind", ["gitlab", "gitea"])
async def test_lasting_error_on_one_repository_is_named_and_it_is_not_marked_gone(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    first = await crawl(forge, forge_kind)
    assert first.run["status"] == "done"
    before = await catalogue()
    broken = forge.world.repo(OWNER, "repo-00003")
    assert broken is not None
    # it changed on the forge, so the recrawl must read it again, and cannot
    broken.pushed_at += dt.timedelta(hours=1)
    forge.cache.clear()
    path = (
        f"/projects/{broken.id}/repository/tags"
        if forge_kind == "gitlab"
        else f"/repos/{OWNER}/repo-00003/tags"
    )
    forge.faults.add(forge=API[forge_kind], status=500, path=path, times=None)
    second = await crawl(forge, forge_kind)
    failures = second.run["failures"]
    assert [f["repository"] for f in failures] == [url(forge_kind, "repo-00003")]
    assert "HTTP 500" in failures[0]["reason"]
    assert second.run["failed"] == 1 and second.run["gone"] == 0
    after = await catalogue()
    assert after == before  # the one that failed is kept as it was, nothing gone


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_lasting_listing_error_fails_the_run_with_its_reason_and_loses_nothing(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    await crawl(forge, forge_kind)
    before = await catalogue()
    # the second listing page keeps failing: the first page was read, the rest was not
    forge.faults.add(forge=API[forge_kind], status=502, path=LISTING[forge_kind], times=None)
    forge.faults.rules[0].seen = 0
    failed = await crawl(forge, forge_kind)
    assert failed.run["status"] == "failed"
    assert "HTTP 502" in failed.run["error"]
    assert failed.run["gone"] == 0
    assert await catalogue() == before


@pytest.mark.parametrize("forge_kind", FORGES)
async def test_rate_limit_reset_beyond_the_longest_wait_fails_the_run_with_its_reason(
    database: str, forge: FakeForge, forge_kind: str
) -> None:
    await crawl(forge, forge_kind)
    before = await catalogue()
    forge.faults.add(forge=API[forge_kind], kind="ratelimit", retry_after=7200, times=None)
    limited = await crawl(forge, forge_kind, max_wait_s=600)
    assert limited.run["status"] == "failed"
    assert "rate limit" in limited.run["error"]
    assert limited.slept == []  # it did not wait two hours, nor hammer the forge
    assert await catalogue() == before


@pytest.mark.parametrize("forge_kind", ["github", "gitlab"])
async def test_forge_rate_limit_window_used_up_mid_crawl_is_waited_for(
    database: str, forge_kind: str, small_pages: None
) -> None:
    import fakeforge

    # GitHub's crawl of three pages asks six queries; GitLab's 19 requests (per page the
    # listing and one GraphQL query for the files, per project the tags, a few raw files)
    limit = 4 if forge_kind == "github" else 8
    app = fakeforge.create_app([], [f"github:{OWNER}:{SIZE}"], rate_limit=limit)
    done = await crawl(app, forge_kind, max_wait_s=7200)
    assert done.run["status"] == "done", done.run["error"]
    await assert_complete(app, forge_kind)
    assert done.slept and all(3000 < s <= 3602 for s in done.slept)
