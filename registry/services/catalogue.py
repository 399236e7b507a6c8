"""Reading the catalogue: project search with facets, project sheets, publishers.

Pure database services shared by the API and the web pages: they take plain values and
return dataclasses, never HTTP types. One call per page: :func:`search_projects` returns
the items, the total, the facets and the next cursor; :func:`project_sheet` everything a
project page shows.

Searches run on the search index (:mod:`registry.services.search_index`) with the
database's full-text engine. Pagination is by page number or by opaque cursor; a cursor
is a keyset position (sort key, project id), so paging through a list while others write
never shows a project twice nor skips one whose sort key did not change.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from registry.errors import NotFoundError, ValidationError
from registry.services import search_index
from registry.services.search_index import raw
from registry.tables import (
    PUBLISHER_KINDS,
    ForgeAccount,
    Project,
    Publisher,
    PublisherIdentifier,
    ReuseDeclaration,
)

SORTS = ("relevance", "recent", "reused", "name")
MAX_PER_PAGE = 100
FACET_SIZE = 15
ACTIVITY_MONTHS = (3, 6, 12, 24)
REUSED_AT_LEAST = (1, 5, 10)
MONTH_S = 30 * 24 * 3600
CURRENT_STATUSES = ("evaluating", "production")


# --------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------


@dataclass
class ProjectQuery:
    """What a search asks. Lists are OR-ed within a filter, filters AND-ed together."""

    q: str = ""
    license: list[str] = field(default_factory=list)
    fr_authorised: bool | None = None
    language: list[str] = field(default_factory=list)
    publisher: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    country: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    publiccode_valid: bool | None = None
    active_months: int | None = None
    min_reused: int | None = None
    sort: str = ""
    page: int = 1
    per_page: int = 20
    cursor: str = ""
    facets: bool = True

    def params(self) -> list[tuple[str, str]]:
        """This query as URL parameters (without page/cursor), for toggles."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        for name in ("license", "language", "publisher", "kind", "country", "category"):
            out.extend((name, str(v)) for v in getattr(self, name))
        for name in ("fr_authorised", "publiccode_valid"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, "true" if value else "false"))
        for name in ("active_months", "min_reused"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, str(value)))
        if self.sort:
            out.append(("sort", self.sort))
        return out


@dataclass
class ProjectSummary:
    id: int
    slug: str
    name: str
    summary: str
    publisher_id: int | None
    publisher_name: str
    license: str
    fr_authorised: bool
    language: str
    publiccode_valid: bool
    last_activity_at: dt.datetime | None
    reused_by: int
    latest_stable: str


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    #: the query string that adds or removes this value (page reset)
    toggle: str


@dataclass
class Facet:
    name: str
    values: list[FacetValue]


@dataclass
class ProjectPage:
    items: list[ProjectSummary]
    total: int
    page: int | None
    per_page: int
    sort: str
    next_cursor: str | None
    facets: list[Facet]


def _encode_cursor(sort: str, key: Any, project_id: int) -> str:
    raw_bytes = json.dumps([sort, key, project_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw_bytes).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_name, key, project_id = json.loads(base64.urlsafe_b64decode(padded))
        if sort_name != sort or not isinstance(project_id, int):
            raise ValueError
        if not isinstance(key, int | float | str) or isinstance(key, bool):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ValidationError(
            "invalid cursor (it belongs to another sort or was altered)",
            errors=[{"field": "cursor", "message": "not a cursor of this list"}],
        ) from None
    return key, project_id


def _validate(query: ProjectQuery) -> str:
    sort = query.sort or ("relevance" if query.q.strip() else "name")
    if sort not in SORTS:
        raise ValidationError(
            f"unknown sort {sort!r}", errors=[{"field": "sort", "message": f"one of {SORTS}"}]
        )
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise ValidationError(
            f"per_page must be between 1 and {MAX_PER_PAGE}",
            errors=[{"field": "per_page", "message": f"1 to {MAX_PER_PAGE}"}],
        )
    if query.page < 1:
        raise ValidationError("page starts at 1", errors=[{"field": "page", "message": ">= 1"}])
    return sort


async def search_projects(query: ProjectQuery, *, now: float | None = None) -> ProjectPage:
    """One page of projects matching ``query``, its total and (unless ``facets=False``)
    facet counts over every matching project. Raises :class:`ValidationError` on a bad
    sort, page size or cursor."""
    sort = _validate(query)
    await search_index.sync()
    postgres = db_is_postgres()
    # to the minute: "active in the last N months" needs no more, and facet counts of
    # the same search can then be reused (see _FACET_CACHE)
    now = float(int(time.time()) // 60 * 60) if now is None else now
    tokens = search_index.query_tokens(query.q)
    if sort == "relevance" and not tokens:
        sort = "name"

    where: list[str] = []
    args: list[Any] = []
    source = "project_search s"
    rank = "0"
    if tokens:
        if postgres:
            source = "project_search s, to_tsquery('simple', {}) tq"
            args.append(search_index.tsquery_text(tokens))
            where.append("s.tsv @@ tq")
            rank = "ts_rank(s.tsv, tq)"
        else:
            source = (
                "(SELECT rowid AS fid, rank AS score FROM project_fts WHERE project_fts MATCH {}) f"
                " JOIN project_search s ON s.project_id = f.fid"
            )
            args.append(search_index.fts5_query(tokens))
            rank = "(-f.score)"

    def among(column: str, values: list[Any]) -> None:
        if values:
            where.append(f"{column} IN ({', '.join('{}' for _ in values)})")
            args.extend(values)

    among("s.license", query.license)
    among("s.publisher_id", query.publisher)
    among("s.publisher_kind", query.kind)
    among("s.country", query.country)
    for facet in ("language", "category"):
        values = getattr(query, facet)
        if values:
            marks = ", ".join("{}" for _ in values)
            where.append(
                "s.project_id IN (SELECT project_id FROM project_search_value "
                f"WHERE facet = '{facet}' AND value IN ({marks}))"
            )
            args.extend(values)
    if query.fr_authorised is not None:
        where.append("s.fr_authorised = {}")
        args.append(query.fr_authorised)
    if query.publiccode_valid is not None:
        where.append("s.publiccode_valid = {}")
        args.append(query.publiccode_valid)
    if query.active_months is not None:
        where.append("s.activity_ts >= {}")
        args.append(int(now - query.active_months * MONTH_S))
    if query.min_reused is not None:
        where.append("s.reused_by >= {}")
        args.append(query.min_reused)
    condition = " AND ".join(where) or "1 = 1"

    key_expr, descending = {
        "relevance": (rank, True),
        "recent": ("s.activity_ts", True),
        "reused": ("s.reused_by", True),
        "name": ("s.name_key", False),
    }[sort]
    page_where = condition
    page_args = list(args)
    if query.cursor:
        key, after_id = _decode_cursor(query.cursor, sort)
        if descending:
            page_where += f" AND ({key_expr} < {{}} OR ({key_expr} = {{}} AND s.project_id > {{}}))"
        else:
            page_where += f" AND ({key_expr} > {{}} OR ({key_expr} = {{}} AND s.project_id > {{}}))"
        page_args.extend([key, key, after_id])
        offset = 0
    else:
        offset = (query.page - 1) * query.per_page
    order = f"{key_expr} {'DESC' if descending else 'ASC'}, s.project_id ASC"
    rows = await raw(
        f"""SELECT s.project_id, s.slug, s.name, s.summary, s.publisher_id, s.publisher_name,
               s.license, s.fr_authorised, s.language, s.publiccode_valid, s.activity_ts,
               s.reused_by, s.latest_stable, {key_expr} AS sort_key
        FROM {source} WHERE {page_where} ORDER BY {order}
        LIMIT {query.per_page + 1} OFFSET {offset}""",
        *page_args,
    )
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    items = [
        ProjectSummary(
            id=int(r["project_id"]),
            slug=r["slug"],
            name=r["name"],
            summary=r["summary"],
            publisher_id=r["publisher_id"],
            publisher_name=r["publisher_name"],
            license=r["license"],
            fr_authorised=bool(r["fr_authorised"]),
            language=r["language"],
            publiccode_valid=bool(r["publiccode_valid"]),
            last_activity_at=(
                dt.datetime.fromtimestamp(r["activity_ts"], dt.UTC) if r["activity_ts"] else None
            ),
            reused_by=int(r["reused_by"]),
            latest_stable=r["latest_stable"],
        )
        for r in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key = last["sort_key"]
        next_cursor = _encode_cursor(
            sort, float(key) if sort == "relevance" else key, int(last["project_id"])
        )

    if query.facets:
        total, facets = await _facets(query, source, condition, args, now)
    else:
        count_sql = f"SELECT COUNT(*) AS n FROM {source} WHERE {condition}"
        key = (_engine_key(), search_index.indexed_change_id, count_sql, tuple(args))
        counted = _FACET_CACHE.get(key) if search_index.indexed_change_id >= 0 else None
        if counted is None:
            counted = await raw(count_sql, *args)
            if FACET_CACHE_SIZE:
                _FACET_CACHE[key] = counted
                while len(_FACET_CACHE) > FACET_CACHE_SIZE:
                    _FACET_CACHE.popitem(last=False)
        total, facets = int(counted[0]["n"]), []
    return ProjectPage(
        items=items,
        total=total,
        page=None if query.cursor else query.page,
        per_page=query.per_page,
        sort=sort,
        next_cursor=next_cursor,
        facets=facets,
    )


def db_is_postgres() -> bool:
    from registry import db

    return db.current_engine().engine_type == "postgres"


_GROUPED = (
    ("license", "s.license", "s.license"),
    ("publisher", "CAST(s.publisher_id AS VARCHAR(20))", "s.publisher_name"),
    ("kind", "s.publisher_kind", "s.publisher_kind"),
    ("country", "s.country", "s.country"),
)


#: facet counts and totals of recent searches, keyed by the index version: paging through results or
#: a popular search reuses them until the catalogue changes. 0 turns the cache off.
FACET_CACHE_SIZE = 256
_FACET_CACHE: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()


def _engine_key() -> str:
    from registry import db

    engine = db.current_engine()
    return str(getattr(engine, "path", "") or getattr(engine, "config", {}).get("dsn", ""))


def clear_facet_cache() -> None:
    _FACET_CACHE.clear()


async def _facets(
    query: ProjectQuery, source: str, condition: str, args: list[Any], now: float
) -> tuple[int, list[Facet]]:
    branches = []
    for name, value_expr, label_expr in _GROUPED:
        branches.append(
            f"SELECT '{name}' AS f, {value_expr} AS v, MAX({label_expr}) AS l, COUNT(*) AS n "
            f"FROM m s WHERE {value_expr} IS NOT NULL AND {value_expr} <> '' "
            f"GROUP BY {value_expr}"
        )
    for name in ("language", "category"):
        # the matched set drives, probing the values by primary key: CROSS JOIN fixes the
        # join order on SQLite, LATERAL on PostgreSQL (else it hashes the whole table)
        if db_is_postgres():
            join = (
                "CROSS JOIN LATERAL (SELECT value FROM project_search_value x WHERE "
                f"x.project_id = s.project_id AND x.facet = '{name}' OFFSET 0) v"
            )
        else:
            join = (
                "CROSS JOIN project_search_value v ON v.project_id = s.project_id "
                f"AND v.facet = '{name}'"
            )
        branches.append(
            f"SELECT '{name}' AS f, v.value AS v, v.value AS l, COUNT(*) AS n FROM m s "
            f"{join} GROUP BY v.value"
        )
    # counters: one grouped scan each, cumulated in Python
    activity_case = " ".join(
        f"WHEN s.activity_ts >= {int(now - months * MONTH_S)} THEN '{months}'"
        for months in ACTIVITY_MONTHS
    )
    reused_case = " ".join(
        f"WHEN s.reused_by >= {least} THEN '{least}'" for least in reversed(REUSED_AT_LEAST)
    )
    for name, expr in (
        ("_fr", "CASE WHEN s.fr_authorised THEN 'true' ELSE 'false' END"),
        ("_pc", "CASE WHEN s.publiccode_valid THEN 'true' ELSE 'false' END"),
        ("_active", f"CASE {activity_case} ELSE '0' END"),
        ("_reused", f"CASE {reused_case} ELSE '0' END"),
    ):
        branches.append(
            f"SELECT '{name}' AS f, {expr} AS v, '' AS l, COUNT(*) AS n FROM m s GROUP BY {expr}"
        )
    matched = (
        f"WITH m AS MATERIALIZED (SELECT s.project_id, s.license, s.publisher_id, "
        f"s.publisher_name, s.publisher_kind, s.country, s.fr_authorised, s.publiccode_valid, "
        f"s.activity_ts, s.reused_by FROM {source} WHERE {condition}) "
    )
    grouped_sql = (
        matched
        + "SELECT f, v, l, n FROM (SELECT f, v, l, n, ROW_NUMBER() OVER "
        + "(PARTITION BY f ORDER BY n DESC, v) AS r FROM ("
        + " UNION ALL ".join(branches)
        + f") u) x WHERE r <= {FACET_SIZE}"
    )
    key = (_engine_key(), search_index.indexed_change_id, grouped_sql, tuple(args))
    cached = _FACET_CACHE.get(key) if search_index.indexed_change_id >= 0 else None
    if cached is not None:
        _FACET_CACHE.move_to_end(key)
        grouped = cached
    else:
        grouped = await raw(grouped_sql, *args)
        if FACET_CACHE_SIZE:
            _FACET_CACHE[key] = grouped
            while len(_FACET_CACHE) > FACET_CACHE_SIZE:
                _FACET_CACHE.popitem(last=False)
    counters: dict[str, dict[str, int]] = defaultdict(dict)
    for row in grouped:
        if row["f"].startswith("_"):
            counters[row["f"]][str(row["v"])] = int(row["n"])
    total = sum(counters["_fr"].values())

    def at_least(name: str, steps: tuple[int, ...]) -> dict[int, int]:
        """Cumulative counts: bucket k holds rows that reach step k but not the next."""
        out, running = {}, 0
        for step in sorted(steps, reverse=(name == "_reused")):
            running += counters[name].get(str(step), 0)
            out[step] = running
        return out

    active = at_least("_active", ACTIVITY_MONTHS)
    reused = at_least("_reused", REUSED_AT_LEAST)
    counted = {
        "fr": counters["_fr"].get("true", 0),
        "pc": counters["_pc"].get("true", 0),
        **{f"a{m}": active[m] for m in ACTIVITY_MONTHS},
        **{f"r{n}": reused[n] for n in REUSED_AT_LEAST},
    }

    base = query.params()
    values: dict[str, list[FacetValue]] = defaultdict(list)

    def toggle(name: str, value: str, selected: bool) -> str:
        if selected:
            params = [(k, v) for k, v in base if not (k == name and v == value)]
        elif name in ("fr_authorised", "publiccode_valid", "active_months", "min_reused"):
            params = [(k, v) for k, v in base if k != name] + [(name, value)]
        else:
            params = [*base, (name, value)]
        return urlencode(params)

    selected_lists = {
        "license": query.license,
        "publisher": [str(p) for p in query.publisher],
        "kind": query.kind,
        "country": query.country,
        "language": query.language,
        "category": query.category,
    }
    for row in grouped:
        name = row["f"]
        if name.startswith("_"):
            continue
        value = str(row["v"])
        chosen = value in selected_lists[name]
        values[name].append(
            FacetValue(
                value=value,
                label=str(row["l"] or value),
                count=int(row["n"]),
                selected=chosen,
                toggle=toggle(name, value, chosen),
            )
        )
    for name, chosen_values in selected_lists.items():
        present = {v.value for v in values[name]}
        for value in chosen_values:
            if value not in present:
                values[name].append(FacetValue(value, value, 0, True, toggle(name, value, True)))
    facets = [
        Facet(name, values[name])
        for name in ("license", "language", "publisher", "kind", "country", "category")
    ]

    def flag(name: str, count: int, current: bool | None) -> Facet:
        chosen = current is True
        return Facet(
            name,
            [FacetValue("true", "yes", count, chosen, toggle(name, "true", chosen))],
        )

    facets.append(flag("fr_authorised", int(counted["fr"] or 0), query.fr_authorised))
    facets.append(flag("publiccode_valid", int(counted["pc"] or 0), query.publiccode_valid))
    facets.append(
        Facet(
            "active_months",
            [
                FacetValue(
                    str(m),
                    f"{m} months",
                    int(counted[f"a{m}"] or 0),
                    query.active_months == m,
                    toggle("active_months", str(m), query.active_months == m),
                )
                for m in ACTIVITY_MONTHS
            ],
        )
    )
    facets.append(
        Facet(
            "min_reused",
            [
                FacetValue(
                    str(n),
                    f"{n}+ reusers",
                    int(counted[f"r{n}"] or 0),
                    query.min_reused == n,
                    toggle("min_reused", str(n), query.min_reused == n),
                )
                for n in REUSED_AT_LEAST
            ],
        )
    )
    return total, facets


# --------------------------------------------------------------------------------------
# Project sheet
# --------------------------------------------------------------------------------------


@dataclass
class ReleaseInfo:
    tag: str
    version: str
    is_prerelease: bool
    published_at: dt.datetime | None
    name: str


@dataclass
class LicenseInfo:
    source: str
    expression: str
    file: str
    confidence: float


@dataclass
class RepositoryInfo:
    id: int
    url: str
    forge_kind: str
    full_name: str
    description: str
    default_branch: str
    language: str
    topics: list[str]
    is_fork: bool
    is_archived: bool
    pushed_at: dt.datetime | None
    gone_at: dt.datetime | None
    publiccode_valid: bool | None
    publiccode_results: list[Any]
    has_publiccode: bool
    releases: list[ReleaseInfo]
    licenses: list[LicenseInfo]


@dataclass
class PublisherRef:
    id: int
    slug: str
    name: str
    kind: str
    country: str


@dataclass
class ReuserInfo:
    declaration_id: int
    publisher: PublisherRef
    version: str
    status: str
    since: dt.date | None
    service_url: str
    outdated: bool
    updated_at: dt.datetime | None


@dataclass
class ProjectRef:
    id: int
    slug: str
    name: str
    relation: str


@dataclass
class ProjectSheet:
    id: int
    slug: str
    name: str
    description: dict[str, str]
    publisher: PublisherRef | None
    landing_url: str
    categories: list[str]
    platforms: list[str]
    topics: list[str]
    development_status: str
    license_expression: str
    fr_authorised: bool
    latest_stable: str
    latest_published: str
    last_activity_at: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    repositories: list[RepositoryInfo]
    maintainers: list[PublisherRef]
    reusers: list[ReuserInfo]
    outdated_reusers: list[ReuserInfo]
    related: list[ProjectRef]
    publiccode_text: str


def _loads(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value else default
        except ValueError:
            return default
    return default if value is None else value


def _older(version: str, latest: str) -> bool:
    """Whether ``version`` is older than ``latest`` (unparseable versions are not)."""
    if not version or not latest or version == latest:
        return False
    from registry import versions

    try:
        return versions.parse_tag(version).precedence < versions.parse_tag(latest).precedence
    except Exception:  # a free-text version cannot be compared
        return False


def _when(value: Any) -> dt.datetime | None:
    """A timestamp read by raw SQL (a datetime, or ISO text on SQLite)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def _publisher_ref(row: dict[str, Any]) -> PublisherRef:
    return PublisherRef(
        id=int(row["id"]),
        slug=row["slug"],
        name=row["name"],
        kind=row["kind"],
        country=row["country"],
    )


async def project_id_for(key: str | int) -> int:
    """The id of a project given its id or slug; :class:`NotFoundError` otherwise."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        row = await Project.select(Project.id).where(Project.id == int(key)).first()
    else:
        row = await Project.select(Project.id).where(Project.slug == key).first()
    if row is None:
        raise NotFoundError(f"project {key!r} does not exist")
    return int(row["id"])


async def project_sheet(key: str | int) -> ProjectSheet:
    """Everything a project page shows; ``key`` is an id or a slug."""
    by_id = isinstance(key, int) or key.isdigit()
    found = await raw(
        "SELECT p.*, pub.slug AS pub_slug, pub.name AS pub_name, pub.kind AS pub_kind, "
        "pub.country AS pub_country FROM project p "
        "LEFT JOIN publisher pub ON pub.id = p.publisher WHERE "
        + ("p.id = {}" if by_id else "p.slug = {}"),
        int(key) if by_id else key,
    )
    if not found:
        raise NotFoundError(f"project {key!r} does not exist")
    p = found[0]
    pid = int(p["id"])
    publisher = None
    if p["publisher"] is not None:
        publisher = PublisherRef(
            id=int(p["publisher"]),
            slug=p["pub_slug"],
            name=p["pub_name"],
            kind=p["pub_kind"],
            country=p["pub_country"],
        )
    repos = await raw(
        "SELECT id, url, forge_kind, full_name, description, default_branch, language, topics, "
        "is_fork, is_archived, pushed_at, gone_at, publiccode_valid, publiccode_results, "
        "publiccode_text, forge_account FROM repository WHERE project = {} ORDER BY id",
        pid,
    )
    repo_ids = [int(r["id"]) for r in repos]
    releases: dict[int, list[ReleaseInfo]] = defaultdict(list)
    licenses: dict[int, list[LicenseInfo]] = defaultdict(list)
    if repo_ids:
        marks = ", ".join("{}" for _ in repo_ids)
        for r in await raw(
            "SELECT repository, tag, version, is_prerelease, published_at, name FROM release "
            f"WHERE repository IN ({marks}) ORDER BY published_at DESC, id DESC",
            *repo_ids,
        ):
            releases[int(r["repository"])].append(
                ReleaseInfo(
                    r["tag"],
                    r["version"],
                    bool(r["is_prerelease"]),
                    _when(r["published_at"]),
                    r["name"],
                )
            )
        for r in await raw(
            "SELECT repository, source, expression, file, confidence FROM license_finding "
            f"WHERE repository IN ({marks}) ORDER BY source, file",
            *repo_ids,
        ):
            licenses[int(r["repository"])].append(
                LicenseInfo(r["source"], r["expression"], r["file"], float(r["confidence"]))
            )
    publiccode_text = ""
    repositories = []
    account_ids = set()
    for r in repos:
        if r["publiccode_text"] and not publiccode_text:
            publiccode_text = r["publiccode_text"]
        if r["forge_account"] is not None:
            account_ids.add(int(r["forge_account"]))
        repositories.append(
            RepositoryInfo(
                id=int(r["id"]),
                url=r["url"],
                forge_kind=r["forge_kind"],
                full_name=r["full_name"],
                description=r["description"],
                default_branch=r["default_branch"],
                language=r["language"],
                topics=list(_loads(r["topics"], [])),
                is_fork=bool(r["is_fork"]),
                is_archived=bool(r["is_archived"]),
                pushed_at=_when(r["pushed_at"]),
                gone_at=_when(r["gone_at"]),
                publiccode_valid=None
                if r["publiccode_valid"] is None
                else bool(r["publiccode_valid"]),
                publiccode_results=list(_loads(r["publiccode_results"], [])),
                has_publiccode=bool(r["publiccode_text"]),
                releases=releases.get(int(r["id"]), []),
                licenses=licenses.get(int(r["id"]), []),
            )
        )
    maintainers: dict[int, PublisherRef] = {}
    if publisher:
        maintainers[publisher.id] = publisher
    if account_ids:
        for row in await raw(
            "SELECT DISTINCT pub.id, pub.slug, pub.name, pub.kind, pub.country FROM publisher pub "
            "JOIN forge_account fa ON fa.publisher = pub.id WHERE fa.id IN ("
            + ", ".join("{}" for _ in account_ids)
            + ")",
            *sorted(account_ids),
        ):
            maintainers.setdefault(int(row["id"]), _publisher_ref(row))

    reusers: list[ReuserInfo] = []
    for row in await raw(
        "SELECT d.id AS did, d.version, d.status, d.since, d.service_url, d.updated_at, "
        "pub.id, pub.slug, pub.name, pub.kind, pub.country FROM reuse_declaration d "
        "JOIN publisher pub ON pub.id = d.publisher WHERE d.project = {} "
        "AND d.status <> 'withdrawn' ORDER BY pub.name, d.id",
        pid,
    ):
        since = row["since"]
        if isinstance(since, str):
            since = dt.date.fromisoformat(since) if since else None
        updated = row["updated_at"]
        if isinstance(updated, str):
            updated = dt.datetime.fromisoformat(updated)
        reusers.append(
            ReuserInfo(
                declaration_id=int(row["did"]),
                publisher=_publisher_ref(row),
                version=row["version"],
                status=row["status"],
                since=since,
                service_url=row["service_url"],
                outdated=row["status"] in CURRENT_STATUSES
                and _older(row["version"], p["latest_stable"]),
                updated_at=updated,
            )
        )
    related: list[ProjectRef] = []
    branches, values = [], []
    if p["based_on"] is not None:
        branches.append("SELECT 'based_on' AS rel, id, slug, name FROM project WHERE id = {}")
        values.append(p["based_on"])
    if p["parent"] is not None:
        branches.append("SELECT 'parent' AS rel, id, slug, name FROM project WHERE id = {}")
        branches.append(
            "SELECT 'sibling' AS rel, id, slug, name FROM project WHERE parent = {} AND id <> {}"
        )
        values.extend([p["parent"], p["parent"], pid])
    branches.append("SELECT 'derived' AS rel, id, slug, name FROM project WHERE based_on = {}")
    branches.append("SELECT 'child' AS rel, id, slug, name FROM project WHERE parent = {}")
    values.extend([pid, pid])
    for row in await raw(
        "SELECT rel, id, slug, name FROM (" + " UNION ALL ".join(branches) + ") x "
        "ORDER BY rel, name LIMIT 200",
        *values,
    ):
        related.append(ProjectRef(int(row["id"]), row["slug"], row["name"], row["rel"]))
    description = _loads(p["description"], {})
    return ProjectSheet(
        id=pid,
        slug=p["slug"],
        name=p["name"],
        description={str(k): str(v) for k, v in description.items()}
        if isinstance(description, dict)
        else {},
        publisher=publisher,
        landing_url=p["landing_url"],
        categories=[str(c) for c in _loads(p["categories"], [])],
        platforms=[str(c) for c in _loads(p["platforms"], [])],
        topics=[str(c) for c in _loads(p["topics"], [])],
        development_status=p["development_status"],
        license_expression=p["license_expression"],
        fr_authorised=search_index.fr_authorised(p["license_expression"] or ""),
        latest_stable=p["latest_stable"],
        latest_published=p["latest_published"],
        last_activity_at=_when(p["last_activity_at"]),
        created_at=_when(p["created_at"]),
        updated_at=_when(p["updated_at"]),
        repositories=repositories,
        maintainers=list(maintainers.values()),
        reusers=reusers,
        outdated_reusers=[r for r in reusers if r.outdated],
        related=related,
        publiccode_text=publiccode_text,
    )


# --------------------------------------------------------------------------------------
# Publishers
# --------------------------------------------------------------------------------------


@dataclass
class PublisherSummary:
    id: int
    slug: str
    name: str
    kind: str
    country: str
    website: str
    projects: int


@dataclass
class PublisherList:
    items: list[PublisherSummary]
    total: int
    next_cursor: str | None


@dataclass
class ForgeAccountInfo:
    id: int
    forge_kind: str
    base_url: str
    owner: str
    last_crawled_at: dt.datetime | None


@dataclass
class PublisherSheet:
    id: int
    slug: str
    name: str
    kind: str
    country: str
    website: str
    ospo_url: str
    floss_policy_url: str
    description: str
    identifiers: dict[str, str]
    forge_accounts: list[ForgeAccountInfo]
    published: list[ProjectRef]
    reused: list[ProjectRef]
    updated_at: dt.datetime | None


async def list_publishers(
    *, kind: str = "", country: str = "", cursor: str = "", per_page: int = 50
) -> PublisherList:
    """Publishers by name, with how many projects each publishes; cursor pagination."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    where, args = ["1 = 1"], []
    if kind:
        where.append("p.kind = {}")
        args.append(kind)
    if country:
        where.append("p.country = {}")
        args.append(country)
    total = int(
        (await raw(f"SELECT COUNT(*) AS n FROM publisher p WHERE {' AND '.join(where)}", *args))[0][
            "n"
        ]
    )
    if cursor:
        name, after = _decode_cursor(cursor, "publisher")
        where.append("(p.name > {} OR (p.name = {} AND p.id > {}))")
        args.extend([name, name, after])
    rows = await raw(
        "SELECT p.id, p.slug, p.name, p.kind, p.country, p.website, "
        "(SELECT COUNT(*) FROM project x WHERE x.publisher = p.id) AS projects "
        f"FROM publisher p WHERE {' AND '.join(where)} ORDER BY p.name, p.id "
        f"LIMIT {per_page + 1}",
        *args,
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    items = [
        PublisherSummary(
            int(r["id"]),
            r["slug"],
            r["name"],
            r["kind"],
            r["country"],
            r["website"],
            int(r["projects"]),
        )
        for r in rows
    ]
    next_cursor = (
        _encode_cursor("publisher", rows[-1]["name"], int(rows[-1]["id"]))
        if more and rows
        else None
    )
    return PublisherList(items, total, next_cursor)


async def publisher_id_for(key: str | int) -> int:
    if isinstance(key, int) or key.isdigit():
        row = await Publisher.select(Publisher.id).where(Publisher.id == int(key)).first()
    else:
        row = await Publisher.select(Publisher.id).where(Publisher.slug == key).first()
    if row is None:
        raise NotFoundError(f"publisher {key!r} does not exist")
    return int(row["id"])


async def publisher_sheet(key: str | int) -> PublisherSheet:
    """A publisher with its forge accounts, the projects it publishes and those it reuses."""
    pid = await publisher_id_for(key)
    p = await Publisher.select().where(Publisher.id == pid).first()
    assert p is not None
    identifiers = {
        r["scheme"]: r["value"]
        for r in await PublisherIdentifier.select().where(PublisherIdentifier.publisher == pid)
    }
    accounts = [
        ForgeAccountInfo(
            int(r["id"]), r["forge_kind"], r["base_url"], r["owner"], r["last_crawled_at"]
        )
        for r in await ForgeAccount.select(
            ForgeAccount.id,
            ForgeAccount.forge_kind,
            ForgeAccount.base_url,
            ForgeAccount.owner,
            ForgeAccount.last_crawled_at,
        )
        .where(ForgeAccount.publisher == pid)
        .order_by(ForgeAccount.id)
    ]
    published = [
        ProjectRef(int(r["id"]), r["slug"], r["name"], "published")
        for r in await Project.select(Project.id, Project.slug, Project.name)
        .where(Project.publisher == pid)
        .order_by(Project.name)
        .limit(1000)
    ]
    reused = [
        ProjectRef(int(r["id"]), r["slug"], r["name"], r["status"])
        for r in await raw(
            "SELECT x.id, x.slug, x.name, d.status FROM reuse_declaration d "
            "JOIN project x ON x.id = d.project WHERE d.publisher = {} "
            "AND d.status <> 'withdrawn' ORDER BY x.name",
            pid,
        )
    ]
    return PublisherSheet(
        id=pid,
        slug=p["slug"],
        name=p["name"],
        kind=p["kind"],
        country=p["country"],
        website=p["website"],
        ospo_url=p["ospo_url"],
        floss_policy_url=p["floss_policy_url"],
        description=p["description"],
        identifiers=identifiers,
        forge_accounts=accounts,
        published=published,
        reused=reused,
        updated_at=p["updated_at"],
    )


PUBLISHER_FIELDS = (
    "name",
    "kind",
    "country",
    "website",
    "ospo_url",
    "floss_policy_url",
    "description",
)


def _check_publisher_fields(values: dict[str, Any]) -> None:
    if "kind" in values and values["kind"] not in PUBLISHER_KINDS:
        raise ValidationError(
            f"unknown publisher kind {values['kind']!r}",
            errors=[{"field": "kind", "message": f"one of {list(PUBLISHER_KINDS)}"}],
        )
    if (
        "country" in values
        and values["country"]
        and (len(values["country"]) != 2 or not values["country"].isalpha())
    ):
        raise ValidationError(
            "country is an ISO 3166-1 alpha-2 code",
            errors=[{"field": "country", "message": "two letters"}],
        )


async def create_publisher(slug: str, values: dict[str, Any], *, actor: str) -> int:
    """Create a publisher (admins); :class:`ConflictError` when the slug is taken."""
    from registry import db
    from registry.errors import ConflictError
    from registry.services import changelog

    _check_publisher_fields(values)
    if "country" in values:
        values["country"] = values["country"].upper()
    async with db.transaction():
        if await Publisher.exists().where(Publisher.slug == slug):
            raise ConflictError(
                f"publisher {slug!r} already exists",
                errors=[{"field": "slug", "message": "already taken"}],
            )
        rows = await Publisher.insert(Publisher(slug=slug, **values)).returning(Publisher.id)
        pid = int(rows[0]["id"])
        await changelog.record("publisher", pid, "added", {"slug": slug, **values}, actor=actor)
    return pid


async def update_publisher(key: str | int, values: dict[str, Any], *, actor: str) -> int:
    """Change some of a publisher's fields (admins); records the change."""
    from registry import db
    from registry.services import changelog

    _check_publisher_fields(values)
    if "country" in values:
        values["country"] = values["country"].upper()
    pid = await publisher_id_for(key)
    async with db.transaction():
        old = await Publisher.select().where(Publisher.id == pid).first()
        assert old is not None
        changes = {k: v for k, v in values.items() if old.get(k) != v}
        if changes:
            await Publisher.update(
                {
                    **{getattr(Publisher, k): v for k, v in changes.items()},
                    Publisher.updated_at: dt.datetime.now(dt.UTC),
                }
            ).where(Publisher.id == pid)
            await changelog.record("publisher", pid, "update", changes, actor=actor)
    return pid


async def reuse_count(project_id: int) -> int:
    return await ReuseDeclaration.count().where(
        (ReuseDeclaration.project == project_id)
        & ReuseDeclaration.status.is_in(list(CURRENT_STATUSES))
    )
