"""The federation feed: the change log as signed entries, in commit order.

A page of the feed answers ``after`` (a change log id, ``0`` for the beginning) and
``limit``::

    {"protocol": 1, "instance": "https://a.example", "after": 0, "next": 812, "more": true,
     "entries": [{"position": 17, "entry": {"payload": {...}, "signature": "..."}}, ...]}

``position`` is this instance's change log id; ``next`` is the cursor to ask for next
(the last change log id the page scanned), so no change is ever missed or repeated. The
change log's ids are its commit order on both engines (see the 03:30 migration).

The page itself is signed (``"signature"``) by this instance over
:func:`page_message`: the protocol, this instance's URL, ``after``, ``next``, ``more``
and, for every entry in order, its position and the SHA-256 of its envelope's
canonical JSON. A puller checks that one signature instead of one per entry it gets
from this instance (an Ed25519 check costs 0.1-0.3 ms here, a digest 1 µs), and
nothing in the page (an entry, a position, the cursor) can change without breaking
it. Each entry keeps its own signature for relaying: a third instance checks it with
the origin's key.

What a page carries:

* the changes this instance **originated** (change log rows with an empty ``origin``)
  to the federated entities (:data:`FEDERATED`), signed now by this instance; their
  payload's ``seq`` is their position;
* the changes it **relays**: entries of other origins it applied from its peers, as it
  received them, with their origin's signature (it cannot sign for anyone else).

A payload is ``{"protocol", "origin", "seq", "entity", "id", "action", "at", "data",
"tombstone"}``. ``id`` is the origin's record id; references to other entries in
``data`` (a declaration's publisher and project...) are ``{"origin": URL, "id": "7"}``
pairs, which stay true on every instance. A deletion is a tombstone (``"tombstone":
true`` and empty data). A project's payload lists the canonical URLs of its
repositories (``data["repositories"]``), read when the page is served: that is how two
instances recognise the same software.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from registry.federation import PROTOCOL_VERSION
from registry.federation.bulk import select_in
from registry.federation.identity import Identity, canonical_json
from registry.federation.tables import FederationEntity, bind
from registry.tables import ChangeLog, Repository

#: The entities whose changes travel between instances.
FEDERATED: tuple[str, ...] = ("publisher", "forge_account", "project", "reuse_declaration")
#: Foreign keys in change data, per entity: field -> referenced entity.
REFERENCES: dict[str, dict[str, str]] = {
    "forge_account": {"publisher": "publisher"},
    "project": {"publisher": "publisher", "based_on": "project", "parent": "project"},
    "reuse_declaration": {"publisher": "publisher", "project": "project"},
}
#: Fields that never leave the instance (people, crawl bookkeeping).
PRIVATE_FIELDS = frozenset(
    {"declared_by", "actor", "crawl_state", "last_crawled_at", "requested_by", "changed_by"}
)
TOMBSTONE_ACTIONS = frozenset({"delete"})
DEFAULT_LIMIT = 1000
MAX_LIMIT = 2000
#: Starts every signed page message; no canonical JSON (an entry's signed form) does.
PAGE_PREFIX = b"communs-feed-page\n"
#: Positions are signed as 8 bytes, so they stay below this.
POSITION_LIMIT = 2**63


def entry_digest(envelope_bytes: bytes) -> bytes:
    """SHA-256 of an envelope's canonical JSON, as a page signature covers it."""
    return hashlib.sha256(envelope_bytes).digest()


def page_message(
    instance: str, after: int, next_cursor: int, more: bool, digests: Iterable[tuple[int, bytes]]
) -> bytes:
    """The bytes a page signature covers: a prefix, the page's header as canonical JSON
    (no raw newline in it), a newline, then each entry's position (8 bytes, big-endian)
    and envelope digest (32 bytes), in the page's order."""
    header = canonical_json(
        {
            "protocol": PROTOCOL_VERSION,
            "instance": instance,
            "after": after,
            "next": next_cursor,
            "more": more,
        }
    )
    parts = [PAGE_PREFIX, header, b"\n"]
    for position, digest in digests:
        parts.append(position.to_bytes(8, "big"))
        parts.append(digest)
    return b"".join(parts)


def _iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return str(value or "")


async def _local_refs(
    wanted: dict[str, set[int]], self_url: str
) -> dict[tuple[str, int], dict[str, str]]:
    """``(entity, local id) -> {"origin", "id"}``: mirrored rows keep their origin's
    identity, everything else is this instance's."""
    found: dict[tuple[str, int], dict[str, str]] = {}
    for entity, ids in wanted.items():
        if not ids:
            continue
        rows = await select_in(
            FederationEntity,
            ("local_id", "origin", "origin_id", "owner"),
            {"entity": entity},
            "local_id",
            sorted(ids),
        )
        for row in rows:
            if row["owner"]:
                found[(entity, int(row["local_id"]))] = {
                    "origin": row["origin"],
                    "id": row["origin_id"],
                }
        for local in ids:
            found.setdefault((entity, local), {"origin": self_url, "id": str(local)})
    return found


async def _repositories(project_ids: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if project_ids:
        rows = await select_in(Repository, ("project", "url"), {}, "project", sorted(project_ids))
        for row in sorted(rows, key=lambda row: row["url"]):
            out[int(row["project"])].append(row["url"])
    return out


async def feed_page(
    identity: Identity, after: int = 0, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """One page of the feed after change log id ``after`` (at most ``limit`` entries).

    Reads one snapshot of the change log; safe under concurrent writes, since a change
    log id is visible only once every smaller id is.
    """
    bind()
    limit = max(1, min(int(limit), MAX_LIMIT))
    after = max(0, int(after))
    rows = (
        await ChangeLog.select(
            ChangeLog.id,
            ChangeLog.at,
            ChangeLog.entity,
            ChangeLog.entity_id,
            ChangeLog.action,
            ChangeLog.origin,
            ChangeLog.data,
        )
        .where(ChangeLog.id > after)
        .where(ChangeLog.entity.is_in(list(FEDERATED)))
        .order_by(ChangeLog.id)
        .limit(limit)
        .output(load_json=True)
    )
    wanted: dict[str, set[int]] = defaultdict(set)
    projects: set[int] = set()
    for row in rows:
        if row["origin"]:
            continue
        data = row["data"] if isinstance(row["data"], dict) else {}
        for name, target in REFERENCES.get(row["entity"], {}).items():
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                wanted[target].add(value)
        if row["entity"] == "project" and row["action"] not in TOMBSTONE_ACTIONS:
            projects.add(int(row["entity_id"]))
    refs = await _local_refs(wanted, identity.url)
    repositories = await _repositories(projects)

    entries: list[dict[str, Any]] = []
    digests: list[tuple[int, bytes]] = []
    for row in rows:
        position = int(row["id"])
        data = row["data"] if isinstance(row["data"], dict) else {}
        if row["origin"]:
            relayed = data.get("federation")
            if not isinstance(relayed, dict):
                continue
            try:
                relayed_bytes = canonical_json(relayed)
            except ValueError:  # cannot be signed over, so cannot be served
                continue
            entries.append({"position": position, "entry": relayed})
            digests.append((position, entry_digest(relayed_bytes)))
            continue
        envelope, signed = identity.sign_with_bytes(
            _payload(identity.url, row, data, refs, repositories)
        )
        entries.append({"position": position, "entry": envelope})
        digests.append((position, entry_digest(signed)))
    next_cursor = int(rows[-1]["id"]) if rows else after
    more = len(rows) == limit
    return {
        "protocol": PROTOCOL_VERSION,
        "instance": identity.url,
        "after": after,
        "next": next_cursor,
        "more": more,
        "entries": entries,
        "signature": identity.sign_bytes(
            page_message(identity.url, after, next_cursor, more, digests)
        ),
    }


def _payload(
    self_url: str,
    row: dict[str, Any],
    data: dict[str, Any],
    refs: dict[tuple[str, int], dict[str, str]],
    repositories: dict[int, list[str]],
) -> dict[str, Any]:
    entity = row["entity"]
    tombstone = row["action"] in TOMBSTONE_ACTIONS
    out: dict[str, Any] = {}
    if not tombstone:
        references = REFERENCES.get(entity, {})
        for name, value in data.items():
            if name in PRIVATE_FIELDS or name == "id":
                continue
            if name in references:
                if isinstance(value, int) and not isinstance(value, bool):
                    out[name] = refs[(references[name], value)]
                elif value is None:
                    out[name] = None
                continue
            if isinstance(value, float) and value != value:  # NaN cannot be signed
                continue
            out[name] = value
        if entity == "project":
            out["repositories"] = repositories.get(int(row["entity_id"]), [])
    return {
        "protocol": PROTOCOL_VERSION,
        "origin": self_url,
        "seq": int(row["id"]),
        "entity": entity,
        "id": str(row["entity_id"]),
        "action": row["action"],
        "at": _iso(row["at"]),
        "data": out,
        "tombstone": tombstone,
    }
