"""Never two crawls of one forge account at once, across workers and hosts.

A crawl takes the account's lock (one row per account, unique in the database) and
keeps it fresh with heartbeats. A lock left by a process that died is taken over: at
once when its process was on this host and is gone, otherwise when its heartbeat is
older than :data:`STALE_AFTER`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from registry import db
from registry.errors import ConflictError
from registry.tables import CrawlLock

#: A lock whose heartbeat is older than this is abandoned.
STALE_AFTER = dt.timedelta(minutes=15)
#: How often a holder refreshes its heartbeat.
HEARTBEAT_EVERY_S = 60.0


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def acquire(account_id: int, owner: str | None = None) -> None:
    """Take the account's lock or raise :class:`ConflictError` naming who holds it."""
    owner = owner or this_process()
    now = dt.datetime.now(dt.UTC)
    async with db.transaction():
        held = await CrawlLock.select().where(CrawlLock.forge_account == account_id).first()
        if held is not None:
            stale = now - _aware(held["heartbeat_at"]) > STALE_AFTER
            if held["owner"] != owner and not stale and not _dead_here(held["owner"]):
                raise ConflictError(
                    f"forge account {account_id} is already being crawled by {held['owner']} "
                    f"(since {_aware(held['acquired_at']):%Y-%m-%d %H:%M} UTC)"
                )
            await CrawlLock.delete().where(CrawlLock.id == held["id"])
        await CrawlLock.insert(
            CrawlLock(forge_account=account_id, owner=owner, acquired_at=now, heartbeat_at=now)
        )


async def heartbeat(account_id: int, owner: str | None = None) -> None:
    await CrawlLock.update({CrawlLock.heartbeat_at: dt.datetime.now(dt.UTC)}).where(
        (CrawlLock.forge_account == account_id) & (CrawlLock.owner == (owner or this_process()))
    )


async def release(account_id: int, owner: str | None = None) -> None:
    await CrawlLock.delete().where(
        (CrawlLock.forge_account == account_id) & (CrawlLock.owner == (owner or this_process()))
    )


@asynccontextmanager
async def holding(account_id: int, owner: str | None = None) -> AsyncIterator[None]:
    """``async with holding(account):`` crawl; the heartbeat is kept fresh meanwhile and
    the lock is released however the crawl ends."""
    await acquire(account_id, owner)

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            await heartbeat(account_id, owner)

    beating = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
        await release(account_id, owner)
