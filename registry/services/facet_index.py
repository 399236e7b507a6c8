"""An in-process facet index over the search index, one snapshot per index version.

Grouping 10,000-100,000 matched rows per request in SQL made searches with facets cost
hundreds of milliseconds. Here every project of ``project_search`` gets a bit position,
each facet value a Python ``int`` used as a bitset, and a search's counts are
``(matched & value).bit_count()``: microseconds per value, whatever the match size.

* Positions are the projects in "recent" order (last activity descending, id
  ascending): "active in the last N months" is then the prefix ``(1 << k) - 1``, and the
  "recent" sort is the order of the bits.
* Low-cardinality facets (license, kind, country, language, category, the two flags,
  reuse thresholds) are bitsets; the publisher facet (thousands of values) is counted
  with ``Counter(compress(publisher_of, selector))``, a loop that runs in C.
* The full-text match of a query stays the database's (PostgreSQL ``tsvector``, SQLite
  FTS5): the matching ids in relevance order, kept per (index version, query words)
  within a bounded budget, so paging or refining a search does not ask the engine again.
  A word set matching more than :data:`BROAD_SHARE` of the catalogue (a word in every
  publisher's name) is not ranked: its ids come unranked and its relevance order is the
  recent-activity order (ranking 100,000 rows cost the engine 100-200 ms).
* A snapshot belongs to one index version (the change log id the index reflects, plus a
  rebuild generation): when the catalogue changes, the next read refreshes it for the
  projects the new change log entries touched (their bits move; a project whose activity
  changed is kept beside the recent order and merged in), or loads it whole after a
  rebuild or many changes, so counts are never those of an older catalogue.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import json
from array import array
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress, islice, repeat
from typing import Any

from registry import db
from registry.services import search_index
from registry.services.search_index import raw

__all__ = [
    "VALUE_FACETS",
    "Match",
    "Snapshot",
    "bitset",
    "clear",
    "count_publishers",
    "match",
    "page",
    "selector",
    "snapshot",
    "stats",
]

#: facets stored as one bitset per value
VALUE_FACETS = ("license", "kind", "country", "language", "category")
#: matched ids (and relevance keys) kept for recent queries, in entries; 0 turns it off
MATCH_BUDGET = 2_000_000
#: a word set matching more than this share of the indexed projects is not ranked by the
#: engine (FTS5 bm25 / ts_rank over most of the catalogue costs 100-200 ms at 100k): its
#: words tell little apart (bm25 gives a word in over half the documents an IDF of ~0),
#: so its relevance order is the recent-activity order (see :class:`Match`)
BROAD_SHARE = 0.25

_TO_ASCII = bytes.maketrans(b"\x00\x01", b"01")
_FROM_ASCII = bytes.maketrans(b"01", b"\x00\x01")


def bitset(positions: Iterable[int], size: int) -> int:
    """The bitset (an int) with ``positions`` set; every position is below ``size``.

    Built in C: the positions mark a bytearray, which is read as a base-2 numeral."""
    if size <= 0:
        return 0
    marks = bytearray(size)
    deque(map(marks.__setitem__, positions, repeat(1)), maxlen=0)
    return int(marks.translate(_TO_ASCII)[::-1], 2)


def selector(bits: int, size: int) -> bytes:
    """One byte per position, 1 where ``bits`` has it: for ``itertools.compress``."""
    if size <= 0:
        return b""
    text = format(bits, "b").encode("ascii")[::-1].translate(_FROM_ASCII)
    return text[:size] + bytes(size - len(text)) if len(text) < size else text[:size]


def _ints(value: Any) -> list[int]:
    """An aggregated id list (``group_concat``/``string_agg`` text or an array)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return list(map(int, value.split(",")))
    return [int(v) for v in value]


def _floats(value: Any) -> list[float]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return list(map(float, value.split(",")))
    return [float(v) for v in value]


@dataclass
class Match:
    """The projects a full-text query matches, best first."""

    #: positions, in relevance order (rank descending, project id ascending); None for a
    #: broad match (over :data:`BROAD_SHARE` of the catalogue), whose relevance order is
    #: the recent-activity order (last activity descending, then project id)
    order: array[int] | None
    #: the relevance key of each, as the SQL path's cursor compares it (None when broad)
    keys: array[float] | None
    bits: int

    @property
    def entries(self) -> int:
        """Its weight in :data:`MATCH_BUDGET` (a broad match: its bitset, in 8-byte units)."""
        return len(self.order) if self.order is not None else self.bits.bit_length() // 64 + 1


@dataclass
class Snapshot:
    """The facet index of one version of the search index."""

    key: tuple[Any, ...]
    size: int
    #: project id of each position; position of each project id
    ids: array[int]
    position: dict[int, int]
    #: activity timestamp of the first positions, as loaded (descending: those positions
    #: are in recent order); shared by the snapshots refreshed from this one
    activity: array[int]
    values: dict[str, dict[str, int]]
    publisher_of: array[int]
    publisher_names: dict[int, str]
    fr_authorised: int
    publiccode_valid: int
    #: every position by reuse count descending (id ascending), and those counts
    reused_order: array[int]
    reused_counts: array[int]
    name_order: array[int]
    #: each position's name key (to tell whether a change moves it in the name order)
    names: list[str] = field(default_factory=list)
    #: positions of the projects in the index (a project deleted since the load is not)
    present: int = 0
    #: positions whose activity is not the loaded one (changed or added since): their
    #: activity; and those positions as a bitset
    moved: dict[int, int] = field(default_factory=dict)
    moved_bits: int = 0
    derived: dict[tuple[Any, ...], int] = field(default_factory=dict)
    matches: OrderedDict[tuple[str, ...], Match] = field(default_factory=OrderedDict)
    match_entries: int = 0
    _id_set: frozenset[int] | None = field(default=None, repr=False)

    def id_set(self) -> frozenset[int]:
        """The project ids of every position (made on first use)."""
        if self._id_set is None or len(self._id_set) != len(self.ids):
            self._id_set = frozenset(self.ids)
        return self._id_set

    def active_since(self, threshold: int) -> int:
        """Projects whose last activity is at or after ``threshold``: a prefix of the
        loaded positions, corrected by the projects changed since."""
        # activity is descending: count the entries >= threshold
        k = bisect.bisect_right(self.activity, -threshold, key=lambda v: -v)
        if not self.moved:
            return ((1 << k) - 1) & self.present
        cache_key = ("active", threshold)
        found = self.derived.get(cache_key)
        if found is None:
            recent = [p for p, ts in self.moved.items() if ts >= threshold]
            found = (((1 << k) - 1) & ~self.moved_bits | bitset(recent, self.size)) & self.present
            self._remember(cache_key, found)
        return found

    def recent_page(self, bits: int, offset: int, limit: int) -> list[int]:
        """Positions ``offset`` to ``offset + limit`` of ``bits`` by last activity
        (descending, then project id)."""
        if not self.moved:
            return page(None, bits, self.size, offset, limit)
        chosen = selector(bits & ~self.moved_bits, self.size)
        loaded = len(self.activity)
        main = (
            (-self.activity[p], self.ids[p], p) for p in compress(range(loaded), chosen[:loaded])
        )
        wanted = selector(bits, self.size)
        extra = sorted((-ts, self.ids[p], p) for p, ts in self.moved.items() if wanted[p])
        merged = heapq.merge(main, extra)
        return [p for _, _, p in islice(merged, offset, offset + limit)]

    def reused_at_least(self, least: int) -> int:
        """Projects with at least ``least`` current reuse declarations."""
        if least <= 0:
            return self.present
        cache_key = ("reused", least)
        found = self.derived.get(cache_key)
        if found is None:
            k = bisect.bisect_right(self.reused_counts, -least, key=lambda v: -v)
            found = bitset(self.reused_order[:k], self.size) & self.present
            self._remember(cache_key, found)
        return found

    def publishers(self, publisher_ids: Sequence[int]) -> int:
        """Projects published by any of ``publisher_ids``."""
        cache_key = ("publisher", *sorted(set(publisher_ids)))
        found = self.derived.get(cache_key)
        if found is None:
            wanted = set(publisher_ids)
            found = bitset(
                compress(range(self.size), (p in wanted for p in self.publisher_of)), self.size
            )
            found &= self.present
            self._remember(cache_key, found)
        return found

    def any_of(self, facet: str, values: Sequence[str]) -> int:
        """Projects with any of ``values`` for ``facet``."""
        bits = 0
        table = self.values.get(facet, {})
        for value in values:
            bits |= table.get(value, 0)
        return bits

    def _remember(self, cache_key: tuple[Any, ...], bits: int) -> None:
        if len(self.derived) >= 256:
            self.derived.clear()
        self.derived[cache_key] = bits

    def remember_match(self, tokens: tuple[str, ...], found: Match) -> None:
        if not MATCH_BUDGET:
            return
        self.matches[tokens] = found
        self.match_entries += found.entries
        while self.match_entries > MATCH_BUDGET and len(self.matches) > 1:
            _, dropped = self.matches.popitem(last=False)
            self.match_entries -= dropped.entries


async def _sqlite_tuples(sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows as tuples from SQLite's shared read connection (many rows, no dicts)."""
    engine = db.current_engine()
    if engine.current_transaction.get() is not None:
        return [tuple(r.values()) for r in await raw(sql.replace("?", "{}"), *args)]
    connection = await search_index._sqlite_reader(engine)
    async with connection.execute(sql, args) as cursor:
        cursor.row_factory = None
        return list(await cursor.fetchall())


def _engine_key() -> str:
    engine = db.current_engine()
    return str(getattr(engine, "path", "") or getattr(engine, "config", {}).get("dsn", ""))


def _postgres() -> bool:
    return db.current_engine().engine_type == "postgres"


_snapshots: dict[str, Snapshot] = {}
#: how snapshots were made in this process: loaded whole, or refreshed for changes
stats: Counter[str] = Counter()
_locks: dict[tuple[str, int], asyncio.Lock] = {}


def clear() -> None:
    """Forget every snapshot (tests that empty the catalogue behind the change log)."""
    _snapshots.clear()
    _locks.clear()


def _agg(expr: str, order: str = "") -> str:
    """SQL aggregating ``expr`` into comma-separated text, in ``order`` if given.

    SQLite has no ordered ``group_concat`` before 3.44: callers order a subquery."""
    if _postgres():
        return f"string_agg(CAST({expr} AS TEXT), ','{' ORDER BY ' + order if order else ''})"
    return f"group_concat({expr})"


async def _ordered(columns: Sequence[str], order: str, where: str = "") -> dict[str, Any]:
    """Columns of ``project_search`` aggregated in ``order`` (one row)."""
    if _postgres():
        select = ", ".join(f"{_agg(c, order)} AS c{i}" for i, c in enumerate(columns))
        sql = f"SELECT {select} FROM project_search {where}"
    else:
        inner = ", ".join(f"{c} AS c{i}" for i, c in enumerate(columns))
        select = ", ".join(f"group_concat(c{i}) AS c{i}" for i in range(len(columns)))
        sql = f"SELECT {select} FROM (SELECT {inner} FROM project_search {where} ORDER BY {order})"
    return (await raw(sql))[0]


async def _reused_order(position: dict[int, int]) -> tuple[array[int], array[int]]:
    """Every position by reuse count descending, then project id; and the counts. Only
    the projects with reusers are read (an index range): the others follow by id."""
    reused = await _ordered(
        ["project_id", "reused_by"], "reused_by DESC, project_id ASC", "WHERE reused_by > 0"
    )
    order = array("q")
    counts = array("q")
    for pid, n in zip(_ints(reused["c0"]), _ints(reused["c1"]), strict=True):
        p = position.get(pid)
        if p is not None:
            order.append(p)
            counts.append(n)
    listed = set(order)
    by_id = map(position.__getitem__, sorted(position))
    rest = [p for p in by_id if p not in listed]
    order.extend(rest)
    counts.extend(array("q", [0]) * len(rest))
    return order, counts


async def _name_order(position: dict[int, int], size: int) -> tuple[array[int], list[str]]:
    """Every position by name (the database's collation), and each position's name key."""
    if _postgres():
        row = (
            await raw(
                "SELECT array_agg(project_id ORDER BY name_key, project_id) AS ids, "
                "array_agg(name_key ORDER BY name_key, project_id) AS names FROM project_search"
            )
        )[0]
        pairs: Iterable[tuple[Any, Any]] = zip(row["ids"] or [], row["names"] or [], strict=True)
    else:
        pairs = await _sqlite_tuples(
            "SELECT project_id, name_key FROM project_search ORDER BY name_key, project_id"
        )
    order = array("q")
    names = [""] * size
    for pid, name in pairs:
        p = position.get(int(pid))
        if p is not None:
            order.append(p)
            names[p] = str(name)
    return order, names


async def _load(key: tuple[Any, ...]) -> Snapshot:
    recent = await _ordered(["project_id", "activity_ts"], "activity_ts DESC, project_id ASC")
    ids = array("q", _ints(recent["c0"]))
    size = len(ids)
    position = {pid: i for i, pid in enumerate(ids)}
    activity = array("q", _ints(recent["c1"]))

    def positions(id_list: list[int]) -> list[int]:
        try:
            return list(map(position.__getitem__, id_list))
        except KeyError:  # a project indexed between two of these reads
            return [p for p in map(position.get, id_list) if p is not None]

    reused_order, reused_counts = await _reused_order(position)
    name_order, names = await _name_order(position, size)

    agg_ids = _agg("project_id")
    grouped = await raw(
        f"SELECT 'license' AS f, license AS v, {agg_ids} AS ids FROM project_search "
        "GROUP BY license "
        f"UNION ALL SELECT 'kind', publisher_kind, {agg_ids} FROM project_search "
        "GROUP BY publisher_kind "
        f"UNION ALL SELECT 'country', country, {agg_ids} FROM project_search "
        "GROUP BY country "
        f"UNION ALL SELECT facet, value, {agg_ids} FROM project_search_value "
        "GROUP BY facet, value"
    )
    values: dict[str, dict[str, int]] = {facet: {} for facet in VALUE_FACETS}
    for row in grouped:
        values.setdefault(str(row["f"]), {})[str(row["v"])] = bitset(
            positions(_ints(row["ids"])), size
        )
    flags = (
        await raw(
            f"SELECT {_agg('CASE WHEN fr_authorised THEN project_id END')} AS fr, "
            f"{_agg('CASE WHEN publiccode_valid THEN project_id END')} AS pc FROM project_search"
        )
    )[0]
    publisher_of = array("q", [-1]) * size
    publisher_names: dict[int, str] = {}
    for row in await raw(
        f"SELECT publisher_id AS id, MAX(publisher_name) AS name, {agg_ids} AS ids "
        "FROM project_search WHERE publisher_id IS NOT NULL GROUP BY publisher_id"
    ):
        pid = int(row["id"])
        publisher_names[pid] = str(row["name"] or "")
        deque(map(publisher_of.__setitem__, positions(_ints(row["ids"])), repeat(pid)), maxlen=0)
    return Snapshot(
        key=key,
        size=size,
        ids=ids,
        position=position,
        activity=activity,
        values=values,
        publisher_of=publisher_of,
        publisher_names=publisher_names,
        fr_authorised=bitset(positions(_ints(flags["fr"])), size),
        publiccode_valid=bitset(positions(_ints(flags["pc"])), size),
        reused_order=reused_order,
        reused_counts=reused_counts,
        name_order=name_order,
        names=names,
        present=(1 << size) - 1,
    )


#: a version this many change log entries (or changed projects) newer than the last
#: snapshot is loaded whole; below, the snapshot is refreshed for the changed projects
REFRESH_ENTRIES = 5000
REFRESH_PROJECTS = 2000
MAX_MOVED = 5000
_SINGLE_COLUMNS = (("license", "license"), ("kind", "publisher_kind"), ("country", "country"))
_ROW_COLUMNS = (
    "project_id, activity_ts, publisher_id, publisher_name, license, publisher_kind, "
    "country, fr_authorised, publiccode_valid, name_key"
)


async def _refresh(old: Snapshot, key: tuple[Any, ...]) -> Snapshot | None:
    """``old`` brought to version ``key`` by re-reading the projects the change log
    entries in between touched; None when a whole load is the better way."""
    if key[1] - old.key[1] > REFRESH_ENTRIES:
        return None
    entries = await raw(
        "SELECT entity, entity_id FROM change_log WHERE id > {} AND id <= {}", old.key[1], key[1]
    )
    changed = sorted(await search_index._affected_projects(entries))
    if len(changed) > REFRESH_PROJECTS or len(old.moved) + len(changed) > MAX_MOVED:
        return None
    if not changed:  # nothing the index holds changed: the matches stay right
        return replace(old, key=key, derived={})
    rows: list[dict[str, Any]] = []
    value_rows: list[dict[str, Any]] = []
    for start in range(0, len(changed), 500):
        chunk = changed[start : start + 500]
        marks = ", ".join("{}" for _ in chunk)
        rows += await raw(
            f"SELECT {_ROW_COLUMNS} FROM project_search WHERE project_id IN ({marks})", *chunk
        )
        value_rows += await raw(
            "SELECT project_id, facet, value FROM project_search_value "
            f"WHERE project_id IN ({marks})",
            *chunk,
        )
    ids = array("q", old.ids)
    position = dict(old.position)
    publisher_of = array("q", old.publisher_of)
    publisher_names = dict(old.publisher_names)
    moved = dict(old.moved)
    loaded = len(old.activity)
    for pid in changed:  # projects added since: new positions
        if pid not in position:
            position[pid] = len(ids)
            ids.append(pid)
            publisher_of.append(-1)
    size = len(ids)
    touched = bitset([position[pid] for pid in changed], size)
    values = {
        facet: {v: bits & ~touched for v, bits in table.items()}
        for facet, table in old.values.items()
    }
    added: dict[tuple[str, str], list[int]] = defaultdict(list)
    fr: list[int] = []
    pc: list[int] = []
    seen: list[int] = []
    renamed = False
    for row in rows:
        p = position[int(row["project_id"])]
        seen.append(p)
        if p >= old.size or old.names[p] != row["name_key"]:
            renamed = True
        for facet, column in _SINGLE_COLUMNS:
            added[(facet, str(row[column]))].append(p)
        if row["fr_authorised"]:
            fr.append(p)
        if row["publiccode_valid"]:
            pc.append(p)
        publisher = row["publisher_id"]
        publisher_of[p] = -1 if publisher is None else int(publisher)
        if publisher is not None:
            publisher_names[int(publisher)] = str(row["publisher_name"] or "")
        ts = int(row["activity_ts"])
        if p < loaded and ts == old.activity[p]:
            moved.pop(p, None)
        else:
            moved[p] = ts
    for row in value_rows:
        added[(str(row["facet"]), str(row["value"]))].append(position[int(row["project_id"])])
    for (facet, value), chosen in added.items():
        table = values.setdefault(facet, {})
        table[value] = table.get(value, 0) | bitset(chosen, size)
    gone = set(changed) - {int(row["project_id"]) for row in rows}
    for pid in gone:  # deleted from the index: out of every set
        publisher_of[position[pid]] = -1
        moved.pop(position[pid], None)
    # the order by reuse is read again (cheap: the projects with reusers); the order by
    # name only when a project was added or renamed (it is the database's collation)
    reused_order, reused_counts = await _reused_order(position)
    if renamed or size > old.size:
        name_order, names = await _name_order(position, size)
    else:
        name_order, names = old.name_order, old.names
    seen_bits = bitset(seen, size)
    return Snapshot(
        key=key,
        size=size,
        ids=ids,
        position=position,
        activity=old.activity,
        values=values,
        publisher_of=publisher_of,
        publisher_names=publisher_names,
        fr_authorised=old.fr_authorised & ~touched | bitset(fr, size),
        publiccode_valid=old.publiccode_valid & ~touched | bitset(pc, size),
        reused_order=reused_order,
        reused_counts=reused_counts,
        name_order=name_order,
        names=names,
        present=old.present & ~touched | seen_bits,
        moved=moved,
        moved_bits=bitset(moved, size),
    )


async def snapshot() -> Snapshot:
    """The facet index of the search index's current version (after
    :func:`search_index.sync`); loaded once per version, by one task at a time."""
    engine = _engine_key()
    key = (engine, search_index.indexed_change_id, search_index.indexed_generation)
    current = _snapshots.get(engine)
    if current is not None and current.key == key and key[1] >= 0:
        return current
    lock_key = (engine, id(asyncio.get_running_loop()))
    lock = _locks.get(lock_key)
    if lock is None:
        if len(_locks) > 64:
            _locks.clear()
        lock = _locks[lock_key] = asyncio.Lock()
    async with lock:
        current = _snapshots.get(engine)
        if current is not None and current.key == key and key[1] >= 0:
            return current
        loaded = None
        if current is not None and current.key[2] == key[2] and 0 <= current.key[1] < key[1]:
            loaded = await _refresh(current, key)
        if loaded is None:
            loaded = await _load(key)
            stats["loads"] += 1
        else:
            stats["refreshes"] += 1
        _snapshots[engine] = loaded
        return loaded


async def match(snap: Snapshot, tokens: Sequence[str]) -> Match:
    """The projects matching every word of ``tokens`` (as prefixes), by the database's
    full-text engine, best first; kept in the snapshot for the next searches."""
    cache_key = tuple(sorted(set(tokens)))
    found = snap.matches.get(cache_key)
    if found is not None:
        snap.matches.move_to_end(cache_key)
        return found
    postgres = _postgres()
    words = list(tokens)
    # the size of the match before any ranking. PostgreSQL: the planner's estimate from
    # the tsvector statistics (counting would visit every matching row); SQLite: the
    # matching rowids themselves, unranked (FTS5 doclists only, ~20 ms for the whole
    # catalogue, as one group_concat text: aiosqlite takes ~100 ms to hand over 100,000
    # rows). The size chooses the way only; the match set is the engine's either way.
    matched: set[int] | None = None
    if postgres:
        tsq = search_index.tsquery_text(words)
        plan = (
            await raw(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM project_search s "
                "WHERE s.tsv @@ to_tsquery('simple', {})",
                tsq,
            )
        )[0]
        text = next(iter(plan.values()))
        count = int((json.loads(text) if isinstance(text, str) else text)[0]["Plan"]["Plan Rows"])
    else:
        ftsq = search_index.fts5_query(words)
        text = (
            await _sqlite_tuples(
                "SELECT group_concat(rowid) FROM project_fts WHERE project_fts MATCH ?", ftsq
            )
        )[0][0]
        matched = set(map(int, text.split(","))) if text else set()
        count = len(matched)
    position = snap.position
    cap = int(BROAD_SHARE * snap.size)
    ranked: dict[str, Any] | None = None
    if postgres and count <= cap:
        # ranked by the engine; at most cap + 1 rows ranked when the estimate was wrong
        # (stale statistics): more than cap found, the match is broad after all
        ranked = (
            await raw(
                "SELECT count(*) AS n, array_agg(project_id ORDER BY r DESC, project_id) AS ids, "
                "array_agg(r ORDER BY r DESC, project_id) AS keys FROM "
                "(SELECT m.project_id, ts_rank(m.tsv, tq) AS r FROM "
                "(SELECT s.project_id, s.tsv FROM project_search s "
                "WHERE s.tsv @@ to_tsquery('simple', {}) LIMIT {}) m, "
                "to_tsquery('simple', {}) tq) x",
                tsq,
                cap + 1,
                tsq,
            )
        )[0]
        count = int(ranked["n"])
    if count > cap:
        # broad: the match set only, in no order (relevance = recent order, see Match)
        if matched is None:
            row = (
                # the query as a sub-select: the planner cannot estimate it and takes
                # the GIN index (a sequential scan testing @@ on every row costs ~2x)
                await raw(
                    "SELECT array_agg(project_id) AS ids FROM project_search s "
                    "WHERE s.tsv @@ (SELECT to_tsquery('simple', {}))",
                    tsq,
                )
            )[0]
            matched = set(_ints(row["ids"]))
        # by the complement (C set operations; a broad match leaves few out); a project
        # indexed after this snapshot has no position: the next snapshot has it
        missing = map(position.__getitem__, snap.id_set() - matched)
        found = Match(order=None, keys=None, bits=snap.present & ~bitset(missing, snap.size))
        stats["broad_matches"] += 1
        snap.remember_match(cache_key, found)
        return found
    if ranked is not None:
        pairs: Iterable[tuple[int, float]] = zip(
            _ints(ranked["ids"]), _floats(ranked["keys"]), strict=True
        )
    else:
        # plain tuples (exact doubles, no per-row dict); the SQL path's key is -bm25
        pairs = (
            (pid, -score)
            for pid, score in await _sqlite_tuples(
                "SELECT rowid, rank FROM project_fts WHERE project_fts MATCH ? "
                "ORDER BY rank, rowid",
                ftsq,
            )
        )
    order = array("q")
    keys = array("d")
    for pid, key in pairs:
        p = position.get(pid)
        if p is not None:  # a project indexed after this snapshot: the next one has it
            order.append(p)
            keys.append(key)
    found = Match(order=order, keys=keys, bits=bitset(order, snap.size) & snap.present)
    snap.remember_match(cache_key, found)
    return found


def page(order: Sequence[int] | None, bits: int, size: int, offset: int, limit: int) -> list[int]:
    """Indices into ``order`` (positions; ``None``: every position in turn) of the
    entries ``offset`` to ``offset + limit`` that are in ``bits``."""
    chosen = selector(bits, size)
    if order is None:
        return list(islice(compress(range(size), chosen), offset, offset + limit))
    flags = map(chosen.__getitem__, order)
    return list(islice(compress(range(len(order)), flags), offset, offset + limit))


def count_publishers(snap: Snapshot, bits: int) -> Counter[int]:
    """Projects in ``bits`` per publisher id (none: left out)."""
    counts = Counter(compress(snap.publisher_of, selector(bits, snap.size)))
    counts.pop(-1, None)
    return counts
