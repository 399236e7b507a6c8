"""Checking and applying a page of a peer's feed, with provenance and authority.

Two steps, so that nothing is written before everything is known to be genuine:

1. :func:`check_page` verifies the page: positions strictly increasing after the cursor
   asked for; every entry the peer originated signed by the peer's key, with ``seq``
   equal to its position (so an old entry replayed at a new position is caught);
   every relayed entry signed by its origin's key when this instance trusts that
   origin. One bad signature, one malformed entry or one replay rejects the whole page
   (:class:`FeedRejectedError`) and nothing of it is stored. A relayed entry from an
   origin this instance does not trust is refused (not stored), or kept marked
   unverified when the relay policy says ``unverified``. Entries this instance
   originated, relayed back to it, are ignored: nothing is echoed.

2. :func:`apply_entries` stores the checked entries, in the caller's transaction.
   Authority: an entry only ever changes rows that its own origin created here (the
   mapping's ``owner``); it never overwrites this instance's rows or another origin's.
   The same software reached from two instances is one project (canonical repository
   URL), carrying each instance's declarations with their origin. An entry whose
   sequence number is not above the last applied for its record is a duplicate (the
   same entry reached by two paths, or a retried pull) and changes nothing.

Every applied entry is recorded in the change log with its origin and the envelope as
received, which is what this instance relays to its own peers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import JSON, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from registry.errors import CommunsError, URLError
from registry.federation import PROTOCOL_VERSION
from registry.federation.feed import FEDERATED, REFERENCES
from registry.federation.identity import Verifier
from registry.federation.tables import FederationEntity, bind
from registry.tables import (
    ChangeLog,
    ForgeAccount,
    Project,
    Publisher,
    Repository,
    ReuseDeclaration,
)
from registry.urls import canonical_url

log = logging.getLogger("communs.federation")

RELAY_POLICIES = ("refuse", "unverified")
_TABLES: dict[str, type[Table]] = {
    "publisher": Publisher,
    "forge_account": ForgeAccount,
    "project": Project,
    "reuse_declaration": ReuseDeclaration,
}
#: Fields an entry may set, per entity (references are resolved separately).
_FIELDS: dict[str, tuple[str, ...]] = {
    "publisher": (
        "slug",
        "name",
        "kind",
        "country",
        "website",
        "ospo_url",
        "floss_policy_url",
        "description",
    ),
    "forge_account": ("forge_kind", "base_url", "owner", "include_subgroups", "ignored_since"),
    "project": (
        "slug",
        "name",
        "description",
        "landing_url",
        "categories",
        "platforms",
        "topics",
        "development_status",
        "license_expression",
        "latest_stable",
        "latest_published",
        "last_activity_at",
    ),
    "reuse_declaration": ("version", "since", "status", "service_url", "contact", "comment"),
}
_REQUIRED_REFS: dict[str, tuple[str, ...]] = {
    "forge_account": ("publisher",),
    "reuse_declaration": ("publisher", "project"),
}
_CHUNK = 400


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


# Applying -------------------------------------------------------------------------------


@dataclass
class _Map:
    local_id: int | None
    owner: bool
    last_seq: int
    deleted: bool = False
    verified: bool = True
    row_id: int | None = None
    dirty: bool = False


Key = tuple[str, str, str]


def _coerce(table: type[Table], name: str, value: Any) -> tuple[bool, Any]:
    """A received value as the column stores it; (False, None) when it cannot be."""
    column = table._meta.get_column_by_name(name)
    try:
        if value is None:
            return (True, None) if column._meta.null else (False, None)
        if isinstance(column, Varchar):
            return True, str(value)[: column.length]
        if isinstance(column, Text):
            return True, str(value)[:100_000]
        if isinstance(column, Boolean):
            return isinstance(value, bool), value
        if isinstance(column, Integer | BigInt):
            return True, int(value)
        if isinstance(column, JSON):
            return isinstance(value, dict | list), value
        if isinstance(column, Timestamptz):
            parsed = dt.datetime.fromisoformat(str(value))
            return True, parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        if isinstance(column, Date):
            return True, dt.date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return False, None
    return False, None


class _Batch:
    """The state of one page being applied: mappings in memory, writes queued."""

    def __init__(self, trust: TrustContext, report: BatchReport) -> None:
        self.trust = trust
        self.report = report
        self.maps: dict[Key, _Map] = {}
        self.new_maps: list[tuple[Key, _Map]] = []
        self.log_rows: list[ChangeLog] = []
        self.own_ids: dict[str, set[int]] = {}

    async def load(self, entries: list[Checked]) -> None:
        keys: set[Key] = set()
        own: dict[str, set[int]] = {"publisher": set(), "project": set()}
        for item in entries:
            p = item.payload
            keys.add((p["origin"].rstrip("/"), p["entity"], p["id"]))
            for name, target in REFERENCES.get(p["entity"], {}).items():
                ref = p["data"].get(name)
                if isinstance(ref, dict) and isinstance(ref.get("origin"), str):
                    ref_origin = ref["origin"].rstrip("/")
                    if ref_origin == self.trust.self_url:
                        if str(ref.get("id", "")).isdigit():
                            own[target].add(int(ref["id"]))
                    else:
                        keys.add((ref_origin, target, str(ref.get("id", ""))))
        origins = sorted({k[0] for k in keys})
        ids = sorted({k[2] for k in keys})
        for start in range(0, len(ids), _CHUNK):
            rows = (
                await FederationEntity.select()
                .where(FederationEntity.origin.is_in(origins))
                .where(FederationEntity.origin_id.is_in(ids[start : start + _CHUNK]))
            )
            for row in rows:
                key = (row["origin"], row["entity"], row["origin_id"])
                if key in keys:
                    self.maps[key] = _Map(
                        local_id=row["local_id"],
                        owner=bool(row["owner"]),
                        last_seq=int(row["last_seq"]),
                        deleted=bool(row["deleted"]),
                        verified=bool(row["verified"]),
                        row_id=int(row["id"]),
                    )
        for entity, wanted in own.items():
            table = _TABLES[entity]
            found: set[int] = set()
            if wanted:
                rows = await table.select(table._meta.primary_key).where(
                    table._meta.primary_key.is_in(sorted(wanted))
                )
                found = {int(r["id"]) for r in rows}
            self.own_ids[entity] = found

    def resolve(self, entity: str, ref: Any) -> int | None:
        if not isinstance(ref, dict) or not isinstance(ref.get("origin"), str):
            return None
        origin, ident = ref["origin"].rstrip("/"), str(ref.get("id", ""))
        if origin == self.trust.self_url:
            local = int(ident) if ident.isdigit() else None
            return local if local in self.own_ids.get(entity, set()) else None
        mapped = self.maps.get((origin, entity, ident))
        if mapped is None or mapped.deleted:
            return None
        return mapped.local_id

    async def apply(self, item: Checked) -> None:
        p = item.payload
        origin = p["origin"].rstrip("/")
        entity, ident, seq = p["entity"], p["id"], p["seq"]
        key: Key = (origin, entity, ident)
        mapped = self.maps.get(key)
        if mapped is not None and mapped.last_seq >= seq:
            if item.verified and not mapped.verified and mapped.last_seq == seq:
                mapped.verified = True  # the same entry, now from a trusted origin
                mapped.dirty = mapped.row_id is not None
            self.report.duplicates += 1
            return
        table = _TABLES[entity]
        values: dict[str, Any] = {}
        for name in _FIELDS[entity]:
            if name in p["data"]:
                ok, value = _coerce(table, name, p["data"][name])
                if ok:
                    values[name] = value
        for name, target in REFERENCES.get(entity, {}).items():
            if name in p["data"]:
                values[name] = self.resolve(target, p["data"][name])
        for name in _REQUIRED_REFS.get(entity, ()):
            if not p["tombstone"] and values.get(name) is None and mapped is None:
                self.report.refused.append(
                    f"{origin} {entity} {ident} (seq {seq}): its {name} is unknown here"
                )
                return
        if p["action"] == "withdraw":
            values["status"] = "withdrawn"
        handler = getattr(self, f"_apply_{entity}")
        if mapped is None:
            if p["tombstone"]:
                mapped = _Map(local_id=None, owner=False, last_seq=seq, deleted=True)
            else:
                created = await handler(origin, ident, values, p["data"])
                if created is None:
                    return
                local_id, owner = created
                mapped = _Map(local_id=local_id, owner=owner, last_seq=seq)
            mapped.verified = item.verified
            self.maps[key] = mapped
            self.new_maps.append((key, mapped))
        else:
            if mapped.owner and mapped.local_id is not None and not mapped.deleted:
                if p["tombstone"]:
                    mapped.deleted = await self._remove(entity, mapped.local_id)
                else:
                    await self._update(entity, mapped.local_id, values, p["data"])
            mapped.last_seq = seq
            mapped.verified = item.verified
            mapped.dirty = mapped.row_id is not None
        self.report.applied += 1
        self.log_rows.append(
            ChangeLog(
                entity=entity,
                entity_id=mapped.local_id or 0,
                action=p["action"],
                origin=origin,
                actor=self.trust.peer_url,
                data={"federation": item.envelope, "verified": item.verified},
            )
        )

    # -- per entity ------------------------------------------------------------------------

    async def _insert(self, table: type[Table], values: dict[str, Any]) -> int | None:
        rows = (
            await table.insert(table(**values))
            .on_conflict(action="DO NOTHING")
            .returning(table._meta.primary_key)
        )
        return int(rows[0]["id"]) if rows else None

    async def _apply_publisher(
        self, origin: str, ident: str, values: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, bool] | None:
        slug = values.get("slug") or f"{origin.split('://', 1)[-1]}-{ident}"
        values = {**values, "slug": slug, "name": values.get("name") or slug}
        created = await self._insert(Publisher, {**values, "origin": origin, "origin_id": ident})
        if created is not None:
            return created, True
        existing = await Publisher.select(Publisher.id).where(Publisher.slug == slug).first()
        return (int(existing["id"]), False) if existing else None

    async def _apply_forge_account(
        self, origin: str, ident: str, values: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, bool] | None:
        if not values.get("base_url") or not values.get("forge_kind"):
            self.report.refused.append(f"{origin} forge_account {ident}: no forge or base URL")
            return None
        created = await self._insert(ForgeAccount, values)
        if created is not None:
            return created, True
        existing = (
            await ForgeAccount.select(ForgeAccount.id)
            .where(ForgeAccount.base_url == values["base_url"])
            .where(ForgeAccount.owner == values.get("owner", ""))
            .first()
        )
        return (int(existing["id"]), False) if existing else None

    async def _apply_project(
        self, origin: str, ident: str, values: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, bool] | None:
        urls = _canonical_urls(data.get("repositories"))
        known = await self._repositories(urls)
        for row in known.values():
            if row["project"] is not None:
                await self._attach(urls, known, int(row["project"]))
                return int(row["project"]), False
        slug = values.get("slug") or f"{origin.split('://', 1)[-1]}-{ident}"
        values = {
            **values,
            "name": values.get("name") or slug,
            "origin": origin,
            "origin_id": ident,
        }
        created = await self._insert(Project, {**values, "slug": slug})
        if created is None:
            suffix = origin.split("://", 1)[-1].replace("/", "-").replace(":", "-")
            created = await self._insert(Project, {**values, "slug": f"{slug}--{suffix}"})
        if created is None:
            self.report.refused.append(f"{origin} project {ident}: slug {slug!r} is taken")
            return None
        await self._attach(urls, known, created)
        return created, True

    async def _apply_reuse_declaration(
        self, origin: str, ident: str, values: dict[str, Any], data: dict[str, Any]
    ) -> tuple[int, bool] | None:
        created = await self._insert(
            ReuseDeclaration, {**values, "origin": origin, "origin_id": ident}
        )
        if created is not None:
            return created, True
        existing = (
            await ReuseDeclaration.select(ReuseDeclaration.id)
            .where(ReuseDeclaration.publisher == values["publisher"])
            .where(ReuseDeclaration.project == values["project"])
            .first()
        )
        return (int(existing["id"]), False) if existing else None

    async def _repositories(self, urls: list[str]) -> dict[str, dict[str, Any]]:
        if not urls:
            return {}
        rows = await Repository.select(Repository.id, Repository.url, Repository.project).where(
            Repository.url.is_in(urls)
        )
        return {row["url"]: row for row in rows}

    async def _attach(
        self, urls: list[str], known: dict[str, dict[str, Any]], project: int
    ) -> None:
        """Link the project's repositories: create the unknown ones, adopt orphans."""
        for url in urls:
            row = known.get(url)
            if row is None:
                name = url.rstrip("/").rsplit("/", 1)[-1]
                await Repository.insert(
                    Repository(url=url, project=project, name=name, full_name=name)
                ).on_conflict(action="DO NOTHING")
            elif row["project"] is None:
                await Repository.update({Repository.project: project}).where(
                    Repository.id == row["id"]
                )

    async def _update(
        self, entity: str, local_id: int, values: dict[str, Any], data: dict[str, Any]
    ) -> None:
        table = _TABLES[entity]
        values = {k: v for k, v in values.items() if k != "slug"}
        for name in _REQUIRED_REFS.get(entity, ()):
            if values.get(name, 0) is None:
                values.pop(name)
        if "updated_at" in {c._meta.name for c in table._meta.columns}:
            values["updated_at"] = dt.datetime.now(dt.UTC)
        if values:
            await table.update(values).where(table._meta.primary_key == local_id)  # type: ignore[arg-type]
        if entity == "project" and "repositories" in data:
            urls = _canonical_urls(data.get("repositories"))
            await self._attach(urls, await self._repositories(urls), local_id)

    async def _remove(self, entity: str, local_id: int) -> bool:
        """Apply a tombstone to a row this origin created. Declarations are withdrawn,
        never deleted; a publisher or project still referenced here is kept."""
        if entity == "reuse_declaration":
            await ReuseDeclaration.update(
                {
                    ReuseDeclaration.status: "withdrawn",
                    ReuseDeclaration.updated_at: dt.datetime.now(dt.UTC),
                }
            ).where(ReuseDeclaration.id == local_id)
            return False
        if entity == "publisher":
            if await ReuseDeclaration.exists().where(ReuseDeclaration.publisher == local_id):
                return False
            if await Project.exists().where(Project.publisher == local_id):
                return False
            await Publisher.delete().where(Publisher.id == local_id)
            return True
        if entity == "project":
            if await ReuseDeclaration.exists().where(ReuseDeclaration.project == local_id):
                return False
            await Project.delete().where(Project.id == local_id)
            return True
        await ForgeAccount.delete().where(ForgeAccount.id == local_id)
        return True

    async def flush(self) -> None:
        rows = [
            FederationEntity(
                origin=key[0],
                entity=key[1],
                origin_id=key[2],
                local_id=m.local_id,
                owner=m.owner,
                last_seq=m.last_seq,
                deleted=m.deleted,
                verified=m.verified,
                received_from=self.trust.peer_url,
            )
            for key, m in self.new_maps
        ]
        for start in range(0, len(rows), _CHUNK // 4):
            await FederationEntity.insert(*rows[start : start + _CHUNK // 4])
        for m in self.maps.values():
            if m.dirty and m.row_id is not None:
                await FederationEntity.update(
                    {
                        FederationEntity.last_seq: m.last_seq,
                        FederationEntity.deleted: m.deleted,
                        FederationEntity.verified: m.verified,
                        FederationEntity.received_from: self.trust.peer_url,
                    }
                ).where(FederationEntity.id == m.row_id)
        for start in range(0, len(self.log_rows), _CHUNK // 2):
            await ChangeLog.insert(*self.log_rows[start : start + _CHUNK // 2])


def _canonical_urls(value: Any) -> list[str]:
    urls: list[str] = []
    if isinstance(value, list):
        for raw in value[:100]:
            if not isinstance(raw, str):
                continue
            try:
                url = canonical_url(raw)
            except URLError:
                continue
            if url not in urls:
                urls.append(url)
    return urls


async def apply_entries(entries: list[Checked], trust: TrustContext, report: BatchReport) -> None:
    """Store checked entries, in order, inside the caller's transaction."""
    bind()
    batch = _Batch(trust, report)
    await batch.load(entries)
    for item in entries:
        await batch.apply(item)
    await batch.flush()
    for reason in report.refused:
        log.warning("federation pull of %s: %s", trust.peer_url, reason)
