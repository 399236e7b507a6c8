"""Checking a page of a peer's feed before anything of it is stored.

:func:`check_page` verifies the page: positions strictly increasing after the cursor
asked for; the page signed by the peer's key over
:func:`~registry.federation.feed.page_message` (the cursor asked for, ``next``,
``more``, and every entry's position and envelope digest), which vouches for every
entry the peer originated, each with ``seq`` equal to its position (so an old entry
replayed at a new position is caught); every relayed entry signed by its origin's key
when this instance trusts that origin. One bad signature, one malformed entry or one
replay rejects the whole page (:class:`FeedRejectedError`). When the page signature
does not hold, the peer's entries are checked one by one to name the first one that
is not genuine.

A relayed entry from an origin this instance does not trust is refused, or kept
marked unverified when the relay policy says ``unverified``; one that the peer signed
itself while claiming another origin is a forgery and rejects the page. Entries this
instance originated, relayed back to it, are ignored: nothing is echoed.

Checking one page signature instead of one signature per entry is what makes a full
pull fast (an Ed25519 check costs 0.1-0.3 ms here, a digest about 1 µs); a few of the
peer's entries per page are still checked on their own signature, so that a peer
whose entry signatures are broken (they are what this instance relays) is noticed.

It is a pure function of its arguments (no database), so a worker process can run it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.errors import CommunsError
from registry.federation import PROTOCOL_VERSION
from registry.federation.feed import FEDERATED, POSITION_LIMIT, entry_digest, page_message
from registry.federation.identity import Verifier, canonical_json

RELAY_POLICIES = ("refuse", "unverified")
_SAMPLER = random.SystemRandom()
#: The peer's own entries per page checked on their own signature besides the page's.
SAMPLED_ENTRIES = 3


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
    #: the envelope's canonical JSON, as checked: stored as it is, never serialised again
    envelope_json: str = ""


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


def _is_position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < POSITION_LIMIT


def _is_cursor(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < POSITION_LIMIT


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
    next_cursor, more = page.get("next"), page.get("more", False)
    if not _is_cursor(next_cursor) or next_cursor < after:
        raise FeedRejectedError(
            f"{trust.peer_url}: the feed's next cursor {next_cursor!r} goes back"
        )
    if not isinstance(more, bool):
        raise FeedRejectedError(f"{trust.peer_url}: the feed's more flag is not a boolean")
    checked: list[Checked] = []
    digests: list[tuple[int, bytes]] = []
    own: list[Checked] = []  # the peer's entries, vouched for by the page signature
    last = after
    for item in page["entries"]:
        report.received += 1
        if not isinstance(item, dict):
            raise FeedRejectedError(f"{trust.peer_url}: a feed item is not an object")
        position, envelope = item.get("position"), item.get("entry")
        if not _is_position(position) or position <= last:
            raise FeedRejectedError(
                f"{trust.peer_url}: position {position!r} is not after {last} (replayed entry?)"
            )
        last = position
        payload = envelope.get("payload") if isinstance(envelope, dict) else None
        problem = _payload_problem(payload)
        if problem:
            raise FeedRejectedError(f"{trust.peer_url}: entry at position {position}: {problem}")
        assert isinstance(envelope, dict) and isinstance(payload, dict)
        try:
            envelope_bytes = canonical_json(envelope)
        except ValueError:  # NaN: no canonical form, so nothing signed it
            raise FeedRejectedError(
                f"{trust.peer_url}: bad signature on entry at position {position} "
                "(it has no canonical form)"
            ) from None
        digests.append((position, entry_digest(envelope_bytes)))
        envelope_json = envelope_bytes.decode("utf-8")
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
            if set(envelope) != {"payload", "signature"} or not isinstance(
                envelope["signature"], str
            ):
                raise FeedRejectedError(
                    f"{trust.peer_url}: bad signature on entry at position {position}"
                )
            entry = Checked(position, payload, envelope, True, envelope_json)
            own.append(entry)
            checked.append(entry)
            continue
        key = trust.keys.get(origin)
        if key is not None:
            if not verifier.verify(envelope, key):
                raise FeedRejectedError(
                    f"{trust.peer_url}: entry at position {position} claims origin {origin} "
                    "but is not signed by its key"
                )
            checked.append(Checked(position, payload, envelope, True, envelope_json))
        elif verifier.verify(envelope, trust.peer_key):
            raise FeedRejectedError(
                f"{trust.peer_url}: entry at position {position} is signed by the peer "
                f"itself but claims origin {origin}"
            )
        elif trust.relay_policy == "unverified":
            report.unverified += 1
            checked.append(Checked(position, payload, envelope, False, envelope_json))
        else:
            report.refused.append(
                f"position {position}: origin {origin} is not trusted here; entry refused"
            )
    if last > next_cursor:
        raise FeedRejectedError(
            f"{trust.peer_url}: next cursor {next_cursor} is before its entries"
        )
    message = page_message(trust.peer_url, after, next_cursor, more, digests)
    if not verifier.verify_bytes(message, page.get("signature"), trust.peer_key):
        for entry in own:  # name the entry that broke it, if one did
            _verify_own(entry, trust, verifier)
        raise FeedRejectedError(
            f"{trust.peer_url}: bad signature on the page after {after} "
            "(its cursor, flags or positions were changed, or it is not signed)"
        )
    for entry in _SAMPLER.sample(own, min(SAMPLED_ENTRIES, len(own))):
        _verify_own(entry, trust, verifier)
    return checked, report, next_cursor


def _verify_own(entry: Checked, trust: TrustContext, verifier: Verifier) -> None:
    if not verifier.verify(entry.envelope, trust.peer_key):
        raise FeedRejectedError(
            f"{trust.peer_url}: bad signature on entry at position {entry.position}"
        )
