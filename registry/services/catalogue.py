"""Reading the catalogue: project search with facets, project sheets, publishers.

Pure database services shared by the API and the web pages: they take plain values and
return dataclasses, never HTTP types. One call per page: :func:`search_projects` returns
the items, the total, the facets and the next cursor; :func:`project_sheet` everything a
project page shows.

Searches run on the search index (:mod:`registry.services.search_index`) with the
database's full-text engine; totals, facet counts and numbered pages come from the
in-process facet index of the index's current version
(:mod:`registry.services.facet_index`), so no request groups the matched rows in SQL.
Pagination is by page number or by opaque cursor; a cursor is a keyset position (sort
key, project id) read by SQL, so paging through a list while others write never shows a
project twice nor skips one whose sort key did not change.
"""

from __future__ import annotations

import base64
import datetime as dt
import heapq
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from registry.errors import NotFoundError, ValidationError
from registry.services import facet_index, search_index
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


#: a relevance cursor's key after a page of a broad match (one matching most of the
#: catalogue, see ``facet_index.BROAD_SHARE``), whose relevance order is the recent one
RECENT_KEY = "recent:"


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
    sort, page size or cursor.

    Totals, facet counts and numbered pages come from the facet index
    (:mod:`registry.services.facet_index`) of the search index's current version; the
    full-text match is the database engine's. A facet's counts leave out that facet's
    own filter (the other filters apply): each value shows what choosing it alone would
    give. Cursor pages are read by SQL keyset queries (stable while others write)."""
    sort = _validate(query)
    await search_index.sync()
    # to the minute: "active in the last N months" needs no more
    now = float(int(time.time()) // 60 * 60) if now is None else now
    tokens = search_index.query_tokens(query.q)
    if sort == "relevance" and not tokens:
        sort = "name"
    if query.cursor:
        _decode_cursor(query.cursor, sort)  # a bad cursor is refused before any work
    snap = await facet_index.snapshot()
    found = await facet_index.match(snap, tokens) if tokens else None
    matched = found.bits if found is not None else snap.present
    filters = _filter_bits(snap, query, now)
    selected = matched
    for bits in filters.values():
        selected &= bits
    total = selected.bit_count()
    if query.cursor:
        items, next_cursor = await _cursor_page(query, sort, tokens, now)
    else:
        items, next_cursor = await _numbered_page(snap, found, sort, selected, query)
    return ProjectPage(
        items=items,
        total=total,
        page=None if query.cursor else query.page,
        per_page=query.per_page,
        sort=sort,
        next_cursor=next_cursor,
        facets=_facets(snap, query, matched, filters, now) if query.facets else [],
    )


def _filter_bits(snap: facet_index.Snapshot, query: ProjectQuery, now: float) -> dict[str, int]:
    """The projects each active filter keeps, by filter name."""
    out: dict[str, int] = {}
    for name in facet_index.VALUE_FACETS:
        chosen = getattr(query, name)
        if chosen:
            out[name] = snap.any_of(name, chosen)
    if query.publisher:
        out["publisher"] = snap.publishers(query.publisher)
    for name, bits in (
        ("fr_authorised", snap.fr_authorised),
        ("publiccode_valid", snap.publiccode_valid),
    ):
        wanted = getattr(query, name)
        if wanted is not None:
            out[name] = bits if wanted else snap.present & ~bits
    if query.active_months is not None:
        out["active_months"] = snap.active_since(int(now - query.active_months * MONTH_S))
    if query.min_reused is not None:
        out["min_reused"] = snap.reused_at_least(query.min_reused)
    return out


_SUMMARY_COLUMNS = (
    "s.project_id, s.slug, s.name, s.summary, s.publisher_id, s.publisher_name, s.license, "
    "s.fr_authorised, s.language, s.publiccode_valid, s.activity_ts, s.reused_by, "
    "s.latest_stable"
)


def _summary(r: dict[str, Any]) -> ProjectSummary:
    return ProjectSummary(
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


async def _numbered_page(
    snap: facet_index.Snapshot,
    found: facet_index.Match | None,
    sort: str,
    selected: int,
    query: ProjectQuery,
) -> tuple[list[ProjectSummary], str | None]:
    """Page ``query.page`` in ``sort`` order, chosen from the facet index's orders; the
    rows themselves are read by primary key."""
    offset = (query.page - 1) * query.per_page
    order: Any
    broad = sort == "relevance" and found is not None and found.order is None
    if sort == "relevance" and not broad:
        assert found is not None
        order = found.order
    elif sort == "recent" or broad:  # a broad match's relevance order is the recent one
        order = None  # positions are in recent order
    elif sort == "name":
        order = snap.name_order
    else:
        order = snap.reused_order
    if order is None:
        indices = snap.recent_page(selected, offset, query.per_page + 1)
    else:
        indices = facet_index.page(order, selected, snap.size, offset, query.per_page + 1)
    more = len(indices) > query.per_page
    indices = indices[: query.per_page]
    positions = indices if order is None else [order[i] for i in indices]
    ids = [snap.ids[p] for p in positions]
    if not ids:
        return [], None
    rows = await raw(
        f"SELECT {_SUMMARY_COLUMNS}, s.name_key FROM project_search s "
        f"WHERE s.project_id IN ({', '.join('{}' for _ in ids)})",
        *ids,
    )
    by_id = {int(r["project_id"]): r for r in rows}
    items = [_summary(by_id[i]) for i in ids if i in by_id]
    next_cursor = None
    last = by_id.get(ids[-1])
    if more and last is not None:
        key: Any = {
            "recent": last["activity_ts"],
            "reused": last["reused_by"],
            "name": last["name_key"],
        }.get(sort)
        if broad:  # the cursor says the recent order continues
            key = f"{RECENT_KEY}{int(last['activity_ts'])}"
        elif sort == "relevance":
            assert found is not None and found.keys is not None
            key = float(found.keys[indices[-1]])
        next_cursor = _encode_cursor(sort, key, ids[-1])
    return items, next_cursor


async def _cursor_page(
    query: ProjectQuery, sort: str, tokens: list[str], now: float
) -> tuple[list[ProjectSummary], str | None]:
    """The page after ``query.cursor``: a keyset query, so paging while others write
    never shows a project twice nor skips one whose sort key did not change."""
    where: list[str] = []
    args: list[Any] = []
    source = "project_search s"
    rank = "0"
    if tokens:
        if db_is_postgres():
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

    key_expr, descending = {
        "relevance": (rank, True),
        "recent": ("s.activity_ts", True),
        "reused": ("s.reused_by", True),
        "name": ("s.name_key", False),
    }[sort]
    key, after_id = _decode_cursor(query.cursor, sort)
    broad = sort == "relevance" and isinstance(key, str)
    if broad:  # after a page of a broad match: its relevance order is the recent one
        if not key.startswith(RECENT_KEY) or not key[len(RECENT_KEY) :].lstrip("-").isdigit():
            raise ValidationError(
                "invalid cursor (it belongs to another sort or was altered)",
                errors=[{"field": "cursor", "message": "not a cursor of this list"}],
            )
        key_expr, key = "s.activity_ts", int(key[len(RECENT_KEY) :])
        source = source.replace("rowid AS fid, rank AS score", "rowid AS fid")  # no bm25
    comparison = "<" if descending else ">"
    where.append(f"({key_expr} {comparison} {{}} OR ({key_expr} = {{}} AND s.project_id > {{}}))")
    args.extend([key, key, after_id])
    order = f"{key_expr} {'DESC' if descending else 'ASC'}, s.project_id ASC"
    rows = await raw(
        f"SELECT {_SUMMARY_COLUMNS}, {key_expr} AS sort_key "
        f"FROM {source} WHERE {' AND '.join(where)} ORDER BY {order} "
        f"LIMIT {query.per_page + 1}",
        *args,
    )
    more = len(rows) > query.per_page
    rows = rows[: query.per_page]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        last_key = last["sort_key"]
        next_cursor = _encode_cursor(
            sort,
            f"{RECENT_KEY}{int(last_key)}"
            if broad
            else float(last_key)
            if sort == "relevance"
            else last_key,
            int(last["project_id"]),
        )
    return [_summary(r) for r in rows], next_cursor


def db_is_postgres() -> bool:
    from registry import db

    return db.current_engine().engine_type == "postgres"


def clear_facet_cache() -> None:
    """Forget the facet index (tests that empty the catalogue behind the change log)."""
    facet_index.clear()


def _facets(
    snap: facet_index.Snapshot,
    query: ProjectQuery,
    matched: int,
    filters: dict[str, int],
    now: float,
) -> list[Facet]:
    """Facet counts: for each facet, the matched projects that pass every *other*
    filter, per value (the top :data:`FACET_SIZE`, then any chosen value beyond)."""

    def among(excluded: str) -> int:
        bits = matched
        for name, kept in filters.items():
            if name != excluded:
                bits &= kept
        return bits

    base = query.params()
    encoded = [urlencode([pair]) for pair in base]

    def toggle(name: str, value: str, selected: bool) -> str:
        """The query string with ``name=value`` added, or removed when ``selected``
        (flags and thresholds replace their previous value)."""
        if selected:
            kept = [e for (k, v), e in zip(base, encoded, strict=True) if (k, v) != (name, value)]
            return "&".join(kept)
        if name in ("fr_authorised", "publiccode_valid", "active_months", "min_reused"):
            kept = [e for (k, _), e in zip(base, encoded, strict=True) if k != name]
        else:
            kept = list(encoded)
        return "&".join([*kept, urlencode([(name, value)])])

    selected_lists = {
        "license": query.license,
        "publisher": [str(p) for p in query.publisher],
        "kind": query.kind,
        "country": query.country,
        "language": query.language,
        "category": query.category,
    }
    counted: dict[str, dict[str, int]] = {}
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for name in facet_index.VALUE_FACETS:
        bits = among(name)
        counted[name] = {
            value: n
            for value, kept in snap.values[name].items()
            if value and (n := (bits & kept).bit_count())
        }
    publishers = facet_index.count_publishers(snap, among("publisher"))
    # thousands of publishers: only the top ones and the chosen ones are shown
    wanted = heapq.nsmallest(
        FACET_SIZE, publishers.items(), key=lambda item: (-item[1], str(item[0]))
    )
    wanted.extend((p, publishers.get(p, 0)) for p in query.publisher)
    counted["publisher"] = {str(pid): n for pid, n in wanted if n}
    labels["publisher"] = {str(pid): snap.publisher_names.get(pid, "") for pid, _ in wanted}

    facets = []
    for name in ("license", "language", "publisher", "kind", "country", "category"):
        counts = counted[name]
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_SIZE]
        shown = {value for value, _ in top}
        chosen = selected_lists[name]
        top.extend((value, counts.get(value, 0)) for value in chosen if value not in shown)
        facets.append(
            Facet(
                name,
                [
                    FacetValue(
                        value=value,
                        label=labels[name].get(value) or value,
                        count=n,
                        selected=value in chosen,
                        toggle=toggle(name, value, value in chosen),
                    )
                    for value, n in top
                ],
            )
        )

    def flag(name: str, kept: int, current: bool | None) -> Facet:
        chosen = current is True
        count = (among(name) & kept).bit_count()
        return Facet(name, [FacetValue("true", "yes", count, chosen, toggle(name, "true", chosen))])

    facets.append(flag("fr_authorised", snap.fr_authorised, query.fr_authorised))
    facets.append(flag("publiccode_valid", snap.publiccode_valid, query.publiccode_valid))
    active = among("active_months")
    facets.append(
        Facet(
            "active_months",
            [
                FacetValue(
                    str(m),
                    f"{m} months",
                    (active & snap.active_since(int(now - m * MONTH_S))).bit_count(),
                    query.active_months == m,
                    toggle("active_months", str(m), query.active_months == m),
                )
                for m in ACTIVITY_MONTHS
            ],
        )
    )
    reused = among("min_reused")
    facets.append(
        Facet(
            "min_reused",
            [
                FacetValue(
                    str(n),
                    f"{n}+ reusers",
                    (reused & snap.reused_at_least(n)).bit_count(),
                    query.min_reused == n,
                    toggle("min_reused", str(n), query.min_reused == n),
                )
                for n in REUSED_AT_LEAST
            ],
        )
    )
    return facets


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
