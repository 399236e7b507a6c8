"""The Celery app and its thin tasks.

Each task is a few lines around a plain async function of :mod:`crawlers` or
:mod:`registry.services`, which is where the logic lives and is tested. Task names are
stable (``communs.*``) so a deployment can upgrade workers and beat one at a time.

Without a broker (``COMMUNS_BROKER_URL`` empty) nothing here runs: the server executes
the same functions in-process (:func:`run_in_process`).

Tasks are built by :func:`make_celery` for a given :class:`Settings`, so a test can run
a real worker on its own database and broker without touching the environment.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from celery import Celery
from celery.schedules import crontab

from registry.errors import ConflictError, ForgeError
from registry.settings import Settings, get_settings

log = logging.getLogger("communs.tasks")
T = TypeVar("T")

#: Transient faults a task is retried for; anything else fails the task at once.
TRANSIENT = (ForgeError, ConnectionError, TimeoutError)


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` in a fresh event loop with the catalogue bound to the settings."""
    from registry import db

    async def main() -> T:
        db.use_database(settings.effective_database_url)
        try:
            return await work()
        finally:
            await db.close()

    return asyncio.run(main())


async def crawl_account(settings: Settings, account_id: int) -> dict[str, Any]:
    """Crawl one forge account unless another process is crawling it (then skipped)."""
    from crawlers.crawl import Crawler, CrawlSummary
    from crawlers.http import ForgeClient
    from registry.services import crawl_locks

    summary = CrawlSummary()
    try:
        async with crawl_locks.holding(account_id), ForgeClient(settings) as client:
            await Crawler(client, actor="worker").crawl_account(account_id, summary)
    except ConflictError as busy:
        log.info("crawl of account %s skipped: %s", account_id, busy.message)
        return {"skipped": busy.message}
    return summary_dict(summary)


async def crawl_repository(settings: Settings, url: str) -> dict[str, Any]:
    from crawlers.crawl import Crawler, CrawlSummary, parse_target
    from crawlers.http import ForgeClient

    summary = CrawlSummary()
    async with ForgeClient(settings) as client:
        await Crawler(client, actor="worker").crawl_repository(parse_target(url), summary)
    return summary_dict(summary)


async def accounts_due(settings: Settings, now: dt.datetime | None = None) -> list[int]:
    """Forge accounts whose last crawl is older than their interval (or that were never
    crawled), oldest first. Left out: accounts ignored since a date, whole forges of a
    kind that cannot be listed whole (GitHub, Bitbucket, plain git: their crawl is refused),
    and accounts mirrored from a peer (their origin crawls them and publishes the result)."""
    from crawlers.crawl import WHOLE_FORGE_KINDS
    from registry.federation.tables import FederationEntity, bind
    from registry.tables import ForgeAccount

    bind()
    mirrored = {
        row["local_id"]
        for row in await FederationEntity.select(FederationEntity.local_id).where(
            (FederationEntity.entity == "forge_account") & (FederationEntity.owner == True)  # noqa: E712
        )
    }

    now = now or dt.datetime.now(dt.UTC)
    rows = await ForgeAccount.select(
        ForgeAccount.id, ForgeAccount.last_crawled_at, ForgeAccount.crawl_interval_hours
    ).where(
        ForgeAccount.ignored_since.is_null()
        & ((ForgeAccount.owner != "") | ForgeAccount.forge_kind.is_in(list(WHOLE_FORGE_KINDS)))
    )
    due: list[tuple[dt.datetime, int]] = []
    never = dt.datetime.min.replace(tzinfo=dt.UTC)
    for row in rows:
        if row["id"] in mirrored:
            continue
        hours = row["crawl_interval_hours"] or settings.crawl_interval_hours
        last = row["last_crawled_at"]
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if last is None or now - last >= dt.timedelta(hours=hours):
            due.append((last or never, int(row["id"])))
    return [account_id for _, account_id in sorted(due)]


def summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "run_ids": list(summary.run_ids),
        "added": summary.added,
        "changed": summary.changed,
        "gone": summary.gone,
        "failed": summary.failed,
        "requests": summary.requests,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """A Celery app with Communs' tasks and beat schedule, for ``settings``."""
    settings = settings or get_settings()
    app = Celery(
        "communs", broker=settings.broker_url or None, backend=settings.effective_result_backend
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="communs",
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        result_expires=24 * 3600,
        beat_schedule={
            "crawl-due-accounts": {
                "task": "communs.crawl_due",
                "schedule": crontab(minute="*/15"),
            },
            "pull-peers": {"task": "communs.pull_peers", "schedule": crontab(minute="*/10")},
        },
    )

    @app.task(
        shared=False,
        name="communs.crawl_account",
        bind=True,
        autoretry_for=TRANSIENT,
        retry_backoff=30,
        retry_backoff_max=1800,
        max_retries=5,
    )
    def crawl_account_task(self: Any, account_id: int) -> dict[str, Any]:
        return run_with_database(settings, lambda: crawl_account(settings, account_id))

    @app.task(
        shared=False,
        name="communs.crawl_repository",
        bind=True,
        autoretry_for=TRANSIENT,
        retry_backoff=30,
        max_retries=5,
    )
    def crawl_repository_task(self: Any, url: str) -> dict[str, Any]:
        return run_with_database(settings, lambda: crawl_repository(settings, url))

    @app.task(shared=False, name="communs.crawl_due")
    def crawl_due_task() -> list[int]:
        due = run_with_database(settings, lambda: accounts_due(settings))
        for account_id in due:
            crawl_account_task.delay(account_id)
        log.info("%d account(s) due for a crawl", len(due))
        return due

    @app.task(
        shared=False,
        name="communs.execute_registration",
        bind=True,
        autoretry_for=TRANSIENT,
        retry_backoff=30,
        max_retries=3,
    )
    def execute_registration_task(self: Any, run_id: int) -> str:
        from registry.services import registrations

        status = run_with_database(settings, lambda: registrations.execute(run_id, settings))
        return status.status

    @app.task(shared=False, name="communs.pull_peers")
    def pull_peers_task() -> list[dict[str, Any]]:
        from crawlers.federation import run_scheduled_pulls

        return run_scheduled_pulls(settings)

    return app


@functools.cache
def _app_for(settings: Settings) -> Celery:
    return make_celery(settings)


def queue_registration(settings: Settings, run_id: int) -> bool:
    """Hand a queued registration to the Celery workers; ``False`` when there is no
    broker, and the caller runs :func:`registry.services.registrations.execute` itself
    (in the server's process, after answering)."""
    if settings.tasks_in_process:
        return False
    _app_for(settings).send_task("communs.execute_registration", args=[run_id])
    return True


_background: set[asyncio.Task[Any]] = set()


def run_in_process(work: Awaitable[Any]) -> asyncio.Task[Any]:
    """Start ``work`` in the running event loop of the server (no broker configured).

    The task is kept referenced until it ends, and its failure is logged; the work
    itself records its outcome (a crawl run ends ``done`` or ``failed``).
    """
    task = asyncio.ensure_future(work)
    _background.add(task)

    def finished(done: asyncio.Task[Any]) -> None:
        _background.discard(done)
        if not done.cancelled() and done.exception() is not None:
            log.error("in-process task failed", exc_info=done.exception())

    task.add_done_callback(finished)
    return task


app = make_celery()
