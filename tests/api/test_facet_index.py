"""The in-process facet index against plain SQL, on SQLite and PostgreSQL.

Totals, facet counts and numbered pages come from bitsets (``registry.services.
facet_index``); every figure here is checked against a plain query over the search index
tables written by the test itself, on a random catalogue, and again after the catalogue
changes (a count from an older version of the catalogue would fail).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import pytest

from registry import db
from registry.services import catalogue, changelog, facet_index, search_index
from registry.tables import Project, Publisher, Repository, ReuseDeclaration
from tests.api.conftest import add_project, reset_search_index

LICENSES = ("MIT", "EUPL-1.2", "AGPL-3.0-or-later", "LicenseRef-proprietary", "")
LANGUAGES = ("Python", "PHP", "Go", "")
CATEGORIES = ("cms", "mobility", "events", "accounting")
WORDS = ("cantine", "parking", "agenda", "budget", "velo", "portail")
MONTH_S = catalogue.MONTH_S


async def _publishers() -> list[int]:
    ids = []
    for i, (kind, country) in enumerate(
        (("municipality", "FR"), ("intermunicipality", "FR"), ("region", "IT"), ("state", "FR"))
    ):
        rows = await Publisher.insert(
            Publisher(slug=f"pub-{i}", name=f"Ville numero {i}", kind=kind, country=country)
        ).returning(Publisher.id)
        ids.append(int(rows[0]["id"]))
        await changelog.record("publisher", ids[-1], "added", {})
    return ids


async def _catalogue(rng: random.Random, count: int) -> tuple[list[int], list[int]]:
    publishers = await _publishers()
    projects = []
    for i in range(count):
        words = rng.sample(WORDS, 2)
        projects.append(
            await add_project(
                f"p-{i}",
                f"{words[0].title()} {words[1]} {i}",
                rng.choice([*publishers, None]),
                description={"fr": f"Logiciel de {words[1]}"},
                license_expression=rng.choice(LICENSES),
                language=rng.choice(LANGUAGES),
                categories=rng.sample(CATEGORIES, rng.randint(0, 2)),
                publiccode_valid=rng.random() < 0.4,
                activity_days_ago=rng.choice((1, 50, 100, 200, 400, 800, 2000)),
            )
        )
    for project in rng.sample(projects, count // 3):
        for publisher in rng.sample(publishers, rng.randint(1, len(publishers))):
            rows = await ReuseDeclaration.insert(
                ReuseDeclaration(
                    publisher=publisher,
                    project=project,
                    status=rng.choice(("production", "evaluating", "stopped")),
                )
            ).returning(ReuseDeclaration.id)
            await changelog.record("reuse_declaration", int(rows[0]["id"]), "added", {})
    return publishers, projects


def _plain_where(
    query: catalogue.ProjectQuery, now: float, *, without: str = ""
) -> tuple[str, str, list[Any]]:
    """FROM and WHERE of a plain SQL query over the index tables for ``query``, leaving
    out the filter named ``without``."""
    tokens = search_index.query_tokens(query.q)
    postgres = db.current_engine().engine_type == "postgres"
    where: list[str] = []
    args: list[Any] = []
    source = "project_search s"
    if tokens:
        if postgres:
            source = "project_search s"
            where.append("s.tsv @@ to_tsquery('simple', {})")
            args.append(search_index.tsquery_text(tokens))
        else:
            where.append(
                "s.project_id IN (SELECT rowid FROM project_fts WHERE project_fts MATCH {})"
            )
            args.append(search_index.fts5_query(tokens))
    for name, column in (
        ("license", "s.license"),
        ("publisher", "s.publisher_id"),
        ("kind", "s.publisher_kind"),
        ("country", "s.country"),
    ):
        values = getattr(query, name)
        if values and name != without:
            where.append(f"{column} IN ({', '.join('{}' for _ in values)})")
            args.extend(values)
    for name in ("language", "category"):
        values = getattr(query, name)
        if values and name != without:
            where.append(
                "s.project_id IN (SELECT project_id FROM project_search_value WHERE facet = "
                f"'{name}' AND value IN ({', '.join('{}' for _ in values)}))"
            )
            args.extend(values)
    for name in ("fr_authorised", "publiccode_valid"):
        value = getattr(query, name)
        if value is not None and name != without:
            where.append(f"s.{name} = {{}}")
            args.append(value)
    if query.active_months is not None and without != "active_months":
        where.append("s.activity_ts >= {}")
        args.append(int(now - query.active_months * MONTH_S))
    if query.min_reused is not None and without != "min_reused":
        where.append("s.reused_by >= {}")
        args.append(query.min_reused)
    return source, " AND ".join(where) or "1 = 1", args


async def _plain_count(
    query: catalogue.ProjectQuery, now: float, extra: str = "", *extra_args: Any, without: str = ""
) -> int:
    source, where, args = _plain_where(query, now, without=without)
    rows = await search_index.raw(
        f"SELECT COUNT(*) AS n FROM {source} WHERE {where}{extra}", *args, *extra_args
    )
    return int(rows[0]["n"])


async def _check(query: catalogue.ProjectQuery, now: float) -> catalogue.ProjectPage:
    """Search, and check the total and every facet count against plain SQL."""
    result = await catalogue.search_projects(query, now=now)
    assert result.total == await _plain_count(query, now), query
    facets = {f.name: f for f in result.facets}
    for name, column in (
        ("license", "s.license"),
        ("kind", "s.publisher_kind"),
        ("country", "s.country"),
        ("publisher", "s.publisher_id"),
    ):
        source, where, args = _plain_where(query, now, without=name)
        rows = await search_index.raw(
            f"SELECT {column} AS v, COUNT(*) AS n FROM {source} WHERE {where} "
            f"AND {column} IS NOT NULL GROUP BY {column}",
            *args,
        )
        expected = {str(r["v"]): int(r["n"]) for r in rows if str(r["v"])}
        shown = [(v.value, v.count) for v in facets[name].values]
        top = sorted(expected.items(), key=lambda item: (-item[1], item[0]))
        top = top[: catalogue.FACET_SIZE]
        assert shown[: len(top)] == top, (name, query)
        chosen = {str(x) for x in getattr(query, name)}
        for value, count in shown[len(top) :]:  # chosen values beyond the top ones
            assert value in chosen and count == expected.get(value, 0), (name, query)
    for name in ("language", "category"):
        source, where, args = _plain_where(query, now, without=name)
        rows = await search_index.raw(
            f"SELECT v.value AS v, COUNT(*) AS n FROM {source} JOIN project_search_value v "
            f"ON v.project_id = s.project_id AND v.facet = '{name}' WHERE {where} GROUP BY v.value",
            *args,
        )
        expected = {str(r["v"]): int(r["n"]) for r in rows}
        assert {v.value: v.count for v in facets[name].values if v.count} == expected, (name, query)
    fr = facets["fr_authorised"].values[0].count
    assert fr == await _plain_count(
        query, now, " AND s.fr_authorised = {}", True, without="fr_authorised"
    )
    pc = facets["publiccode_valid"].values[0].count
    assert pc == await _plain_count(
        query, now, " AND s.publiccode_valid = {}", True, without="publiccode_valid"
    )
    for value in facets["active_months"].values:
        expected = await _plain_count(
            query,
            now,
            " AND s.activity_ts >= {}",
            int(now - int(value.value) * MONTH_S),
            without="active_months",
        )
        assert value.count == expected, (value, query)
    for value in facets["min_reused"].values:
        expected = await _plain_count(
            query, now, " AND s.reused_by >= {}", int(value.value), without="min_reused"
        )
        assert value.count == expected, (value, query)
    return result


async def _plain_page(query: catalogue.ProjectQuery, now: float, sort: str) -> list[int]:
    source, where, args = _plain_where(query, now)
    order = {
        "recent": "s.activity_ts DESC",
        "reused": "s.reused_by DESC",
        "name": "s.name_key ASC",
    }[sort]
    offset = (query.page - 1) * query.per_page
    rows = await search_index.raw(
        f"SELECT s.project_id FROM {source} WHERE {where} ORDER BY {order}, s.project_id "
        f"LIMIT {query.per_page} OFFSET {offset}",
        *args,
    )
    return [int(r["project_id"]) for r in rows]


async def _check_pages(queries: list[catalogue.ProjectQuery], now: float) -> None:
    for query in queries:
        for sort in ("recent", "reused", "name"):
            for page in (1, 2, 3):
                paged = catalogue.ProjectQuery(
                    **{**query.__dict__, "sort": sort, "page": page, "per_page": 4, "facets": False}
                )
                got = await catalogue.search_projects(paged, now=now)
                assert [p.id for p in got.items] == await _plain_page(paged, now, sort), (
                    sort,
                    page,
                    query,
                )


def _queries(rng: random.Random, publishers: list[int]) -> list[catalogue.ProjectQuery]:
    queries = [catalogue.ProjectQuery(), catalogue.ProjectQuery(q="logiciel")]
    for _ in range(25):
        query = catalogue.ProjectQuery(
            q=rng.choice(("", "cantine", "agenda budget", "ville", "velo"))
        )
        for name, choices in (
            ("license", [v for v in LICENSES if v]),
            ("language", [v for v in LANGUAGES if v]),
            ("category", list(CATEGORIES)),
            ("kind", ["municipality", "region"]),
            ("country", ["FR", "IT"]),
            ("publisher", publishers),
        ):
            if rng.random() < 0.25:
                setattr(query, name, rng.sample(choices, rng.randint(1, 2)))
        if rng.random() < 0.3:
            query.fr_authorised = rng.choice((True, False))
        if rng.random() < 0.2:
            query.publiccode_valid = rng.choice((True, False))
        if rng.random() < 0.3:
            query.active_months = rng.choice((3, 6, 12, 30))
        if rng.random() < 0.3:
            query.min_reused = rng.choice((0, 1, 2, 3))
        queries.append(query)
    return queries


@pytest.fixture
async def fresh(database: str) -> str:
    await reset_search_index()
    return database


async def test_counts_and_pages_equal_plain_queries_and_follow_changes(fresh: str) -> None:
    rng = random.Random(11)
    publishers, projects = await _catalogue(rng, 45)
    now = float(int(time.time()) // 60 * 60)
    for query in _queries(rng, publishers):
        result = await _check(query, now)
        for sort in ("recent", "reused", "name"):
            for page in (1, 2):
                paged = catalogue.ProjectQuery(
                    **{**query.__dict__, "sort": sort, "page": page, "per_page": 4, "facets": False}
                )
                got = await catalogue.search_projects(paged, now=now)
                assert [p.id for p in got.items] == await _plain_page(paged, now, sort), (
                    sort,
                    page,
                    query,
                )
                assert got.total == result.total

    # the catalogue changes: new projects, a license changed, declarations withdrawn
    before = await _check(catalogue.ProjectQuery(q="cantine"), now)
    await add_project("late", "Cantine tardive", publishers[0], license_expression="EUPL-1.2")
    target = projects[0]
    await Project.update({Project.license_expression: "MPL-2.0"}).where(Project.id == target)
    await changelog.record("project", target, "update", {"license_expression": "MPL-2.0"})
    await ReuseDeclaration.update({ReuseDeclaration.status: "withdrawn"}).where(
        ReuseDeclaration.project == projects[1]
    )
    for row in await ReuseDeclaration.select(ReuseDeclaration.id).where(
        ReuseDeclaration.project == projects[1]
    ):
        await changelog.record("reuse_declaration", int(row["id"]), "update", {})
    after = await _check(catalogue.ProjectQuery(q="cantine"), now)
    assert after.total == before.total + 1
    everything = await _check(catalogue.ProjectQuery(), now)
    assert {v.value: v.count for v in everything.facets[0].values}.get("MPL-2.0") == 1
    await _check_pages(_queries(rng, publishers)[:12], now)

    # more changes, each followed by searches (the facet index is refreshed for the
    # changed projects, not loaded again): activity moves, renames, publishers change,
    # projects are added and deleted
    loads = facet_index.stats["loads"]
    refreshes = facet_index.stats["refreshes"]
    for round_number in range(4):
        for target in rng.sample(projects, 5):
            await Project.update(
                {
                    Project.last_activity_at: dt.datetime.now(dt.UTC)
                    - dt.timedelta(days=rng.choice((0, 3, 70, 900))),
                    Project.name: f"Renamed {rng.choice(WORDS)} {target}",
                    Project.publisher: rng.choice([*publishers, None]),
                }
            ).where(Project.id == target)
            await changelog.record("project", target, "update", {})
        projects.append(
            await add_project(
                f"new-{round_number}",
                f"Nouveau {rng.choice(WORDS)}",
                rng.choice(publishers),
                license_expression=rng.choice(LICENSES),
                activity_days_ago=rng.choice((0, 30, 3000)),
            )
        )
        if round_number == 2:
            doomed = projects.pop(rng.randrange(len(projects)))
            await ReuseDeclaration.delete().where(ReuseDeclaration.project == doomed)
            await Repository.delete().where(Repository.project == doomed)
            await Project.delete().where(Project.id == doomed)
            await changelog.record("project", doomed, "delete", {})
        for query in _queries(rng, publishers)[:8]:
            await _check(query, now)
        await _check_pages(_queries(rng, publishers)[:6], now)
    assert facet_index.stats["loads"] == loads
    assert facet_index.stats["refreshes"] >= refreshes + 4


async def test_a_rebuild_without_change_log_entries_is_seen(fresh: str) -> None:
    """A bulk load (``communs seed``) writes rows and rebuilds the index without a change
    log entry: the facet index must not keep the counts of before."""
    publishers = await _publishers()
    await add_project("one", "Velo partage", publishers[0])
    first = await catalogue.search_projects(catalogue.ProjectQuery(q="velo"))
    assert first.total == 1
    await Project.insert(
        Project(slug="bulk", name="Velo bulk", publisher=publishers[1], license_expression="MIT")
    )
    await search_index.rebuild()
    second = await catalogue.search_projects(catalogue.ProjectQuery(q="velo"))
    assert second.total == 2
    assert sorted(p.slug for p in second.items) == ["bulk", "one"]


async def test_numbered_then_cursor_pages_neither_repeat_nor_skip(fresh: str) -> None:
    rng = random.Random(5)
    await _catalogue(rng, 30)
    for sort in ("relevance", "recent", "reused", "name"):
        query = catalogue.ProjectQuery(q="logiciel", sort=sort, per_page=7, facets=False)
        first = await catalogue.search_projects(query)
        seen = [p.id for p in first.items]
        cursor = first.next_cursor
        while cursor:
            query.cursor = cursor
            following = await catalogue.search_projects(query)
            seen.extend(p.id for p in following.items)
            cursor = following.next_cursor
        assert len(seen) == len(set(seen)) == first.total == 30, sort
        numbered = []
        for page in range(1, 6):
            got = await catalogue.search_projects(
                catalogue.ProjectQuery(q="logiciel", sort=sort, per_page=7, page=page, facets=False)
            )
            numbered.extend(p.id for p in got.items)
        assert numbered == seen, sort


async def test_a_facet_leaves_its_own_filter_out(fresh: str) -> None:
    publishers = await _publishers()
    await add_project("a", "Agenda a", publishers[0], license_expression="MIT", language="Go")
    await add_project("b", "Agenda b", publishers[0], license_expression="EUPL-1.2", language="Go")
    await add_project("c", "Agenda c", publishers[1], license_expression="EUPL-1.2", language="PHP")
    result = await catalogue.search_projects(catalogue.ProjectQuery(license=["MIT"]))
    facets = {f.name: {v.value: (v.count, v.selected) for v in f.values} for f in result.facets}
    assert result.total == 1
    # what choosing each license alone gives; the chosen one marked
    assert facets["license"] == {"EUPL-1.2": (2, False), "MIT": (1, True)}
    # other facets count within the filter
    assert facets["language"] == {"Go": (1, False)}


def test_bitsets_and_selectors() -> None:
    assert facet_index.bitset([], 0) == 0
    assert facet_index.bitset([0, 3, 9], 12) == (1 | 8 | 512)
    assert facet_index.selector(1 | 8 | 512, 12) == bytes([1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    rng = random.Random(3)
    for size in (1, 7, 8, 9, 100, 1000):
        chosen = sorted(rng.sample(range(size), rng.randint(0, size)))
        bits = facet_index.bitset(chosen, size)
        assert [i for i, b in enumerate(facet_index.selector(bits, size)) if b] == chosen
        assert facet_index.page(None, bits, size, 0, size) == chosen
        order = list(reversed(range(size)))
        assert [order[i] for i in facet_index.page(order, bits, size, 1, 3)] == list(
            reversed(chosen)
        )[1:4]
