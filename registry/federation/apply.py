"""Applying a checked page of a peer's feed, with provenance and authority.

Pages are checked first (:mod:`registry.federation.verify`), so nothing is written
before everything in the page is known to be genuine. :func:`apply_entries` then stores
the checked entries, in the caller's transaction:

* Authority: an entry only ever changes rows that its own origin created here (the
  mapping's ``owner``); it never overwrites this instance's rows or another origin's.
* The same software reached from two instances is one project (canonical repository
  URL), carrying each instance's declarations with their origin; a publisher, forge
  account or declaration whose natural key is already taken is merged the same way.
* An entry whose sequence number is not above the last applied for its record is a
  duplicate (the same entry reached by two paths, or a retried pull) and changes
  nothing; so applying is idempotent and replays cannot roll a record back.

Every applied entry is recorded in the change log with its origin and the envelope as
received, which is what this instance relays to its own peers.

The names of :mod:`registry.federation.verify` are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import JSON, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from registry.errors import URLError
from registry.federation.bulk import bulk_insert, select_in
from registry.federation.feed import REFERENCES
from registry.federation.tables import FederationEntity, bind
from registry.federation.verify import (
    RELAY_POLICIES,
    BatchReport,
    Checked,
    FederationError,
    FeedRejectedError,
    TrustContext,
    check_page,
)
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

__all__ = [
    "RELAY_POLICIES",
    "BatchReport",
    "Checked",
    "FederationError",
    "FeedRejectedError",
    "TrustContext",
    "apply_entries",
    "check_page",
]
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
_MAP_COLUMNS = ("id", "origin_id", "local_id", "owner", "last_seq", "deleted", "verified")


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
    pending: bool = False
    refused: bool = False


Key = tuple[str, str, str]


Converter = Callable[[Any], tuple[bool, Any]]


def _converter(column: Any) -> Converter:
    """How a received value becomes what ``column`` stores; (False, None) when it cannot."""
    nullable = bool(column._meta.null)

    def convert(value: Any) -> tuple[bool, Any]:
        if value is None:
            return (True, None) if nullable else (False, None)
        try:
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

    if isinstance(column, Varchar):
        length = column.length

        def convert_text(value: Any) -> tuple[bool, Any]:
            if isinstance(value, str):
                return True, value[:length]
            return convert(value)

        return convert_text
    return convert


@functools.cache
def _converters(entity: str) -> dict[str, Converter]:
    table = _TABLES[entity]
    return {name: _converter(table._meta.get_column_by_name(name)) for name in _FIELDS[entity]}


_NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "publisher": ("slug",),
    "forge_account": ("base_url", "owner"),
    "project": ("slug",),
    "reuse_declaration": ("publisher", "project"),
    "repository": ("url",),
}
_ORDER = ("publisher", "forge_account", "project", "reuse_declaration")


@dataclass
class _Pending:
    key: Key
    values: dict[str, Any]
    data: dict[str, Any]
    mapped: _Map
    log_row: dict[str, Any]
    #: references to records queued for creation in this page, filled in when they are
    #: written (just before this one, since creations are written in reference order)
    deferred: dict[str, _Map] = field(default_factory=dict)


class _Batch:
    """The state of one page being applied: mappings in memory, writes queued.

    Creations are queued and written in bulk, per entity, in reference order
    (publishers before the declarations that name them). A creation that names a
    record queued in this page keeps the reference and gets its id when the queues are
    written, so a feed that interleaves publishers, projects and declarations (as
    people make them) is still written in a few statements; the queues are written
    early only when an entry changes a queued record or names one of its own kind.
    """

    def __init__(self, trust: TrustContext, report: BatchReport) -> None:
        self.trust = trust
        self.report = report
        self.maps: dict[Key, _Map] = {}
        self.new_maps: list[tuple[Key, _Map]] = []
        self.log_rows: list[dict[str, Any]] = []
        self.own_ids: dict[str, set[int]] = {}
        self.pending: dict[str, list[_Pending]] = {entity: [] for entity in _ORDER}
        self.now = dt.datetime.now(dt.UTC)

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
        wanted_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
        for origin, entity, ident in keys:
            wanted_ids[(origin, entity)].add(ident)
        for (origin, entity), idents in sorted(wanted_ids.items()):
            rows = await select_in(
                FederationEntity,
                _MAP_COLUMNS,
                {"origin": origin, "entity": entity},
                "origin_id",
                sorted(idents),
            )
            for row in rows:
                self.maps[(origin, entity, row["origin_id"])] = _Map(
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

    async def resolve(self, entity: str, ref: Any, creating: str = "") -> int | _Map | None:
        """The local id ``ref`` names, or None. For a record being created (of entity
        ``creating``), a reference to a record of an earlier entity that is still queued
        is returned as its mapping, resolved when the queues are written."""
        if not isinstance(ref, dict) or not isinstance(ref.get("origin"), str):
            return None
        origin, ident = ref["origin"].rstrip("/"), str(ref.get("id", ""))
        if origin == self.trust.self_url:
            local = int(ident) if ident.isdigit() else None
            return local if local in self.own_ids.get(entity, set()) else None
        mapped = self.maps.get((origin, entity, ident))
        if mapped is not None and mapped.pending:
            if creating and _ORDER.index(entity) < _ORDER.index(creating):
                return mapped
            await self.flush_creates()
        if mapped is None or mapped.deleted or mapped.refused:
            return None
        return mapped.local_id

    async def apply(self, item: Checked) -> None:
        p = item.payload
        origin = p["origin"].rstrip("/")
        entity, ident, seq = p["entity"], p["id"], p["seq"]
        key: Key = (origin, entity, ident)
        mapped = self.maps.get(key)
        if mapped is not None and mapped.pending:
            await self.flush_creates()
        if mapped is not None and mapped.refused:
            mapped = self.maps.get(key)
            if mapped is not None and mapped.refused:
                del self.maps[key]
                mapped = None
        if mapped is not None and mapped.last_seq >= seq:
            if item.verified and not mapped.verified and mapped.last_seq == seq:
                mapped.verified = True  # the same entry, now from a trusted origin
                mapped.dirty = mapped.row_id is not None
            self.report.duplicates += 1
            return
        values: dict[str, Any] = {}
        for name, convert in _converters(entity).items():
            if name in p["data"]:
                ok, value = convert(p["data"][name])
                if ok:
                    values[name] = value
        creating = entity if mapped is None and not p["tombstone"] else ""
        deferred: dict[str, _Map] = {}
        for name, target in REFERENCES.get(entity, {}).items():
            if name in p["data"]:
                resolved = await self.resolve(target, p["data"][name], creating)
                if isinstance(resolved, _Map):
                    deferred[name] = resolved
                else:
                    values[name] = resolved
        for name in _REQUIRED_REFS.get(entity, ()):
            if creating and values.get(name) is None and name not in deferred:
                self.report.refused.append(
                    f"{origin} {entity} {ident} (seq {seq}): its {name} is unknown here"
                )
                return
        if p["action"] == "withdraw":
            values["status"] = "withdrawn"
        log_row = {
            "entity": entity,
            "entity_id": 0,
            "action": p["action"],
            "origin": origin,
            "actor": self.trust.peer_url,
            "data": _log_data(item),
            "at": self.now,
        }
        if mapped is None:
            if p["tombstone"]:
                mapped = _Map(local_id=None, owner=False, last_seq=seq, deleted=True)
            else:
                mapped = _Map(local_id=None, owner=True, last_seq=seq, pending=True)
                self.pending[entity].append(
                    _Pending(key, values, p["data"], mapped, log_row, deferred)
                )
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
            log_row["entity_id"] = mapped.local_id or 0
        self.report.applied += 1
        self.log_rows.append(log_row)

    # -- creations, in bulk ----------------------------------------------------------------

    async def flush_creates(self) -> None:
        for entity in _ORDER:
            queued, self.pending[entity] = self.pending[entity], []
            if queued:
                await getattr(self, f"_create_{entity}s")(self._fill_deferred(entity, queued))
                for item in queued:
                    item.mapped.pending = False
                    if item.mapped.refused:
                        self.report.applied -= 1
                        item.log_row["refused"] = True
                    else:
                        item.log_row["entity_id"] = item.mapped.local_id or 0

    def _fill_deferred(self, entity: str, queued: list[_Pending]) -> list[_Pending]:
        """Put the ids of the records written before into the creations that name them;
        return the creations that can be written (a required one missing refuses it)."""
        ready: list[_Pending] = []
        for item in queued:
            for name, target in item.deferred.items():
                usable = not (target.pending or target.refused or target.deleted)
                item.values[name] = target.local_id if usable else None
            missing = [
                name
                for name in _REQUIRED_REFS.get(entity, ())
                if name in item.deferred and item.values.get(name) is None
            ]
            if missing:
                self._refuse(item, f"its {missing[0]} is unknown here")
            else:
                ready.append(item)
        return ready

    def _refuse(self, item: _Pending, reason: str) -> None:
        item.mapped.refused = True
        origin, entity, ident = item.key
        self.report.refused.append(f"{origin} {entity} {ident}: {reason}")

    async def _insert_or_merge(
        self, entity: str, queued: list[_Pending], rows: list[dict[str, Any]]
    ) -> list[_Pending]:
        """Insert rows; an item whose natural key is taken is merged into the row that
        holds it (not owned). Returns the items whose natural key no row holds."""
        table = _TABLES[entity]
        natural = _NATURAL_KEYS[entity]
        inserted = await bulk_insert(table, rows, natural)
        by_key = {tuple(r[c] for c in natural): int(r["id"]) for r in inserted}
        missing: list[_Pending] = []
        for item, row in zip(queued, rows, strict=True):
            natural_key = tuple(row[c] for c in natural)
            if natural_key in by_key:
                item.mapped.local_id = by_key.pop(natural_key)
                item.mapped.owner = True
            else:
                missing.append(item)
        if missing and entity != "project":
            found = await self._lookup(
                table,
                natural,
                [
                    tuple(row[c] for c in natural)
                    for item, row in zip(queued, rows, strict=True)
                    if item in missing
                ],
            )
            still: list[_Pending] = []
            for item, row in zip(queued, rows, strict=True):
                if item not in missing:
                    continue
                local = found.get(tuple(row[c] for c in natural))
                if local is None:
                    still.append(item)
                else:
                    item.mapped.local_id, item.mapped.owner = local, False
            return still
        return missing

    async def _lookup(
        self, table: type[Table], natural: tuple[str, ...], keys: list[tuple[Any, ...]]
    ) -> dict[tuple[Any, ...], int]:
        found: dict[tuple[Any, ...], int] = {}
        first = table._meta.get_column_by_name(natural[0])
        for start in range(0, len(keys), _CHUNK):
            part = keys[start : start + _CHUNK]
            rows = await table.select(
                table._meta.primary_key, *(table._meta.get_column_by_name(c) for c in natural)
            ).where(first.is_in(sorted({k[0] for k in part})))
            wanted = set(part)
            for row in rows:
                key = tuple(row[c] for c in natural)
                if key in wanted:
                    found[key] = int(row["id"])
        return found

    async def _create_publishers(self, queued: list[_Pending]) -> None:
        rows = []
        for item in queued:
            origin, _, ident = item.key
            slug = item.values.get("slug") or f"{origin.split('://', 1)[-1]}-{ident}"
            rows.append(
                {
                    **item.values,
                    "slug": slug,
                    "name": item.values.get("name") or slug,
                    "origin": origin,
                    "origin_id": ident,
                }
            )
        for item in await self._insert_or_merge("publisher", queued, rows):
            self._refuse(item, "could not be stored")

    async def _create_forge_accounts(self, queued: list[_Pending]) -> None:
        kept, rows = [], []
        for item in queued:
            if not item.values.get("base_url") or not item.values.get("forge_kind"):
                self._refuse(item, "no forge or base URL")
                continue
            kept.append(item)
            rows.append({**item.values, "owner": item.values.get("owner", "")})
        for item in await self._insert_or_merge("forge_account", kept, rows):
            self._refuse(item, "could not be stored")

    async def _create_projects(self, queued: list[_Pending]) -> None:
        urls_of = {id(item): _canonical_urls(item.data.get("repositories")) for item in queued}
        known = await self._repositories(sorted({u for urls in urls_of.values() for u in urls}))
        fresh, rows = [], []
        for item in queued:
            merged = next(
                (known[u]["project"] for u in urls_of[id(item)] if known.get(u, {}).get("project")),
                None,
            )
            if merged is not None:
                item.mapped.local_id, item.mapped.owner = int(merged), False
                continue
            origin, _, ident = item.key
            slug = item.values.get("slug") or f"{origin.split('://', 1)[-1]}-{ident}"
            fresh.append(item)
            rows.append(
                {
                    **item.values,
                    "slug": slug,
                    "name": item.values.get("name") or slug,
                    "origin": origin,
                    "origin_id": ident,
                }
            )
        for item in await self._insert_or_merge("project", fresh, rows):
            origin, _, ident = item.key
            slug = item.values.get("slug") or ident
            suffix = origin.split("://", 1)[-1].replace("/", "-").replace(":", "-")
            row = {**rows[fresh.index(item)], "slug": f"{slug}--{suffix}"}
            inserted = await bulk_insert(Project, [row], ("slug",))
            if inserted:
                item.mapped.local_id, item.mapped.owner = int(inserted[0]["id"]), True
            else:
                self._refuse(item, f"slug {slug!r} is taken")
        repositories = []
        for item in queued:
            if item.mapped.refused or item.mapped.local_id is None:
                continue
            for url in urls_of[id(item)]:
                row = known.get(url)
                if row is None:
                    name = url.rstrip("/").rsplit("/", 1)[-1]
                    repositories.append(
                        {
                            "url": url,
                            "project": item.mapped.local_id,
                            "name": name,
                            "full_name": name,
                            "first_seen_at": self.now,
                            "last_seen_at": self.now,
                        }
                    )
                    known[url] = {"url": url, "project": item.mapped.local_id}
                elif row["project"] is None:
                    await Repository.update({Repository.project: item.mapped.local_id}).where(
                        Repository.id == row["id"]
                    )
                    row["project"] = item.mapped.local_id
        await bulk_insert(Repository, repositories)

    async def _create_reuse_declarations(self, queued: list[_Pending]) -> None:
        rows = []
        for item in queued:
            origin, _, ident = item.key
            rows.append({**item.values, "origin": origin, "origin_id": ident})
        for item in await self._insert_or_merge("reuse_declaration", queued, rows):
            self._refuse(item, "could not be stored")

    async def _repositories(self, urls: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(urls), _CHUNK):
            rows = await Repository.select(Repository.id, Repository.url, Repository.project).where(
                Repository.url.is_in(urls[start : start + _CHUNK])
            )
            out.update({row["url"]: row for row in rows})
        return out

    async def _attach(self, urls: list[str], project: int) -> None:
        """Link a project's repositories: create the unknown ones, adopt orphans."""
        known = await self._repositories(urls)
        for url in urls:
            row = known.get(url)
            if row is None:
                name = url.rstrip("/").rsplit("/", 1)[-1]
                await bulk_insert(
                    Repository,
                    [{"url": url, "project": project, "name": name, "full_name": name}],
                )
            elif row["project"] is None:
                await Repository.update({Repository.project: project}).where(
                    Repository.id == row["id"]
                )

    # -- changes to rows this origin owns -----------------------------------------------------

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
            await self._attach(_canonical_urls(data.get("repositories")), local_id)

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
        await self.flush_creates()
        await bulk_insert(
            FederationEntity,
            [
                {
                    "origin": key[0],
                    "entity": key[1],
                    "origin_id": key[2],
                    "local_id": m.local_id,
                    "owner": m.owner,
                    "last_seq": m.last_seq,
                    "deleted": m.deleted,
                    "verified": m.verified,
                    "received_from": self.trust.peer_url,
                }
                for key, m in self.new_maps
                if not m.refused
            ],
        )
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
        await bulk_insert(
            ChangeLog, [row for row in self.log_rows if not row.pop("refused", False)]
        )


def _log_data(item: Checked) -> str | dict[str, Any]:
    """The change log's data for an applied entry: the envelope as received (its
    canonical JSON from the check, not serialised again) and whether it was verified."""
    if not item.envelope_json:
        return {"federation": item.envelope, "verified": item.verified}
    verified = "true" if item.verified else "false"
    return f'{{"federation":{item.envelope_json},"verified":{verified}}}'


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
