"""Registering a repository: a maintainer submits a URL for their publisher, the registry
validates it and queues a crawl of it; the caller polls the crawl run.

:func:`register` validates (canonical URL, no private or loopback address, a known forge
or plain Git) and records a ``crawl_run`` of kind ``registration`` with status ``queued``.
:func:`execute` runs it with the crawlers' :class:`~crawlers.crawl.Crawler` and copies the
outcome onto the run: ``done`` with the project, or ``failed`` with the reason. Without a
broker the server calls :func:`execute` in-process after answering; with a broker a
Celery worker runs it (``communs.execute_registration``).

A ``publiccode.yml`` URL may be submitted instead of a repository URL. A file URL in a
known forge layout (GitHub ``blob``/``raw`` and ``raw.githubusercontent.com``, GitLab
``/-/blob|raw/``, Gitea/Forgejo ``/src|raw/branch|tag|commit/``, Bitbucket
``/src|raw/``) names its repository, which is registered. Any other ``https`` address of a
``publiccode.yml`` is fetched when the run executes (with the crawler's address checks)
and the repository its ``url`` key names is registered.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

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
    """The canonical URL and forge kind of a submitted repository or publiccode.yml URL.

    Refuses (:class:`URLError`, 422) what :func:`registry.urls.canonical_url` refuses and
    hosts that name a private, loopback, link-local or reserved address (loopback allowed
    with ``allow_loopback``). Names that resolve to such addresses are refused by the
    crawler at connection time. A ``publiccode.yml`` URL in a known forge layout gives its
    repository; any other is returned as it is with the kind ``publiccode`` (read when the
    run executes).
    """
    if is_publiccode_url(url):
        repository = repository_of_publiccode_url(url)
        if repository is None:
            # fetched when the run executes; the address is checked now as well
            _check_file_url(url, allow_loopback=allow_loopback)
            return url.strip(), "publiccode"
        url = repository
    ref = parse_repository_url(url)
    _check_host(ref.host.lower().rstrip("."), allow_loopback=allow_loopback)
    return ref.url, ref.forge or "git"


_PUBLICCODE_NAMES = ("publiccode.yml", "publiccode.yaml")
_GITHUB_RAW = "raw.githubusercontent.com"


def is_publiccode_url(url: str) -> bool:
    """Whether ``url`` names a ``publiccode.yml`` file rather than a repository."""
    path = urlsplit(url.strip()).path.rstrip("/").lower()
    return path.endswith(tuple("/" + name for name in _PUBLICCODE_NAMES))


def repository_of_publiccode_url(url: str) -> str | None:
    """The repository URL a ``publiccode.yml`` file URL names by its forge's layout, or
    None when the layout is not one of the known forges' (the file must then be read)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(f"{url.strip()[:200]} is not an http(s) address of a publiccode.yml")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    host = parts.hostname.lower()
    authority = parts.netloc.rsplit("@", 1)[-1]
    if host == _GITHUB_RAW and len(segments) >= 4:
        return f"https://github.com/{segments[0]}/{segments[1]}"
    # GitLab: /group/sub/project/-/blob|raw/REF/...
    if "-" in segments:
        dash = segments.index("-")
        if dash >= 2 and len(segments) > dash + 2 and segments[dash + 1] in ("blob", "raw"):
            return f"{parts.scheme}://{authority}/" + "/".join(segments[:dash])
    if len(segments) >= 5:
        owner, name, view = segments[0], segments[1], segments[2]
        # Gitea and Forgejo: /owner/repo/src|raw/branch|tag|commit/REF/...
        if view in ("src", "raw") and segments[3] in ("branch", "tag", "commit"):
            return f"{parts.scheme}://{authority}/{owner}/{name}"
        # GitHub (/blob|raw/REF/...) and Bitbucket Cloud (/src|raw/REF/...)
        if (host in ("github.com", "www.github.com") and view in ("blob", "raw")) or (
            host == "bitbucket.org" and view in ("src", "raw")
        ):
            return f"https://{host.removeprefix('www.')}/{owner}/{name}"
    return None


def _check_file_url(url: str, *, allow_loopback: bool) -> None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(f"{url.strip()[:200]} is not an http(s) address of a publiccode.yml")
    if parts.username or parts.password:
        raise _refuse("a publiccode.yml address must not carry credentials")
    _check_host(parts.hostname.lower().rstrip("."), allow_loopback=allow_loopback)


def _check_host(host: str, *, allow_loopback: bool) -> None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if address.is_loopback and allow_loopback:
            return
        if (
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


async def _repository_named_by(client: Any, url: str, settings: Settings) -> str:
    """Read a ``publiccode.yml`` and return the canonical repository URL of its ``url``."""
    from registry.publiccode import parse

    response = await client.get(url)
    report = parse(response.content)
    if report.data is None or not report.data.url:
        reason = report.errors[0].description if report.errors else "it has no url key"
        raise URLError(f"the publiccode.yml at {url} names no repository: {reason}")
    if is_publiccode_url(report.data.url):
        raise URLError(f"the publiccode.yml at {url} names a file, not a repository")
    canonical, _kind = validate_url(report.data.url, allow_loopback=settings.allow_loopback)
    return canonical


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

        summary = CrawlSummary()
        async with ForgeClient(settings) as client:
            if is_publiccode_url(run.target):
                repository = await _repository_named_by(client, run.target, settings)
                await CrawlRun.update({CrawlRun.target: repository}).where(CrawlRun.id == run_id)
                run.target = repository
            target = parse_target(run.target)
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
