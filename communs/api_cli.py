"""``communs seed``: fill a catalogue with generated projects, for benchmarks and demos.

The generator is deterministic (``--seed``) and writes with multi-row inserts in
batches, then rebuilds the search index once: 100,000 projects, 300,000 releases and
20,000 reuse declarations take about a minute on SQLite. Generated entries are marked
with ``origin = "seed"`` so they are easy to tell from real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from typing import Any

import click

from registry.tables import PUBLISHER_KINDS, Project, Publisher

WORDS = [
    "agenda",
    "budget",
    "cadastre",
    "cantine",
    "citoyen",
    "collecte",
    "commune",
    "consultation",
    "courrier",
    "culture",
    "dechets",
    "democratie",
    "eau",
    "ecole",
    "elections",
    "energie",
    "etat-civil",
    "formulaire",
    "gestion",
    "habitat",
    "inscription",
    "jeunesse",
    "mairie",
    "marches",
    "mobilite",
    "parking",
    "participation",
    "patrimoine",
    "petition",
    "portail",
    "projet",
    "reservation",
    "salle",
    "sante",
    "scolaire",
    "signalement",
    "social",
    "sport",
    "stationnement",
    "subvention",
    "tourisme",
    "transport",
    "urbanisme",
    "velo",
    "voirie",
]
ENGLISH = [
    "agenda",
    "budget",
    "land",
    "registry",
    "canteen",
    "citizen",
    "collection",
    "city",
    "consultation",
    "mail",
    "culture",
    "waste",
    "democracy",
    "water",
    "school",
    "elections",
    "energy",
    "civil",
    "status",
    "form",
    "management",
    "housing",
    "registration",
    "youth",
    "town",
    "hall",
    "tenders",
    "mobility",
    "parking",
    "participation",
    "heritage",
    "petition",
    "portal",
    "project",
    "booking",
    "room",
    "health",
    "school",
    "report",
]
LICENSES = (
    "AGPL-3.0-or-later",
    "MIT",
    "Apache-2.0",
    "GPL-3.0-only",
    "EUPL-1.2",
    "CECILL-2.1",
    "LGPL-3.0-or-later",
    "MPL-2.0",
    "BSD-3-Clause",
    "CECILL-B",
)
LANGUAGES = ("Python", "PHP", "JavaScript", "TypeScript", "Java", "Go", "Ruby", "C#")
CATEGORIES = (
    "accounting",
    "agile-project-management",
    "blog",
    "cms",
    "collaboration",
    "crm",
    "data-analytics",
    "document-management",
    "e-commerce",
    "geographic-information-systems",
    "identity-management",
    "it-development",
    "online-booking",
    "project-management",
    "survey",
    "voting",
    "website-builder",
    "workflow-management",
)
COUNTRIES = ("FR",) * 8 + ("IT", "DE", "ES", "BE")
BATCH = 1000


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


async def _bulk(table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows with the driver's fastest path (executemany / COPY), bypassing the ORM."""
    if not rows:
        return
    from piccolo.engine.sqlite import SQLiteEngine

    from registry import db

    columns = list(rows[0])
    engine = db.current_engine()
    if isinstance(engine, SQLiteEngine):
        import sqlite3

        connection = sqlite3.connect(engine.connection_kwargs["database"], timeout=60)
        try:
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            connection.executemany(
                f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                ([_sqlite_value(r[c]) for c in columns] for r in rows),
            )
            connection.commit()
        finally:
            connection.close()
    else:
        import asyncpg

        connection = await asyncpg.connect(engine.config["dsn"])
        try:
            await connection.copy_records_to_table(
                table,
                records=[tuple(_pg_value(r[c]) for c in columns) for r in rows],
                columns=columns,
            )
        finally:
            await connection.close()


async def _next_id(table: str) -> int:
    rows = await Project.raw(f'SELECT COALESCE(MAX(id), 0) AS m FROM "{table}"')
    return int(rows[0]["m"]) + 1


async def generate(
    projects: int = 1000,
    releases: int = 3000,
    declarations: int = 200,
    *,
    seed: int = 1,
    first_id: int | None = None,
) -> dict[str, float]:
    """Add generated publishers, projects (one repository each), releases and reuse
    declarations to the bound database; returns counts and seconds taken."""
    from registry import db
    from registry.services import search_index

    rng = random.Random(seed)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    base = first_id or (
        int((await Project.raw("SELECT COALESCE(MAX(id), 0) AS m FROM project"))[0]["m"]) + 1
    )
    pub_base = (
        int((await Publisher.raw("SELECT COALESCE(MAX(id), 0) AS m FROM publisher"))[0]["m"]) + 1
    )
    release_base = await _next_id("release")
    declaration_base = await _next_id("reuse_declaration")
    n_publishers = max(5, projects // 50)
    publisher_rows = []
    for i in range(n_publishers):
        pid = pub_base + i
        town = f"{rng.choice(WORDS).capitalize()}-sur-{rng.choice(WORDS).capitalize()}"
        publisher_rows.append(
            dict(
                id=pid,
                slug=f"seed-publisher-{pid}",
                name=f"Ville de {town} {pid}",
                kind=rng.choice(PUBLISHER_KINDS),
                country=rng.choice(COUNTRIES),
                origin="seed",
                created_at=now,
                updated_at=now,
            )
        )
    project_rows, repo_rows, release_rows = [], [], []
    per_project = max(0, releases // max(projects, 1))
    extra = releases - per_project * projects
    latest: dict[int, list[str]] = {}
    for i in range(projects):
        pid = base + i
        words = rng.sample(range(len(WORDS)), 3)
        name = " ".join(WORDS[w] for w in words[:2]).title() + f" {pid}"
        publisher = pub_base + rng.randrange(n_publishers)
        activity = now - dt.timedelta(days=rng.randrange(0, 5 * 365))
        count = per_project + (1 if i < extra else 0)
        versions = [f"{1 + k // 3}.{k % 3}.0" for k in range(count)]
        latest[pid] = versions
        license_expression = rng.choice(LICENSES)
        project_rows.append(
            dict(
                id=pid,
                slug=f"seed-{pid}",
                name=name,
                description={
                    "fr": f"Logiciel de {WORDS[words[0]]} et {WORDS[words[2]]} pour les communes",
                    "en": f"Software for {ENGLISH[words[0] % len(ENGLISH)]} and "
                    f"{ENGLISH[words[2] % len(ENGLISH)]}",
                },
                publisher=publisher,
                categories=rng.sample(CATEGORIES, rng.randint(1, 2)),
                topics=[WORDS[words[1]], WORDS[words[2]]],
                license_expression=license_expression,
                latest_stable=versions[-1] if versions else "",
                latest_published=versions[-1] if versions else "",
                last_activity_at=activity,
                origin="seed",
                created_at=now,
                updated_at=now,
            )
        )
        repo_rows.append(
            dict(
                id=pid,
                url=f"https://git.seed.example/p{publisher}/seed-{pid}",
                project=pid,
                forge_kind="gitlab",
                name=f"seed-{pid}",
                full_name=f"p{publisher}/seed-{pid}",
                language=rng.choice(LANGUAGES),
                topics=[WORDS[words[1]]],
                pushed_at=activity,
                publiccode_valid=rng.random() < 0.3,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
        for k, version in enumerate(versions):
            release_rows.append(
                dict(
                    id=len(release_rows) + release_base,
                    repository=pid,
                    tag=f"v{version}",
                    version=version,
                    is_prerelease=False,
                    published_at=activity - dt.timedelta(days=30 * (len(versions) - k)),
                )
            )
    pairs: set[tuple[int, int]] = set()
    limit = min(declarations, n_publishers * projects)
    while len(pairs) < limit:
        pairs.add((pub_base + rng.randrange(n_publishers), base + rng.randrange(projects)))
    declaration_rows = []
    for publisher, project in sorted(pairs):
        versions = latest[project]
        declaration_rows.append(
            dict(
                id=len(declaration_rows) + declaration_base,
                publisher=publisher,
                project=project,
                version=rng.choice(versions) if versions else "",
                status=rng.choice(("production", "production", "evaluating", "stopped")),
                origin="seed",
                created_at=now,
                updated_at=now,
            )
        )
    await _bulk("publisher", publisher_rows)
    await _bulk("project", project_rows)
    await _bulk("repository", repo_rows)
    await _bulk("release", release_rows)
    await _bulk("reuse_declaration", declaration_rows)
    if db.current_engine().engine_type == "postgres":
        for table in ("publisher", "project", "repository", "release", "reuse_declaration"):
            await Project.raw(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    loaded = time.perf_counter()
    indexed = await search_index.rebuild()
    if db.current_engine().engine_type == "postgres":
        await Project.raw("ANALYZE")
    return {
        "publishers": n_publishers,
        "projects": projects,
        "releases": len(release_rows),
        "declarations": len(declaration_rows),
        "indexed": indexed,
        "load_s": round(loaded - started, 2),
        "index_s": round(time.perf_counter() - loaded, 2),
    }


@click.command("seed")
@click.option("--projects", default=1000, show_default=True, type=click.IntRange(1, 10**7))
@click.option("--releases", default=3000, show_default=True, type=click.IntRange(0, 10**8))
@click.option("--declarations", default=200, show_default=True, type=click.IntRange(0, 10**7))
@click.option("--seed", "seed_value", default=1, show_default=True, help="Random seed.")
def seed(projects: int, releases: int, declarations: int, seed_value: int) -> None:
    """Add generated projects, releases and reuse declarations (for benchmarks, demos)."""
    from communs.cli import current_settings, run_with_db

    async def work() -> dict[str, float]:
        return await generate(projects, releases, declarations, seed=seed_value)

    result = run_with_db(current_settings(), work)
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))
