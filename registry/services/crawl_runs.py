"""Crawl runs: what a crawl was asked, what it cost, what it changed and what failed.

A run is created ``running`` when a crawl starts, its counters are updated as pages are
saved (in the page's transaction), and it is finished ``done`` or ``failed`` with the
reason. Failures are ``{"repository": url_or_path, "reason": text}`` entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from registry.errors import NotFoundError
from registry.tables import CrawlRun

__all__ = ["add_counts", "finish_run", "get_run", "latest_runs", "start_run"]


async def start_run(
    target: str,
    *,
    kind: str = "account",
    publisher_id: int | None = None,
    forge_account_id: int | None = None,
) -> int:
    """Record a run that starts now; returns its id."""
    now = dt.datetime.now(dt.UTC)
    rows = await CrawlRun.insert(
        CrawlRun(
            target=target[:500],
            kind=kind,
            publisher=publisher_id,
            forge_account=forge_account_id,
            status="running",
            queued_at=now,
            started_at=now,
        )
    ).returning(CrawlRun.id)
    return int(rows[0]["id"])


async def add_counts(
    run_id: int,
    *,
    added: int = 0,
    changed: int = 0,
    gone: int = 0,
    failures: list[dict[str, str]] | None = None,
    requests: int | None = None,
) -> None:
    """Add to a run's counters (and failures); ``requests`` replaces the running total."""
    row = (
        await CrawlRun.select(
            CrawlRun.added, CrawlRun.changed, CrawlRun.gone, CrawlRun.failed, CrawlRun.failures
        )
        .where(CrawlRun.id == run_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise NotFoundError(f"no crawl run {run_id}")
    update: dict[Any, Any] = {
        CrawlRun.added: row["added"] + added,
        CrawlRun.changed: row["changed"] + changed,
        CrawlRun.gone: row["gone"] + gone,
    }
    if failures:
        update[CrawlRun.failures] = list(row["failures"] or []) + failures
        update[CrawlRun.failed] = row["failed"] + len(failures)
    if requests is not None:
        update[CrawlRun.requests] = requests
    await CrawlRun.update(update).where(CrawlRun.id == run_id)


async def finish_run(run_id: int, *, requests: int, error: str = "") -> None:
    """Close a run: ``done``, or ``failed`` with ``error`` saying why."""
    await CrawlRun.update(
        {
            CrawlRun.status: "failed" if error else "done",
            CrawlRun.finished_at: dt.datetime.now(dt.UTC),
            CrawlRun.requests: requests,
            CrawlRun.error: error,
        }
    ).where(CrawlRun.id == run_id)


async def get_run(run_id: int) -> dict[str, Any]:
    row = await CrawlRun.select().where(CrawlRun.id == run_id).output(load_json=True).first()
    if row is None:
        raise NotFoundError(f"no crawl run {run_id}")
    return row


async def latest_runs(limit: int = 20) -> list[dict[str, Any]]:
    return (
        await CrawlRun.select()
        .order_by(CrawlRun.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
