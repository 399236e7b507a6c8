"""Crawl orchestration: a publisher, a forge account or one repository URL.

:class:`Crawler` owns the loop: the adapter yields complete pages, :mod:`crawlers.ingest`
saves each page in one transaction together with the run's counters, and when an account's
listing has been read to the end, the repositories it no longer lists are marked gone. A
repository the crawl could not fetch is a failure, recorded with its reason, and is never
marked gone. Every call records a :class:`~registry.tables.CrawlRun`.

Identity and endpoint: a forge account is identified by its base URL (``https://github.com``)
and owner; it can be *reached* elsewhere (``endpoints``: a mirror, the fake forge). Repository
URLs are stored under the identity, so crawling through the fake forge gives the catalogue a
real crawl would.

Targets (:func:`parse_target`): ``github:lutece-platform``, ``gitlab@gitlab.adullact.net:group``,
``gitea@codeberg.org:org`` (also ``forgejo``), a repository URL, or a publisher slug.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import re
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawlers.forges.base import ForgeAdapter, RepoData, parse_time
from crawlers.forges.bitbucket import BitbucketAdapter
from crawlers.forges.git import GitAdapter
from crawlers.forges.gitea import GiteaAdapter
from crawlers.forges.github import GitHubAdapter
from crawlers.forges.gitlab import GitLabAdapter
from crawlers.http import ForgeClient
from crawlers.ingest import PageOutcome, ingest_page, to_record
from registry import db
from registry.errors import CommunsError, NotFoundError, URLError, ValidationError
from registry.services import changelog, crawl_runs
from registry.services.repositories import RepositoryRecord, mark_gone
from registry.tables import ForgeAccount, Publisher, Repository
from registry.urls import canonical_url, parse_repository_url

__all__ = [
    "DEFAULT_HOSTS",
    "WHOLE_FORGE_KINDS",
    "CrawlSummary",
    "Crawler",
    "Target",
    "adapter_for",
    "parse_target",
]

#: Forge kinds whose account without owner (a self-hosted instance, all of it the
#: publisher's) is crawled by listing every public repository of the instance
WHOLE_FORGE_KINDS = ("gitlab", "gitea", "forgejo")

#: The public instance a forge kind names when the target gives no host
DEFAULT_HOSTS = {
    "github": "github.com",
    "gitlab": "gitlab.com",
    "gitea": "codeberg.org",
    "bitbucket": "bitbucket.org",
}
_KIND_ALIASES = {
    "github": "github",
    "gitlab": "gitlab",
    "gitea": "gitea",
    "forgejo": "gitea",
    "bitbucket": "bitbucket",
    "git": "git",
}
_ACCOUNT = re.compile(r"^(?P<kind>[a-z]+)(?:@(?P<host>[^:/\s]+(?::\d+)?))?:(?P<owner>[^\s]+)$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Target:
    """What ``communs crawl`` was asked: ``kind`` is publisher, account or repository."""

    kind: str
    text: str
    forge_kind: str = ""
    base_url: str = ""
    owner: str = ""
    url: str = ""


def parse_target(text: str, *, forge_kind: str | None = None) -> Target:
    """Read a crawl target; raise :class:`ValidationError` saying what is expected."""
    text = text.strip()
    match = _ACCOUNT.match(text)
    if match and match.group("kind") in _KIND_ALIASES and "//" not in text:
        kind = _KIND_ALIASES[match.group("kind")]
        host = (match.group("host") or DEFAULT_HOSTS[kind]).lower()
        owner = match.group("owner").strip("/")
        return Target("account", text, kind, f"https://{host}", owner)
    if "://" in text or text.startswith("git@") or ("/" in text and "." in text.split("/")[0]):
        ref = parse_repository_url(text)
        # a host no forge kind is known for is read as a plain Git repository
        kind = _KIND_ALIASES.get(forge_kind or ref.forge or "git", "git")
        authority = ref.url.split("/")[2]
        return Target("repository", text, kind, f"https://{authority}", ref.namespace, ref.url)
    if _SLUG.match(text):
        return Target("publisher", text)
    raise ValidationError(
        f"{text!r}: expected a publisher slug, an account (github:OWNER, "
        "gitlab@HOST:GROUP, gitea@HOST:ORG) or a repository URL"
    )


def adapter_for(kind: str, client: ForgeClient, endpoint: str) -> ForgeAdapter:
    if kind == "github":
        return GitHubAdapter(client, endpoint)
    if kind == "gitlab":
        return GitLabAdapter(client, endpoint)
    if kind in ("gitea", "forgejo"):
        return GiteaAdapter(client, endpoint)
    if kind == "bitbucket":
        return BitbucketAdapter(client, endpoint)
    if kind == "git":
        return GitAdapter(client, endpoint)
    raise ValidationError(f"crawling {kind} forges is not supported yet")


@dataclass
class CrawlSummary:
    """Totals over everything one command crawled (possibly several accounts)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    gone: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    run_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def seen(self) -> int:
        return self.added + self.changed + self.unchanged

    def line(self) -> str:
        return (
            f"{self.seen} repositories: {self.added} added, {self.changed} changed, "
            f"{self.gone} gone, {self.failed} failed; {self.requests} requests"
        )


class Crawler:
    """Crawls targets into the catalogue through one :class:`ForgeClient`.

    ``endpoints`` maps an identity (``https://github.com`` or a bare host ``github.com``) to
    the URL the forge is reached at; ``progress(done, total)`` is called after each page.
    ``incremental``: a listed repository the catalogue holds with the same URL and activity
    date (GitLab ``last_activity_at``, Gitea ``updated_at``) is not read again (False: every
    repository is).
    """

    def __init__(
        self,
        client: ForgeClient,
        *,
        endpoints: dict[str, str] | None = None,
        progress: Progress | None = None,
        actor: str = "crawler",
        incremental: bool = True,
    ) -> None:
        self.client = client
        self.incremental = incremental
        self.endpoints = {
            k.rstrip("/").lower(): v.rstrip("/") for k, v in (endpoints or {}).items()
        }
        self.progress = progress
        self.actor = actor

    def endpoint_for(self, base_url: str) -> str:
        """Where the forge of an identity (``https://host``) is reached.

        An explicit endpoint wins. Otherwise the identity itself, except that with
        ``allow_loopback`` a loopback host is reached over plain ``http``: canonical URLs
        are always ``https`` identities, and a forge on loopback (the fake forge, a
        developer's Gitea) serves no TLS.
        """
        base = base_url.rstrip("/").lower()
        host = urlsplit(base).netloc
        explicit = self.endpoints.get(base) or self.endpoints.get(host)
        if explicit:
            return explicit
        hostname = urlsplit(base).hostname or ""
        if self.client.allow_loopback and _is_loopback(hostname):
            # the identity's path stays (a forge served under a prefix: ``…/gitlab``)
            return "http://" + host + urlsplit(base_url.rstrip("/")).path
        return base_url.rstrip("/")

    # -- targets ------------------------------------------------------------------------------

    async def crawl(self, target: Target) -> CrawlSummary:
        summary = CrawlSummary()
        if target.kind == "publisher":
            await self.crawl_publisher(target.text, summary)
        elif target.kind == "account":
            account_id, _publisher = await self._ensure_account(target)
            await self.crawl_account(account_id, summary)
        else:
            await self.crawl_repository(target, summary)
        return summary

    async def crawl_publisher(self, slug: str, summary: CrawlSummary) -> None:
        """Crawl each forge account of a publisher (accounts ignored since a date are not)."""
        publisher = await Publisher.select(Publisher.id).where(Publisher.slug == slug).first()
        if publisher is None:
            raise NotFoundError(f"no publisher with slug {slug!r}")
        accounts = (
            await ForgeAccount.select(ForgeAccount.id)
            .where(
                (ForgeAccount.publisher == publisher["id"]) & ForgeAccount.ignored_since.is_null()
            )
            .order_by(ForgeAccount.id)
        )
        for account in accounts:
            await self.crawl_account(int(account["id"]), summary)

    async def crawl_account(self, account_id: int, summary: CrawlSummary) -> int:
        """Crawl one forge account; returns the run id. Errors end the run as failed and
        are recorded in the summary, not raised, so a publisher's other accounts go on."""
        account = await ForgeAccount.select().where(ForgeAccount.id == account_id).first()
        if account is None:
            raise NotFoundError(f"no forge account {account_id}")
        kind, base_url, owner = account["forge_kind"], account["base_url"], account["owner"]
        label = f"{kind}@{urlsplit(base_url).netloc}:{owner}"
        run_id = await crawl_runs.start_run(
            label,
            kind="account",
            publisher_id=account["publisher"],
            forge_account_id=account_id,
        )
        summary.run_ids.append(run_id)
        start = self.client.stats.requests
        seen: set[str] = set()
        failed_urls: set[str] = set()
        error = ""
        try:
            endpoint = self.endpoint_for(base_url)
            adapter = adapter_for(kind, self.client, endpoint)
            if not owner and not adapter.whole_forge:
                # GitLab and Gitea list a whole instance; GitHub, Bitbucket and plain git
                # have no such listing (nor would a whole github.com be one publisher's)
                raise ValidationError(
                    f"{base_url}: crawling a whole forge (an account without owner) is not "
                    "supported yet"
                )
            if self.incremental:
                adapter.current = lambda listed: _current_in_catalogue(
                    account_id, adapter.kind, base_url, endpoint, listed
                )
            done = 0
            async with contextlib.aclosing(_prefetched(adapter, owner)) as pages:
                async for page, page_failures, page_skipped in pages:
                    failures = []
                    for path, reason in page_failures:
                        url = _identity_url(base_url, endpoint, f"{endpoint}/{path}")
                        failed_urls.add(url)
                        failures.append({"repository": url, "reason": reason})
                    records, bad = _records(page, base_url, endpoint)
                    failures += bad
                    # a forge may serve a listing page twice (offset pages shifting under a
                    # concurrent change): a repository already saved in this run is not redone
                    records = [r for r in records if r.url not in seen]
                    skipped = {_identity_url(base_url, endpoint, u) for u in page_skipped} - seen
                    if skipped:
                        # listed as the catalogue holds them: not read again, but seen
                        await Repository.update(
                            {Repository.last_seen_at: dt.datetime.now(dt.UTC)}
                        ).where(Repository.url.is_in(sorted(skipped)))
                        seen.update(skipped)
                        summary.unchanged += len(skipped)
                        done += len(skipped)
                    if not records and not failures:
                        continue
                    outcome = await ingest_page(
                        records,
                        forge_account_id=account_id,
                        publisher_id=account["publisher"],
                        run_id=run_id,
                        failures=failures,
                        requests=self.client.stats.requests - start,
                        actor=self.actor,
                    )
                    _add(summary, outcome)
                    seen.update(outcome.seen)
                    done += len(records) + len(failures)
                    if self.progress:
                        self.progress(done, None)
            async with db.transaction():
                gone = await mark_gone(account_id, seen, keep_urls=failed_urls, actor=self.actor)
                await crawl_runs.add_counts(run_id, gone=len(gone))
                await ForgeAccount.update(
                    {ForgeAccount.last_crawled_at: dt.datetime.now(dt.UTC)}
                ).where(ForgeAccount.id == account_id)
            summary.gone += len(gone)
        except CommunsError as problem:
            error = problem.message
            summary.failures.append({"repository": label, "reason": error})
        requests = self.client.stats.requests - start
        summary.requests += requests
        await crawl_runs.finish_run(run_id, requests=requests, error=error)
        return run_id

    async def crawl_repository(
        self, target: Target, summary: CrawlSummary, *, publisher_id: int | None = None
    ) -> int:
        """Crawl one repository by URL; attached to its forge account when one is known,
        else to ``publisher_id`` (the publisher a registration was made for), if given."""
        account = (
            await ForgeAccount.select()
            .where(
                (ForgeAccount.base_url == target.base_url) & (ForgeAccount.owner == target.owner)
            )
            .first()
        )
        if account is None:
            # a repository URL is usually attached by its first path segment (GitHub orgs)
            first = target.owner.split("/", 1)[0]
            account = (
                await ForgeAccount.select()
                .where((ForgeAccount.base_url == target.base_url) & (ForgeAccount.owner == first))
                .first()
            )
        if account is not None:
            publisher_id = account["publisher"]
        run_id = await crawl_runs.start_run(
            target.url,
            kind="repository",
            publisher_id=publisher_id,
            forge_account_id=account["id"] if account else None,
        )
        summary.run_ids.append(run_id)
        start = self.client.stats.requests
        error = ""
        try:
            endpoint = self.endpoint_for(target.base_url)
            adapter = adapter_for(target.forge_kind, self.client, endpoint)
            path = target.url.split("/", 3)[3]
            repo = await adapter.repository(path)
            records, bad = _records([repo], target.base_url, endpoint)
            outcome = await ingest_page(
                records,
                forge_account_id=account["id"] if account else None,
                publisher_id=publisher_id,
                run_id=run_id,
                failures=bad,
                requests=self.client.stats.requests - start,
                actor=self.actor,
            )
            _add(summary, outcome)
            if self.progress:
                self.progress(1, 1)
        except CommunsError as problem:
            error = problem.message
            summary.failures.append({"repository": target.url, "reason": error})
        requests = self.client.stats.requests - start
        summary.requests += requests
        await crawl_runs.finish_run(run_id, requests=requests, error=error)
        return run_id

    async def _ensure_account(self, target: Target) -> tuple[int, int]:
        """The forge account of an account target, registered (with a publisher named after
        it) when the catalogue does not know it yet."""
        row = (
            await ForgeAccount.select()
            .where(
                (ForgeAccount.base_url == target.base_url) & (ForgeAccount.owner == target.owner)
            )
            .first()
        )
        if row is not None:
            return int(row["id"]), int(row["publisher"])
        host = urlsplit(target.base_url).netloc
        slug = "acct-" + re.sub(r"[^a-z0-9]+", "-", f"{host}-{target.owner}".lower()).strip("-")
        async with db.transaction():
            publisher = await Publisher.select(Publisher.id).where(Publisher.slug == slug).first()
            if publisher is None:
                created = await Publisher.insert(
                    Publisher(slug=slug, name=f"{host}/{target.owner}", kind="other")
                ).returning(Publisher.id)
                publisher_id = int(created[0]["id"])
                await changelog.record(
                    "publisher", publisher_id, "added", {"slug": slug}, actor=self.actor
                )
            else:
                publisher_id = int(publisher["id"])
            created = await ForgeAccount.insert(
                ForgeAccount(
                    publisher=publisher_id,
                    forge_kind=target.forge_kind,
                    base_url=target.base_url,
                    owner=target.owner,
                )
            ).returning(ForgeAccount.id)
            account_id = int(created[0]["id"])
            await changelog.record(
                "forge_account",
                account_id,
                "added",
                {
                    "forge_kind": target.forge_kind,
                    "base_url": target.base_url,
                    "owner": target.owner,
                },
                actor=self.actor,
            )
        return account_id, publisher_id


#: pages an account crawl reads ahead of the one being saved (memory stays a few pages)
PREFETCH_PAGES = 1

_Page = tuple[list[RepoData], list[tuple[str, str]], list[str]]


async def _prefetched(adapter: ForgeAdapter, owner: str) -> AsyncGenerator[_Page, None]:
    """The adapter's pages with their failures and skipped URLs, read ahead: the next
    page's requests run while the current page is saved. Pages come in the forge's order
    and each is saved before the next, so a crawl killed mid-way still leaves whole pages.
    """
    queue: asyncio.Queue[_Page | BaseException | None] = asyncio.Queue(PREFETCH_PAGES)

    async def produce() -> None:
        pages = adapter.account_pages(owner)
        try:
            async for page in pages:
                item: _Page = (page, list(adapter.failures), list(adapter.skipped))
                adapter.failures.clear()
                adapter.skipped.clear()
                await queue.put(item)
            await queue.put(None)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # handed to the consumer, raised there
            await queue.put(error)
        finally:
            if isinstance(pages, AsyncGenerator):
                await pages.aclose()

    task = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
        await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def _to_second(value: dt.datetime) -> dt.datetime:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


async def _current_in_catalogue(
    account_id: int,
    kind: str,
    base_url: str,
    endpoint: str,
    listed: list[tuple[str, str, str | None]],
) -> set[str]:
    """Forge ids of listed repositories the catalogue holds as the forge lists them: saved
    by a crawl of this account, not gone, same URL (a renamed one is read again) and same
    activity date. A repository whose crawl failed was not saved, so its stored date is
    older and it is read again."""
    ids = [forge_id for forge_id, _url, _when in listed if forge_id]
    if not ids:
        return set()
    rows = await Repository.select(Repository.forge_id, Repository.url, Repository.pushed_at).where(
        (Repository.forge_account == account_id)
        & (Repository.forge_kind == kind)
        & Repository.forge_id.is_in(ids)
        & Repository.gone_at.is_null()
    )
    stored = {row["forge_id"]: row for row in rows}
    current: set[str] = set()
    for forge_id, web_url, when in listed:
        row = stored.get(forge_id)
        listed_at = parse_time(when)
        if row is None or listed_at is None or row["pushed_at"] is None:
            continue
        same_url = row["url"] == _identity_url(base_url, endpoint, web_url)
        if same_url and _to_second(row["pushed_at"]) == _to_second(listed_at):
            current.add(forge_id)
    return current


def _identity_url(base_url: str, endpoint: str, web_url: str) -> str:
    """``web_url`` as reached through ``endpoint``, rewritten under the identity base."""
    endpoint = endpoint.rstrip("/")
    if endpoint != base_url.rstrip("/") and web_url.lower().startswith(endpoint.lower() + "/"):
        web_url = base_url.rstrip("/") + web_url[len(endpoint) :]
    try:
        return canonical_url(web_url)
    except URLError:
        return web_url


def _records(
    page: list[RepoData], base_url: str, endpoint: str
) -> tuple[list[RepositoryRecord], list[dict[str, str]]]:
    """Records for a page, and a failure for each repository the rules could not read."""
    records: list[RepositoryRecord] = []
    failures: list[dict[str, str]] = []
    for repo in page:
        url = _identity_url(base_url, endpoint, repo.web_url)
        try:
            records.append(to_record(repo, url=url))
        except CommunsError as problem:
            failures.append({"repository": url, "reason": problem.message})
    return records, failures


def _add(summary: CrawlSummary, outcome: PageOutcome) -> None:
    summary.added += len(outcome.added)
    summary.changed += len(outcome.changed)
    summary.unchanged += len(outcome.unchanged)
    summary.failures.extend(outcome.failures)
