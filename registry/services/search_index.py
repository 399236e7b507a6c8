"""The project search index, kept up to date from the change log.

``project_search`` holds one row per project with what a search filters, facets and sorts
on; ``project_search_value`` the multi-valued facets (categories, languages). Full-text
search uses the database's engine: a ``tsvector`` column with a GIN index on PostgreSQL,
the FTS5 table ``project_fts`` on SQLite (see the migration ``2026-11-29T03:00``).

Nobody has to remember to update the index: every writer already records its changes in
the append-only change log, and :func:`sync` (called by the catalogue reads, cheap when
nothing changed: two indexed queries) re-indexes the projects touched by entries after the
last one the index reflects. Change log ids are visible in commit order on both engines,
so no change is skipped.

Text is folded (lower case, accents removed) in Python before both engines see it, so a
search for ``equipement`` finds ``Équipement`` the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from registry import db
from registry.tables import Project

__all__ = ["fold", "fts5_query", "query_tokens", "rebuild", "refresh", "sync", "tsquery_text"]

#: re-index everything rather than project by project beyond this many log entries
FULL_REBUILD_THRESHOLD = 5000
CHUNK = 500
ACTIVE_DECLARATIONS = ("evaluating", "production")
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TOKENS = 12


def fold(text: str) -> str:
    """Lower case without diacritics; what both engines index and search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_tokens(q: str) -> list[str]:
    """The words of a user query (folded, at most :data:`MAX_QUERY_TOKENS`, each ≤ 50)."""
    return [t[:50] for t in _WORD.findall(fold(q))][:MAX_QUERY_TOKENS]


def tsquery_text(tokens: list[str]) -> str:
    """A PostgreSQL ``to_tsquery('simple', ...)`` argument: every word, as a prefix."""
    return " & ".join(f"{t}:*" for t in tokens)


def fts5_query(tokens: list[str]) -> str:
    """An FTS5 MATCH argument: every word, as a prefix (quoted: no FTS5 syntax passes)."""
    return " ".join(f'"{t}"*' for t in tokens)


def _is_postgres() -> bool:
    return db.current_engine().engine_type == "postgres"


_readers: dict[str, Any] = {}


async def _sqlite_reader(engine: Any) -> Any:
    """A long-lived read connection to an SQLite file (autocommit: every statement sees
    the latest commit). Opening a connection per query costs ~1.5 ms, more than most of
    the catalogue's indexed reads; its worker thread is a daemon, so it never holds the
    process open."""
    import aiosqlite

    path = engine.connection_kwargs["database"]
    connection = _readers.get(path)
    if connection is None:
        pending = aiosqlite.connect(**engine.connection_kwargs)
        pending._thread.daemon = True
        connection = await pending
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA query_only = 1")
        _readers[path] = connection
    return connection


async def raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run SQL with ``{}`` placeholders on the current engine.

    On SQLite, reads (``SELECT``/``WITH``) outside a transaction go through one
    long-lived connection; everything else through Piccolo as usual.
    """
    engine = db.current_engine()
    if (
        engine.engine_type == "sqlite"
        and sql.lstrip()[:6].upper() in ("SELECT", "WITH M")
        and engine.current_transaction.get() is None
    ):
        connection = await _sqlite_reader(engine)
        async with connection.execute(sql.replace("{}", "?"), args) as cursor:
            return [dict(row) for row in await cursor.fetchall()]
    return await Project.raw(sql, *args)


@functools.lru_cache(maxsize=4096)
def fr_authorised(expression: str) -> bool:
    """Whether a license expression is on the French authorised list (False if unreadable)."""
    if not expression:
        return False
    from registry import licenses

    try:
        return licenses.flags(expression).fr_authorised
    except Exception:  # an unreadable expression is simply not on the list
        return False


def _json(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value else default
        except ValueError:
            return default
    return default if value is None else value


def _ts(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return 0
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp())
    return 0


def _placeholders(count: int) -> str:
    return ", ".join("{}" for _ in range(count))


async def _rows_for(ids: list[int]) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, str]]]:
    """Index rows and multi-valued facet rows for projects ``ids`` (missing ones: none)."""
    marks = _placeholders(len(ids))
    projects = await raw(
        f"""SELECT p.id, p.slug, p.name, p.description, p.publisher, p.categories, p.topics,
               p.license_expression, p.latest_stable, p.last_activity_at,
               pub.name AS publisher_name, pub.kind AS publisher_kind, pub.country AS country
        FROM project p LEFT JOIN publisher pub ON pub.id = p.publisher
        WHERE p.id IN ({marks})""",
        *ids,
    )
    repos = await raw(
        f"""SELECT project, language, topics, description, publiccode_valid, pushed_at
        FROM repository WHERE project IN ({marks}) AND gone_at IS NULL""",
        *ids,
    )
    reuses = await raw(
        f"""SELECT project, COUNT(*) AS n FROM reuse_declaration
        WHERE project IN ({marks}) AND status IN ('evaluating', 'production')
        GROUP BY project""",
        *ids,
    )
    by_project: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for repo in repos:
        by_project[int(repo["project"])].append(repo)
    reused = {int(r["project"]): int(r["n"]) for r in reuses}

    rows: list[tuple[Any, ...]] = []
    values: list[tuple[int, str, str]] = []
    for p in projects:
        pid = int(p["id"])
        description = _json(p["description"], {})
        descriptions = (
            [str(v) for v in description.values()] if isinstance(description, dict) else []
        )
        categories = [str(c)[:200] for c in _json(p["categories"], []) if c]
        topics = [str(t) for t in _json(p["topics"], []) if t]
        languages: Counter[str] = Counter()
        valid = False
        activity = _ts(p["last_activity_at"])
        texts = [p["name"], p["slug"], *descriptions, *topics, *categories]
        for repo in by_project.get(pid, []):
            if repo["language"]:
                languages[str(repo["language"])[:200]] += 1
            if repo["publiccode_valid"] in (True, 1):
                valid = True
            activity = max(activity, _ts(repo["pushed_at"]))
            texts.append(repo["description"] or "")
            texts.extend(str(t) for t in _json(repo["topics"], []) if t)
        if p["publisher_name"]:
            texts.append(p["publisher_name"])
        summary = ""
        if isinstance(description, dict):
            summary = str(description.get("fr") or description.get("en") or "")
            if not summary and description:
                summary = str(next(iter(description.values())))
        license_expression = p["license_expression"] or ""
        rows.append(
            (
                pid,
                p["slug"],
                p["name"],
                fold(p["name"])[:300],
                p["publisher"],
                p["publisher_name"] or "",
                p["publisher_kind"] or "",
                p["country"] or "",
                license_expression,
                fr_authorised(license_expression),
                languages.most_common(1)[0][0] if languages else "",
                valid,
                activity,
                reused.get(pid, 0),
                p["latest_stable"] or "",
                summary[:500],
                fold(" ".join(t for t in texts if t)),
            )
        )
        values.extend((pid, "category", c) for c in dict.fromkeys(categories))
        values.extend((pid, "language", lang) for lang in languages)
    return rows, values


_INSERT_COLUMNS = (
    "project_id",
    "slug",
    "name",
    "name_key",
    "publisher_id",
    "publisher_name",
    "publisher_kind",
    "country",
    "license",
    "fr_authorised",
    "language",
    "publiccode_valid",
    "activity_ts",
    "reused_by",
    "latest_stable",
    "summary",
    "doc",
)


async def _write(ids: list[int]) -> None:
    rows, values = await _rows_for(ids)
    marks = _placeholders(len(ids))
    await raw(f"DELETE FROM project_search WHERE project_id IN ({marks})", *ids)
    await raw(f"DELETE FROM project_search_value WHERE project_id IN ({marks})", *ids)
    postgres = _is_postgres()
    if not postgres:
        await raw(f"DELETE FROM project_fts WHERE rowid IN ({marks})", *ids)
    await _insert("project_search", _INSERT_COLUMNS, rows)
    if not postgres:
        await _insert("project_fts", ("rowid", "doc"), [(row[0], row[16]) for row in rows])
    await _insert("project_search_value", ("project_id", "facet", "value"), values)


async def _insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows with the driver's bulk path (COPY, executemany) inside the current
    transaction; multi-row INSERTs through Piccolo outside one."""
    if not rows:
        return
    engine = db.current_engine()
    transaction = engine.current_transaction.get()
    names = ", ".join(columns)
    if transaction is not None and engine.engine_type == "postgres":
        await transaction.connection.copy_records_to_table(
            table, records=rows, columns=list(columns)
        )
        return
    if transaction is not None:
        marks = ", ".join("?" for _ in columns)
        await transaction.connection.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})", rows
        )
        return
    size = max(1, 8000 // len(columns))
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        row_marks = ", ".join(f"({_placeholders(len(columns))})" for _ in chunk)
        await raw(
            f"INSERT INTO {table} ({names}) VALUES {row_marks}",
            *[v for row in chunk for v in row],
        )


async def refresh(project_ids: Iterable[int]) -> None:
    """Re-index these projects now (inside the caller's transaction, if any)."""
    ids = sorted({int(i) for i in project_ids})
    for start in range(0, len(ids), CHUNK):
        await _write(ids[start : start + CHUNK])


async def _max_change() -> int:
    rows = await raw("SELECT MAX(id) AS m FROM change_log")
    return int(rows[0]["m"] or 0)


async def _state() -> int:
    global indexed_generation
    rows = await raw("SELECT change_id, generation FROM search_index_state WHERE id = 1")
    if not rows:
        return 0
    indexed_generation = int(rows[0]["generation"])
    return int(rows[0]["change_id"])


async def _set_state(change_id: int) -> None:
    await raw("UPDATE search_index_state SET change_id = {} WHERE id = 1", change_id)


async def rebuild() -> int:
    """Re-index every project; returns how many. Used after bulk loads."""
    async with db.transaction():
        watermark = await _max_change()
        await raw("DELETE FROM project_search")
        await raw("DELETE FROM project_search_value")
        if not _is_postgres():
            await raw("DELETE FROM project_fts")
        ids = [int(r["id"]) for r in await raw("SELECT id FROM project ORDER BY id")]
        for start in range(0, len(ids), CHUNK):
            await _write(ids[start : start + CHUNK])
        await _set_state(watermark)
        # a rebuild may leave the change log id as it was: readers keyed on the index
        # version (the facet index) see a new generation
        await raw("UPDATE search_index_state SET generation = generation + 1 WHERE id = 1")
    return len(ids)


async def _affected_projects(entries: list[dict[str, Any]]) -> set[int]:
    ids: set[int] = set()
    by_entity: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        by_entity[entry["entity"]].add(int(entry["entity_id"]))
    ids |= by_entity.get("project", set())

    async def lookup(sql: str, keys: set[int]) -> None:
        key_list = sorted(keys)
        for start in range(0, len(key_list), CHUNK):
            chunk = key_list[start : start + CHUNK]
            for row in await raw(sql.format(_placeholders(len(chunk))), *chunk):
                if row["p"] is not None:
                    ids.add(int(row["p"]))

    if by_entity.get("repository"):
        await lookup(
            "SELECT project AS p FROM repository WHERE id IN ({})", by_entity["repository"]
        )
    for entity, table in (("release", "release"), ("license_finding", "license_finding")):
        if by_entity.get(entity):
            await lookup(
                "SELECT r.project AS p FROM repository r JOIN "
                + table
                + " x ON x.repository = r.id WHERE x.id IN ({})",
                by_entity[entity],
            )
    if by_entity.get("reuse_declaration"):
        await lookup(
            "SELECT project AS p FROM reuse_declaration WHERE id IN ({})",
            by_entity["reuse_declaration"],
        )
    if by_entity.get("publisher"):
        await lookup("SELECT id AS p FROM project WHERE publisher IN ({})", by_entity["publisher"])
    return ids


#: the change log id the index reflected at this process's last :func:`sync`, and the
#: number of full rebuilds so far; readers key caches on both (the change log only grows
#: and a rebuild bumps the generation, so a key never comes back with other data)
indexed_change_id = -1
indexed_generation = 0


async def sync() -> int:
    """Bring the index up to date with the change log; returns the entries applied.

    Concurrent callers do not wait for each other on PostgreSQL: one brings the index up
    to date, the others read it as it was (it is at most a few changes behind).
    """
    global indexed_change_id, indexed_generation
    # one round trip: this runs before every catalogue read
    rows = await raw(
        "SELECT (SELECT MAX(id) FROM change_log) AS m, change_id, generation "
        "FROM search_index_state WHERE id = 1"
    )
    if rows:
        current = int(rows[0]["m"] or 0)
        state = int(rows[0]["change_id"])
        indexed_generation = int(rows[0]["generation"])
    else:
        current, state = await _max_change(), 0
    indexed_change_id = state
    if current == state:
        return 0
    if state > current:  # the change log was emptied (a test database reset): start over
        await rebuild()
        indexed_change_id = await _state()
        return current
    async with db.transaction():
        if _is_postgres():
            locked = await raw("SELECT pg_try_advisory_xact_lock(7380214552) AS ok")
            if not locked[0]["ok"]:
                return 0
        state = await _state()
        current = await _max_change()
        if current <= state:
            return 0
        if current - state > FULL_REBUILD_THRESHOLD:
            ids = [int(r["id"]) for r in await raw("SELECT id FROM project")]
        else:
            entries = await raw(
                "SELECT entity, entity_id FROM change_log WHERE id > {} AND id <= {}",
                state,
                current,
            )
            ids = sorted(await _affected_projects(entries))
        for start in range(0, len(ids), CHUNK):
            await _write(ids[start : start + CHUNK])
        await _set_state(current)
    indexed_change_id = current
    return current - state
