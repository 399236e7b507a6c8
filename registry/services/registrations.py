"""Registering a repository: a maintainer submits a URL for their publisher, the registry
validates it and queues a crawl of it; the caller polls the crawl run.

:func:`register` validates (canonical URL, no private or loopback address, a known forge
or plain Git) and records a ``crawl_run`` of kind ``registration`` with status ``queued``.
:func:`execute` runs it with the crawlers' :class:`~crawlers.crawl.Crawler` and copies the
outcome onto the run: ``done`` with the project, or ``failed`` with the reason. Without a
broker the server calls :func:`execute` in-process after answering; with a broker the run
stays ``queued`` until a worker takes it (no Celery task exists for it yet).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from registry.errors import CommunsError, NotFoundError, PermissionDeniedError, URLError
from registry.settings import Settings
from registry.tables import CrawlRun, Publisher, Repository
from registry.urls import parse_repository_url

log = logging.getLogger("communs.registrations")

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass
class RunStatus:
    id: int
    kind: str
    target: str
    status: str
    publisher_id: int | None
    project_id: int | None
    queued_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    added: int
    changed: int
    failed: int
    error: str
    failures: list[dict[str, Any]]
    requests: int


def _refuse(message: str) -> URLError:
    return URLError(message, errors=[{"field": "url", "message": message}])


def validate_url(url: str, *, allow_loopback: bool = False) -> tuple[str, str]:
    """The canonical URL and forge kind of a submitted repository URL.

    Refuses (:class:`URLError`, 422) what :func:`registry.urls.canonical_url` refuses,
    ``publiccode.yml`` file URLs (submit the repository), and hosts that name a private,
    loopback, link-local or reserved address (loopback allowed with ``allow_loopback``).
    Names that resolve to such addresses are refused by the crawler at connection time.
    """
    lowered = url.strip().lower().split("?", 1)[0]
    if lowered.endswith(("publiccode.yml", "publiccode.yaml")):
        raise _refuse("submit the repository URL; publiccode.yml file URLs are not supported yet")
    ref = parse_repository_url(url)
    host = ref.host.lower().rstrip(".")
    if ref.ip_literal:
        address = ipaddress.ip_address(host)
        if address.is_loopback and allow_loopback:
            pass
        elif (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            raise _refuse(f"{host} is a private or reserved address")
    elif (host == "localhost" or host.endswith(_LOCAL_SUFFIXES)) and not allow_loopback:
        raise _refuse(f"{host} is a local host name")
    elif "." not in host and not allow_loopback:
        raise _refuse(f"{host} is not a public host name")
    return ref.url, ref.forge or "git"


async def register(
    url: str,
    publisher_id: int,
    *,
    user_id: int | None,
    may_maintain: bool,
    settings: Settings,
) -> RunStatus:
    """Queue a registration crawl; 404 unknown publisher, 403 not a maintainer of it."""
    if not await Publisher.exists().where(Publisher.id == publisher_id):
        raise NotFoundError(f"publisher {publisher_id} does not exist")
    if not may_maintain:
        raise PermissionDeniedError("only maintainers of the publisher may register repositories")
    canonical, _kind = validate_url(url, allow_loopback=settings.allow_loopback)
    rows = await CrawlRun.insert(
        CrawlRun(
            target=canonical,
            kind="registration",
            publisher=publisher_id,
            status="queued",
            requested_by=user_id,
            queued_at=dt.datetime.now(dt.UTC),
        )
    ).returning(CrawlRun.id)
    return await get_run(int(rows[0]["id"]))


async def get_run(run_id: int) -> RunStatus:
    row = await CrawlRun.select().where(CrawlRun.id == run_id).output(load_json=True).first()
    if row is None:
        raise NotFoundError(f"no crawl run {run_id}")
    return RunStatus(
        id=int(row["id"]),
        kind=row["kind"],
        target=row["target"],
        status=row["status"],
        publisher_id=row["publisher"],
        project_id=row["project"],
        queued_at=row["queued_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        added=row["added"],
        changed=row["changed"],
        failed=row["failed"],
        error=row["error"],
        failures=list(row["failures"] or []),
        requests=row["requests"],
    )


async def list_runs(
    *, kind: str = "", status: str = "", limit: int = 50, before: int | None = None
) -> list[RunStatus]:
    query = CrawlRun.select(CrawlRun.id).order_by(CrawlRun.id, ascending=False).limit(limit)
    if kind:
        query = query.where(CrawlRun.kind == kind)
    if status:
        query = query.where(CrawlRun.status == status)
    if before is not None:
        query = query.where(CrawlRun.id < before)
    return [await get_run(int(r["id"])) for r in await query]


async def execute(run_id: int, settings: Settings) -> RunStatus:
    """Crawl a queued registration and record the outcome on the run."""
    run = await get_run(run_id)
    if run.status != "queued":
        return run
    now = dt.datetime.now(dt.UTC)
    claimed = (
        await CrawlRun.update({CrawlRun.status: "running", CrawlRun.started_at: now})
        .where((CrawlRun.id == run_id) & (CrawlRun.status == "queued"))
        .returning(CrawlRun.id)
    )
    if not claimed:
        return await get_run(run_id)
    error = ""
    update: dict[Any, Any] = {}
    try:
        from crawlers.crawl import Crawler, CrawlSummary, parse_target
        from crawlers.http import ForgeClient

        target = parse_target(run.target)
        summary = CrawlSummary()
        async with ForgeClient(settings) as client:
            crawler = Crawler(client, actor=f"registration:{run_id}")
            await crawler.crawl_repository(target, summary, publisher_id=run.publisher_id)
        update = {
            CrawlRun.added: summary.added,
            CrawlRun.changed: summary.changed,
            CrawlRun.requests: summary.requests,
            CrawlRun.failures: summary.failures,
            CrawlRun.failed: summary.failed,
        }
        if summary.failures:
            error = "; ".join(f["reason"] for f in summary.failures)[:2000]
        else:
            repo = (
                await Repository.select(Repository.project)
                .where(Repository.url == run.target)
                .first()
            )
            if repo is None or repo["project"] is None:
                error = "the crawl finished but the repository is not in the catalogue"
            else:
                update[CrawlRun.project] = repo["project"]
    except CommunsError as problem:
        error = problem.message
    except Exception as problem:  # the run must end failed, never stay 'running'
        log.exception("registration %s failed", run_id)
        error = f"internal error: {type(problem).__name__}"
    update.update(
        {
            CrawlRun.status: "failed" if error else "done",
            CrawlRun.error: error,
            CrawlRun.finished_at: dt.datetime.now(dt.UTC),
        }
    )
    await CrawlRun.update(update).where(CrawlRun.id == run_id)
    return await get_run(run_id)
