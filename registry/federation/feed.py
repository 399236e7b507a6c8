"""The federation feed: the change log as signed entries, in commit order.

A page of the feed answers ``after`` (a change log id, ``0`` for the beginning) and
``limit``::

    {"protocol": 1, "instance": "https://a.example", "after": 0, "next": 812, "more": true,
     "entries": [{"position": 17, "entry": {"payload": {...}, "signature": "..."}}, ...]}

``position`` is this instance's change log id; ``next`` is the cursor to ask for next
(the last change log id the page scanned), so no change is ever missed or repeated. The
change log's ids are its commit order on both engines (see the 03:30 migration).

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
from collections import defaultdict
from typing import Any

from registry.federation import PROTOCOL_VERSION
from registry.federation.identity import Identity
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
DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


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
        rows = (
            await FederationEntity.select(
                FederationEntity.local_id, FederationEntity.origin, FederationEntity.origin_id
            )
            .where(FederationEntity.entity == entity)
            .where(FederationEntity.local_id.is_in(sorted(ids)))
            .where(FederationEntity.owner.eq(True))
        )
        for row in rows:
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
        rows = (
            await Repository.select(Repository.project, Repository.url)
            .where(Repository.project.is_in(sorted(project_ids)))
            .order_by(Repository.url)
        )
        for row in rows:
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
    for row in rows:
        data = row["data"] if isinstance(row["data"], dict) else {}
        if row["origin"]:
            relayed = data.get("federation")
            if isinstance(relayed, dict):
                entries.append({"position": row["id"], "entry": relayed})
            continue
        entries.append(
            {
                "position": row["id"],
                "entry": identity.sign(_payload(identity.url, row, data, refs, repositories)),
            }
        )
    next_cursor = int(rows[-1]["id"]) if rows else after
    return {
        "protocol": PROTOCOL_VERSION,
        "instance": identity.url,
        "after": after,
        "next": next_cursor,
        "more": len(rows) == limit,
        "entries": entries,
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
