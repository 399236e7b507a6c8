"""Never two crawls of one forge account at once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from registry.errors import ConflictError
from registry.services import crawl_locks
from registry.tables import CrawlLock, ForgeAccount, Publisher


async def _account() -> int:
    pub = await Publisher.insert(Publisher(slug="p", name="P")).returning(Publisher.id)
    row = await ForgeAccount.insert(
        ForgeAccount(
            publisher=pub[0]["id"],
            forge_kind="github",
            base_url="https://github.com",
            owner="lutece-platform",
        )
    ).returning(ForgeAccount.id)
    return int(row[0]["id"])


async def test_a_second_crawler_is_refused_while_the_first_holds_the_lock(database: str) -> None:
    account = await _account()
    async with crawl_locks.holding(account, "host-a:1"):
        with pytest.raises(ConflictError, match="already being crawled by host-a:1"):
            await crawl_locks.acquire(account, "host-b:2")
    # released when the first crawl ends, however it ended
    await crawl_locks.acquire(account, "host-b:2")
    assert [r["owner"] for r in await CrawlLock.select(CrawlLock.owner)] == ["host-b:2"]


async def test_a_lock_without_heartbeat_for_too_long_is_taken_over(database: str) -> None:
    account = await _account()
    await crawl_locks.acquire(account, "host-a:1")
    old = dt.datetime.now(dt.UTC) - crawl_locks.STALE_AFTER - dt.timedelta(minutes=1)
    await CrawlLock.update({CrawlLock.heartbeat_at: old}).where(CrawlLock.forge_account == account)
    await crawl_locks.acquire(account, "host-b:2")
    assert await CrawlLock.count() == 1


async def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over_at_once(
    database: str,
) -> None:
    account = await _account()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    host = crawl_locks.this_process().rpartition(":")[0]
    await crawl_locks.acquire(account, f"{host}:{dead}")
    await crawl_locks.acquire(account)  # this process
    assert (await CrawlLock.select(CrawlLock.owner).first())["owner"] == crawl_locks.this_process()


async def test_one_row_per_account_is_enforced_by_the_database(database: str) -> None:
    account = await _account()
    await CrawlLock.insert(CrawlLock(forge_account=account, owner="a:1"))
    with pytest.raises(Exception, match=r"(?i)unique"):
        await CrawlLock.insert(CrawlLock(forge_account=account, owner="b:2"))


async def test_the_crawl_task_skips_an_account_another_worker_is_crawling(database: str) -> None:
    from crawlers.tasks import crawl_account
    from registry.settings import Settings
    from registry.tables import CrawlRun

    account = await _account()
    await crawl_locks.acquire(account, "other-host:4242")
    outcome = await crawl_account(Settings(), account)
    assert "already being crawled by other-host:4242" in outcome["skipped"]
    assert await CrawlRun.count() == 0  # no run started, nothing asked of the forge
