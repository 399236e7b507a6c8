"""Pulling peers' federation feeds.

:func:`pull_peer` reads a peer's feed page by page from the cursor stored on its
:class:`~registry.tables.Peer` row. Each page is fetched with the one HTTP client
(:class:`crawlers.http.ForgeClient`: timeouts, retries with backoff on 5xx and
connection errors, loopback refused unless allowed), verified whole
(:func:`registry.federation.apply.check_page`), then stored **and** the cursor advanced
in one transaction. A pull killed at any point therefore resumes from the last stored
page: nothing is lost, nothing applied twice.

A page that is not JSON or not a feed is fetched again with backoff (a peer restarting
or a proxy answering garbage), then the pull fails. A page that is not genuine (bad
signature, replay, an entry claiming an origin whose key says otherwise) is never
retried: the pull stops, nothing of that page is stored, and the reason is logged and
kept in the peer's ``last_error`` for the dashboard.

:func:`fetch_instance` reads ``/.well-known/communs``; :func:`add_peer` registers a peer
with the key it announces once an admin confirmed its fingerprint.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from crawlers.http import ForgeClient, ForgeHTTPError
from registry import db
from registry.errors import CommunsError, NotFoundError, PermissionDeniedError, ValidationError
from registry.federation import PROTOCOL_VERSION
from registry.federation.apply import apply_entries
from registry.federation.identity import (
    Verifier,
    decode_public_key,
    fingerprint,
    load_identity,
    normalise_instance_url,
)
from registry.federation.verify import (
    RELAY_POLICIES,
    BatchReport,
    Checked,
    FederationError,
    FeedRejectedError,
    TrustContext,
    check_page,
)
from registry.settings import Settings
from registry.tables import Peer

log = logging.getLogger("communs.federation")

DEFAULT_PAGE_SIZE = 1000
#: Attempts at a page that answers garbage (not JSON, not a feed) before giving up.
GARBAGE_ATTEMPTS = 3


#: Pages fetched and checked ahead of the one being stored.
PREFETCH_PAGES = 2


@dataclass
class _Fetched:
    """A page fetched and checked, waiting to be stored."""

    size: int
    checked: list[Checked]
    report: BatchReport
    next_cursor: int
    more: bool


class CursorMovedError(FederationError):
    """Another pull of the same peer stored this page first; this one stops."""


@dataclass
class PeerInfo:
    """What ``/.well-known/communs`` says about an instance."""

    url: str
    name: str
    public_key: str
    fingerprint: str
    protocol: int
    feed_url: str


@dataclass
class PullResult:
    """The outcome of one pull; ``error`` is empty when it went to the end of the feed."""

    peer: str
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    #: time spent waiting for pages, verifying them and storing them
    fetch_seconds: float = 0.0
    check_seconds: float = 0.0
    store_seconds: float = 0.0
    cursor: int = 0
    error: str = ""
    report: BatchReport = field(default_factory=BatchReport)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["report"]["refused"] = len(self.report.refused)
        return out


def relay_policy(settings: Settings) -> str:
    """What to do with relayed entries from untrusted origins: ``refuse`` (default) or
    ``unverified``, from the ``federation_relay_policy`` setting."""
    policy = settings.federation_relay_policy or "refuse"
    if policy not in RELAY_POLICIES:
        raise ValidationError(f"federation relay policy {policy!r}: use one of {RELAY_POLICIES}")
    return policy


def _client(settings: Settings, client: ForgeClient | None) -> tuple[ForgeClient, bool]:
    if client is not None:
        return client, False
    return ForgeClient(settings, backoff_s=0.5), True


async def fetch_instance(
    settings: Settings, url: str, *, client: ForgeClient | None = None
) -> PeerInfo:
    """Read and check an instance's ``/.well-known/communs``."""
    url = normalise_instance_url(url)
    http, owned = _client(settings, client)
    try:
        response = await http.request("GET", f"{url}/.well-known/communs", conditional=False)
    finally:
        if owned:
            await http.aclose()
    try:
        body = json.loads(response.content)
        info = PeerInfo(
            url=normalise_instance_url(str(body["url"])),
            name=str(body.get("name", "")),
            public_key=str(body["public_key"]),
            fingerprint=fingerprint(str(body["public_key"])),
            protocol=int(body["protocol"]),
            feed_url=str(body.get("feed_url", "")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise FederationError(
            f"{url}/.well-known/communs is not a Communs description: {error}"
        ) from None
    if info.url != url:
        raise FederationError(
            f"{url} describes itself as {info.url}: add it under the URL it announces"
        )
    if info.protocol != PROTOCOL_VERSION:
        raise FederationError(
            f"{url} speaks federation protocol {info.protocol}, not {PROTOCOL_VERSION}"
        )
    return info


async def add_peer(info: PeerInfo, *, trusted: bool = True) -> dict[str, Any]:
    """Register (or re-key, once confirmed) a peer from its checked description.

    The caller must have shown ``info.fingerprint`` to an admin and had it confirmed;
    a changed key for a known peer is stored only through this call too.
    """
    decode_public_key(info.public_key)
    async with db.transaction():
        existing = await Peer.select().where(Peer.url == info.url).first()
        if existing is None:
            await Peer.insert(
                Peer(
                    url=info.url,
                    name=info.name,
                    public_key=info.public_key,
                    fingerprint=info.fingerprint,
                    trusted=trusted,
                )
            )
        else:
            await Peer.update(
                {
                    Peer.name: info.name,
                    Peer.public_key: info.public_key,
                    Peer.fingerprint: info.fingerprint,
                    Peer.trusted: trusted,
                }
            ).where(Peer.url == info.url)
    row = await Peer.select().where(Peer.url == info.url).first()
    assert row is not None
    return row


async def _trust(settings: Settings, peer: dict[str, Any], self_url: str) -> TrustContext:
    rows = await Peer.select(Peer.url, Peer.public_key).where(Peer.trusted.eq(True))
    return TrustContext(
        self_url=self_url,
        peer_url=normalise_instance_url(peer["url"]),
        peer_key=peer["public_key"],
        keys={normalise_instance_url(r["url"]): r["public_key"] for r in rows},
        relay_policy=relay_policy(settings),
    )


async def _record_error(url: str, message: str) -> None:
    async with db.transaction():
        await Peer.update(
            {Peer.last_error: message[:2000], Peer.last_pull_at: dt.datetime.now(dt.UTC)}
        ).where(Peer.url == url)


async def _fetch_page(
    http: ForgeClient, url: str, after: int, limit: int, sleep: Callable[[float], Awaitable[None]]
) -> tuple[Any, int]:
    """A decoded feed page and its size in bytes; garbage is fetched again with backoff."""
    problem = ""
    for attempt in range(GARBAGE_ATTEMPTS):
        response = await http.request(
            "GET",
            f"{url}/federation/feed",
            params={"after": after, "limit": limit},
            conditional=False,
        )
        size = len(response.content)
        try:
            page = json.loads(response.content)
        except ValueError:
            page = None
        if isinstance(page, dict) and isinstance(page.get("entries"), list):
            return page, size
        problem = f"{url}/federation/feed?after={after}: the answer is not a feed ({size} bytes)"
        log.warning("%s (attempt %d of %d)", problem, attempt + 1, GARBAGE_ATTEMPTS)
        if attempt + 1 < GARBAGE_ATTEMPTS:
            await sleep(http.backoff_s * 2**attempt)
    raise FederationError(problem)


#: Pages with at least this many entries to check on their own signature (relayed from
#: other origins) are verified in a worker process; the peer's own entries are covered
#: by the page signature, which costs one check and a digest per entry.
PROCESS_CHECK_MIN_ENTRIES = 200


def _relayed(page: dict[str, Any], peer_url: str) -> int:
    """How many entries of ``page`` claim an origin other than the peer (each costs an
    Ed25519 check of ~0.1-0.3 ms here)."""
    count = 0
    for item in page.get("entries", ()):
        try:
            origin = item["entry"]["payload"]["origin"]
        except (KeyError, TypeError):
            continue
        if not isinstance(origin, str) or origin.rstrip("/") != peer_url:
            count += 1
    return count


class _Checker:
    """Verifies pages in-process, or in a worker process when a page holds enough
    relayed entries for their signatures to be worth running beside the database work."""

    def __init__(self, trust: TrustContext) -> None:
        self.trust = trust
        self.verifier = Verifier()
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None

    async def check(
        self, page: dict[str, Any], after: int
    ) -> tuple[list[Checked], BatchReport, int]:
        if _relayed(page, self.trust.peer_url) < PROCESS_CHECK_MIN_ENTRIES:
            return check_page(page, after, self.trust, self.verifier)
        if self.pool is None:
            self.pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, check_page, page, after, self.trust)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


async def _store_page(
    peer_id: int,
    cursor: str,
    next_cursor: int,
    checked: list[Any],
    trust: TrustContext,
    report: BatchReport,
) -> None:
    async with db.transaction():
        moved = (
            await Peer.update(
                {
                    Peer.cursor: str(next_cursor),
                    Peer.last_pull_at: dt.datetime.now(dt.UTC),
                    Peer.last_error: "",
                }
            )
            .where(Peer.id == peer_id)
            .where(Peer.cursor == cursor)
            .returning(Peer.id)
        )
        if not moved:
            raise CursorMovedError(f"{trust.peer_url}: another pull stored this page first")
        await apply_entries(checked, trust, report)


async def pull_peer(
    settings: Settings,
    url: str,
    *,
    client: ForgeClient | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    policy: str | None = None,
    from_start: bool = False,
) -> PullResult:
    """Pull a peer's feed from its stored cursor to the end (or ``max_pages`` pages).

    Never raises for a peer's fault: the result's ``error`` says what went wrong and the
    same text is kept on the peer's row. ``policy`` overrides the relay policy setting
    (see :func:`relay_policy`). ``from_start`` reads the feed again from the beginning
    (after trusting a new origin, say); what was applied already is not applied twice.
    Raises :class:`NotFoundError` for an unknown
    peer and :class:`PermissionDeniedError` for one that is not trusted.
    """
    url = normalise_instance_url(url)
    identity = load_identity(settings)
    peer = await Peer.select().where(Peer.url == url).first()
    if peer is None:
        raise NotFoundError(f"{url} is not a peer of this instance (communs peers add {url})")
    if not peer["trusted"]:
        raise PermissionDeniedError(f"{url} is not trusted here; it is not pulled")
    trust = await _trust(settings, peer, identity.url)
    if policy is not None:
        if policy not in RELAY_POLICIES:
            raise ValidationError(f"relay policy {policy!r}: use one of {RELAY_POLICIES}")
        trust = dataclasses.replace(trust, relay_policy=policy)
    if from_start:
        async with db.transaction():
            await Peer.update({Peer.cursor: ""}).where(Peer.id == peer["id"])
        peer["cursor"] = ""
    result = PullResult(peer=url)
    http, owned = _client(settings, client)
    started = time.monotonic()
    cursor = str(peer["cursor"] or "")
    checker = _Checker(trust)

    # Pages are fetched and checked ahead (the peer builds the next ones while this
    # process stores the current one), at most PREFETCH_PAGES of them; each is stored,
    # and the cursor advanced, in order and in its own transaction.
    ahead: asyncio.Queue[_Fetched | Exception] = asyncio.Queue(maxsize=PREFETCH_PAGES)

    async def fetch_ahead(after: int) -> None:
        fetched = 0
        try:
            while True:
                mark = time.monotonic()
                page, size = await _fetch_page(http, url, after, page_size, sleep or asyncio.sleep)
                result.fetch_seconds += time.monotonic() - mark
                mark = time.monotonic()
                checked, report, next_cursor = await checker.check(page, after)
                result.check_seconds += time.monotonic() - mark
                fetched += 1
                more = bool(page.get("more")) and next_cursor != after
                more = more and (max_pages is None or fetched < max_pages)
                await ahead.put(_Fetched(size, checked, report, next_cursor, more))
                if not more:
                    return
                after = next_cursor
        except Exception as error:  # raised again where the pages are stored
            await ahead.put(error)

    fetcher: asyncio.Task[None] | None = None
    try:
        fetcher = asyncio.create_task(fetch_ahead(int(cursor) if cursor.isdigit() else 0))
        while True:
            fetched = await ahead.get()
            if isinstance(fetched, Exception):
                raise fetched
            result.bytes += fetched.size
            result.pages += 1
            mark = time.monotonic()
            await _store_page(
                int(peer["id"]), cursor, fetched.next_cursor, fetched.checked, trust, fetched.report
            )
            result.store_seconds += time.monotonic() - mark
            result.report.add(fetched.report)
            cursor = str(fetched.next_cursor)
            if not fetched.more:
                break
    except FeedRejectedError as error:
        log.error("federation pull of %s rejected a page: %s", url, error.message)
        result.error = f"rejected: {error.message}"
    except (ForgeHTTPError, FederationError) as error:
        log.warning("federation pull of %s failed: %s", url, error.message)
        result.error = error.message
    except CommunsError as error:
        result.error = error.message
    finally:
        if fetcher is not None:
            fetcher.cancel()
            with contextlib.suppress(BaseException):
                await fetcher
        checker.close()
        if owned:
            await http.aclose()
    result.cursor = int(cursor) if cursor.isdigit() else 0
    result.seconds = time.monotonic() - started
    if result.error:
        await _record_error(url, result.error)
    return result


async def pull_all(settings: Settings, *, client: ForgeClient | None = None) -> list[PullResult]:
    """Pull every trusted peer once, one after the other (the scheduled task's body)."""
    rows = await Peer.select(Peer.url).where(Peer.trusted.eq(True)).order_by(Peer.id)
    return [await pull_peer(settings, row["url"], client=client) for row in rows]


def run_scheduled_pulls(settings: Settings) -> list[dict[str, Any]]:
    """Bind the catalogue, pull every trusted peer once, and return what each pull did:
    the whole body of the periodic Celery task (``crawlers/tasks.py`` wraps it)."""

    async def work() -> list[dict[str, Any]]:
        db.use_database(settings.effective_database_url)
        try:
            return [result.as_dict() for result in await pull_all(settings)]
        finally:
            await db.close()

    return asyncio.run(work())
