"""Checking a page of a peer's feed before anything of it is stored.

:func:`check_page` verifies the page: positions strictly increasing after the cursor
asked for; every entry the peer originated signed by the peer's key, with ``seq``
equal to its position (so an old entry replayed at a new position is caught); every
relayed entry signed by its origin's key when this instance trusts that origin. One
bad signature, one malformed entry or one replay rejects the whole page
(:class:`FeedRejectedError`). A relayed entry from an origin this instance does not
trust is refused, or kept marked unverified when the relay policy says
``unverified``; one that the peer signed itself while claiming another origin is a
forgery and rejects the page. Entries this instance originated, relayed back to it,
are ignored: nothing is echoed.

It is a pure function of its arguments (no database), so a worker process can run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.errors import CommunsError
from registry.federation import PROTOCOL_VERSION
from registry.federation.feed import FEDERATED
from registry.federation.identity import Verifier

RELAY_POLICIES = ("refuse", "unverified")


class FederationError(CommunsError):
    """A peer answered wrongly or not at all."""

    status = 502
    title = "Peer error"


class FeedRejectedError(FederationError):
    """A feed page that is not genuine (bad signature, replay, malformed): refused whole."""


@dataclass(frozen=True)
class TrustContext:
    """Who this instance is, which peer is being pulled and which keys it trusts.

    ``keys`` maps instance URLs to the public keys trusted here (the pulled peer's
    included). ``relay_policy`` decides what happens to a relayed entry from an origin
    not in ``keys``: ``refuse`` (not stored) or ``unverified`` (stored, marked so).
    """

    self_url: str
    peer_url: str
    peer_key: str
    keys: Mapping[str, str]
    relay_policy: str = "refuse"


@dataclass
class Checked:
    position: int
    payload: dict[str, Any]
    envelope: dict[str, Any]
    verified: bool


@dataclass
class BatchReport:
    """What a page (or a whole pull) did; the counts add up to ``received``."""

    received: int = 0
    applied: int = 0
    duplicates: int = 0
    echoes: int = 0
    unverified: int = 0
    refused: list[str] = field(default_factory=list)

    def add(self, other: BatchReport) -> None:
        self.received += other.received
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.echoes += other.echoes
        self.unverified += other.unverified
        self.refused.extend(other.refused)


def _payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "payload is not an object"
    if payload.get("protocol") != PROTOCOL_VERSION:
        return f"unsupported protocol {payload.get('protocol')!r}"
    origin, seq = payload.get("origin"), payload.get("seq")
    if not isinstance(origin, str) or not origin.startswith(("http://", "https://")):
        return "origin is not an instance URL"
    if not isinstance(seq, int) or isinstance(seq, bool) or seq <= 0:
        return "seq is not a positive integer"
    if payload.get("entity") not in FEDERATED:
        return f"unknown entity {payload.get('entity')!r}"
    ident = payload.get("id")
    if not isinstance(ident, str) or not ident or len(ident) > 100:
        return "id is not a record id"
    if not isinstance(payload.get("action"), str) or len(payload["action"]) > 20:
        return "action is not a short string"
    if not isinstance(payload.get("data"), dict):
        return "data is not an object"
    if not isinstance(payload.get("tombstone"), bool):
        return "tombstone is not a boolean"
    return None


def check_page(
    page: Any, after: int, trust: TrustContext, verifier: Verifier | None = None
) -> tuple[list[Checked], BatchReport, int]:
    """Verify a feed page; return the entries to apply, a report and the next cursor.

    Raises :class:`FeedRejectedError` when anything in the page is not genuine.
    """
    verifier = verifier or Verifier()
    report = BatchReport()
    if not isinstance(page, dict) or not isinstance(page.get("entries"), list):
        raise FeedRejectedError(f"{trust.peer_url}: the feed page is not a feed object")
    next_cursor = page.get("next")
    if not isinstance(next_cursor, int) or isinstance(next_cursor, bool) or next_cursor < after:
        raise FeedRejectedError(
            f"{trust.peer_url}: the feed's next cursor {next_cursor!r} goes back"
        )
    checked: list[Checked] = []
    last = after
    for item in page["entries"]:
        report.received += 1
        if not isinstance(item, dict):
            raise FeedRejectedError(f"{trust.peer_url}: a feed item is not an object")
        position, envelope = item.get("position"), item.get("entry")
        if not isinstance(position, int) or isinstance(position, bool) or position <= last:
            raise FeedRejectedError(
                f"{trust.peer_url}: position {position!r} is not after {last} (replayed entry?)"
            )
        last = position
        payload = envelope.get("payload") if isinstance(envelope, dict) else None
        problem = _payload_problem(payload)
        if problem:
            raise FeedRejectedError(f"{trust.peer_url}: entry at position {position}: {problem}")
        assert isinstance(envelope, dict) and isinstance(payload, dict)
        origin = payload["origin"].rstrip("/")
        if origin == trust.self_url:
            report.echoes += 1
            continue
        if origin == trust.peer_url:
            if payload["seq"] != position:
                raise FeedRejectedError(
                    f"{trust.peer_url}: entry at position {position} has seq {payload['seq']} "
                    "(an old entry replayed)"
                )
            if not verifier.verify(envelope, trust.peer_key):
                raise FeedRejectedError(
                    f"{trust.peer_url}: bad signature on entry at position {position}"
                )
            checked.append(Checked(position, payload, envelope, True))
            continue
        key = trust.keys.get(origin)
        if key is not None:
            if not verifier.verify(envelope, key):
                raise FeedRejectedError(
                    f"{trust.peer_url}: entry at position {position} claims origin {origin} "
                    "but is not signed by its key"
                )
            checked.append(Checked(position, payload, envelope, True))
        elif verifier.verify(envelope, trust.peer_key):
            raise FeedRejectedError(
                f"{trust.peer_url}: entry at position {position} is signed by the peer "
                f"itself but claims origin {origin}"
            )
        elif trust.relay_policy == "unverified":
            report.unverified += 1
            checked.append(Checked(position, payload, envelope, False))
        else:
            report.refused.append(
                f"position {position}: origin {origin} is not trusted here; entry refused"
            )
    if last > next_cursor:
        raise FeedRejectedError(
            f"{trust.peer_url}: next cursor {next_cursor} is before its entries"
        )
    return checked, report, next_cursor
