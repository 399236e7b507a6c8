"""The reads and writes the web pages need, until the shared catalogue services land.

Each function returns plain dicts/dataclasses, the shape the templates read. When
``registry.services.catalogue`` / ``declarations`` / ``stats`` exist the pages call
them instead (see ``web/catalogue_bridge`` notes in the report); these functions are
the minimal queries that keep the site usable meanwhile. Search filters and facets
are computed in Python over the catalogue's projects: right for a test catalogue, not
for 100,000 projects, which is the catalogue service's job.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from registry import db
from registry.errors import NotFoundError, PermissionDeniedError, ValidationError
from registry.services import changelog
from registry.tables import (
    DECLARATION_STATUSES,
    CrawlRun,
    ForgeAccount,
    LicenseFinding,
    Project,
    Publisher,
    Release,
    Repository,
    ReuseDeclaration,
    ReuseDeclarationHistory,
)
from web.i18n import N_

FACETS = ("license", "language", "publisher", "kind", "country", "category", "activity", "reused")
SORTS = ("relevance", "name", "activity", "reusers")
PER_PAGE = 20
ACTIVITY_BUCKETS = (("6m", 183), ("1y", 365), ("3y", 1095))


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass
class Facet:
    name: str
    values: list[FacetValue] = field(default_factory=list)


@dataclass
class SearchPage:
    query: str
    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    sort: str
    facets: list[Facet]
    filters: dict[str, list[str]]


def _activity_bucket(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "older"
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    age = (now - when).days
    for name, days in ACTIVITY_BUCKETS:
        if age <= days:
            return name
    return "older"


async def _reuser_counts() -> Counter[int]:
    rows = await ReuseDeclaration.select(ReuseDeclaration.project).where(
        ReuseDeclaration.status != "withdrawn"
    )
    return Counter(int(r["project"]) for r in rows)


async def _project_rows() -> list[dict[str, Any]]:
    rows = await Project.select(
        Project.id,
        Project.slug,
        Project.name,
        Project.description,
        Project.license_expression,
        Project.latest_stable,
        Project.latest_published,
        Project.last_activity_at,
        Project.categories,
        Project.publisher.slug.as_alias("publisher_slug"),
        Project.publisher.name.as_alias("publisher_name"),
        Project.publisher.kind.as_alias("publisher_kind"),
        Project.publisher.country.as_alias("publisher_country"),
    ).output(load_json=True)
    languages: dict[int, set[str]] = {}
    for repo in await Repository.select(Repository.project, Repository.language).where(
        Repository.project.is_not_null() & (Repository.language != "")
    ):
        languages.setdefault(int(repo["project"]), set()).add(repo["language"])
    reusers = await _reuser_counts()
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        row["languages"] = sorted(languages.get(row["id"], ()))
        row["reusers"] = reusers.get(row["id"], 0)
        row["activity"] = _activity_bucket(row["last_activity_at"], now)
        row["categories"] = list(row["categories"] or [])
    return rows


def _values(row: dict[str, Any], facet: str) -> list[str]:
    if facet == "license":
        return [row["license_expression"]] if row["license_expression"] else []
    if facet == "language":
        return row["languages"]
    if facet == "publisher":
        return [row["publisher_slug"]] if row["publisher_slug"] else []
    if facet == "kind":
        return [row["publisher_kind"]] if row["publisher_kind"] else []
    if facet == "country":
        return [row["publisher_country"]] if row["publisher_country"] else []
    if facet == "category":
        return [str(c) for c in row["categories"]]
    if facet == "activity":
        return [row["activity"]]
    if facet == "reused":
        return ["yes" if row["reusers"] else "no"]
    return []


def _text(row: dict[str, Any]) -> str:
    description = row["description"] or {}
    texts = description.values() if isinstance(description, dict) else [str(description)]
    return " ".join([row["name"], row["slug"], row["publisher_name"] or "", *texts]).lower()


def _matches(row: dict[str, Any], filters: dict[str, list[str]], skip: str | None = None) -> bool:
    for facet, wanted in filters.items():
        if facet == skip or not wanted:
            continue
        if not set(wanted) & set(_values(row, facet)):
            return False
    return True


async def search(
    query: str = "",
    filters: dict[str, list[str]] | None = None,
    *,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchPage:
    """Projects matching every word of ``query`` and every facet filter.

    Within a facet, values are alternatives (OR); facets combine with AND. Each facet's
    counts are computed with the other facets' filters applied, so a count is what a
    click on it would give.
    """
    filters = {k: v for k, v in (filters or {}).items() if k in FACETS and v}
    sort = sort if sort in SORTS else "relevance"
    words = [w for w in query.lower().split() if w]
    rows = [r for r in await _project_rows() if all(w in _text(r) for w in words)]
    facets: list[Facet] = []
    for name in FACETS:
        counts: Counter[str] = Counter()
        for row in rows:
            if _matches(row, filters, skip=name):
                counts.update(set(_values(row, name)))
        chosen = set(filters.get(name, []))
        values = [FacetValue(v, c, v in chosen) for v, c in counts.most_common()]
        values += [FacetValue(v, 0, True) for v in chosen - set(counts)]
        facets.append(Facet(name, values[:30]))
    hits = [r for r in rows if _matches(r, filters)]

    def relevance(row: dict[str, Any]) -> tuple[int, int, str]:
        in_name = sum(w in row["name"].lower() for w in words)
        return (-in_name, -row["reusers"], row["name"].lower())

    far_past = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    keys = {
        "relevance": relevance,
        "name": lambda r: r["name"].lower(),
        "activity": lambda r: -(r["last_activity_at"] or far_past).timestamp(),
        "reusers": lambda r: (-r["reusers"], r["name"].lower()),
    }
    hits.sort(key=keys[sort])  # type: ignore[arg-type]
    pages = max(1, math.ceil(len(hits) / per_page))
    page = min(max(1, page), pages)
    items = hits[(page - 1) * per_page : page * per_page]
    return SearchPage(query, items, len(hits), page, pages, sort, facets, filters)


def describe(description: Any, lang: str) -> str:
    """The description in ``lang``, else English, else any language there is."""
    if isinstance(description, str):
        return description
    if not isinstance(description, dict) or not description:
        return ""
    for key in (lang, "en", "fr", *sorted(description)):
        if description.get(key):
            return str(description[key])
    return ""


async def project_sheet(slug: str) -> dict[str, Any]:
    """Everything the project sheet shows, or :class:`NotFoundError`."""
    project = (
        await Project.select(
            Project.all_columns(),
            Project.publisher.slug.as_alias("publisher_slug"),
            Project.publisher.name.as_alias("publisher_name"),
        )
        .where(Project.slug == slug)
        .output(load_json=True)
        .first()
    )
    if project is None:
        raise NotFoundError(f"no project {slug!r}")
    repositories = (
        await Repository.select()
        .where(Repository.project == project["id"])
        .order_by(Repository.url)
        .output(load_json=True)
    )
    repo_ids = [r["id"] for r in repositories]
    releases: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    if repo_ids:
        releases = (
            await Release.select()
            .where(Release.repository.is_in(repo_ids))
            .order_by(Release.published_at, ascending=False)
        )
        findings = await LicenseFinding.select().where(LicenseFinding.repository.is_in(repo_ids))
    reusers = (
        await ReuseDeclaration.select(
            ReuseDeclaration.all_columns(),
            ReuseDeclaration.publisher.slug.as_alias("publisher_slug"),
            ReuseDeclaration.publisher.name.as_alias("publisher_name"),
        )
        .where(
            (ReuseDeclaration.project == project["id"]) & (ReuseDeclaration.status != "withdrawn")
        )
        .order_by(ReuseDeclaration.since)
    )
    latest = project["latest_stable"]
    for declaration in reusers:
        declaration["outdated"] = bool(
            latest and declaration["version"] and declaration["version"] != latest
        )
    related_ids = {project["based_on"], project["parent"]} - {None}
    related = (
        await Project.select(Project.slug, Project.name).where(
            Project.id.is_in(list(related_ids))
            | (Project.parent == project["id"])
            | (Project.based_on == project["id"])
        )
        if related_ids
        else await Project.select(Project.slug, Project.name).where(
            (Project.parent == project["id"]) | (Project.based_on == project["id"])
        )
    )
    expressions = {f["expression"] for f in findings if f["expression"]}
    return {
        "project": project,
        "repositories": repositories,
        "releases": releases,
        "findings": findings,
        "license_disagreement": len(expressions) > 1,
        "reusers": reusers,
        "related": related,
    }


async def publisher_page(slug: str) -> dict[str, Any]:
    publisher = await Publisher.select().where(Publisher.slug == slug).first()
    if publisher is None:
        raise NotFoundError(f"no publisher {slug!r}")
    accounts = (
        await ForgeAccount.select(
            ForgeAccount.forge_kind, ForgeAccount.base_url, ForgeAccount.owner
        )
        .where(ForgeAccount.publisher == publisher["id"])
        .order_by(ForgeAccount.base_url)
    )
    published = (
        await Project.select(
            Project.slug, Project.name, Project.license_expression, Project.latest_stable
        )
        .where(Project.publisher == publisher["id"])
        .order_by(Project.name)
    )
    reused = await ReuseDeclaration.select(
        ReuseDeclaration.version,
        ReuseDeclaration.status,
        ReuseDeclaration.since,
        ReuseDeclaration.project.slug.as_alias("project_slug"),
        ReuseDeclaration.project.name.as_alias("project_name"),
    ).where(
        (ReuseDeclaration.publisher == publisher["id"]) & (ReuseDeclaration.status != "withdrawn")
    )
    return {"publisher": publisher, "accounts": accounts, "published": published, "reused": reused}


async def known_versions(project_id: int) -> list[str]:
    """Versions of the project's releases, newest first, pre-releases included."""
    rows = (
        await Release.select(Release.version, Release.tag, Release.published_at)
        .where(Release.repository.project == project_id)
        .order_by(Release.published_at, ascending=False)
    )
    seen: list[str] = []
    for row in rows:
        version = row["version"] or row["tag"]
        if version not in seen:
            seen.append(version)
    return seen


async def declaration_for(publisher_id: int, project_id: int) -> dict[str, Any] | None:
    return (
        await ReuseDeclaration.select()
        .where(
            (ReuseDeclaration.publisher == publisher_id) & (ReuseDeclaration.project == project_id)
        )
        .first()
    )


async def declare_reuse(
    *,
    user: dict[str, Any],
    publisher_id: int,
    project_id: int,
    version: str,
    since: dt.date | None,
    status: str,
    service_url: str,
    contact: str,
    comment: str,
) -> int:
    """Create or update the declaration of ``publisher_id`` for ``project_id``.

    Only a member of the publisher may; ``version`` must be a known release of the
    project (or empty); each state is kept in the declaration's history.
    """
    if publisher_id not in user["memberships"]:
        raise PermissionDeniedError(N_("only a member of this publisher may declare its reuse"))
    if status not in DECLARATION_STATUSES:
        raise ValidationError(f"unknown status {status!r}")
    if version and version not in await known_versions(project_id):
        raise ValidationError(f"{version!r} is not a known release of this project")
    if service_url and not service_url.startswith(("https://", "http://")):
        raise ValidationError(N_("the service URL must start with https:// or http://"))
    values = {
        "version": version[:200],
        "since": since,
        "status": status,
        "service_url": service_url[:500],
        "contact": contact[:300],
        "comment": comment[:5000],
    }
    now = dt.datetime.now(dt.UTC)
    async with db.transaction():
        existing = await declaration_for(publisher_id, project_id)
        if existing:
            declaration_id = int(existing["id"])
            await ReuseDeclaration.update(
                {
                    **{getattr(ReuseDeclaration, k): v for k, v in values.items()},
                    ReuseDeclaration.updated_at: now,
                    ReuseDeclaration.declared_by: user["id"],
                }
            ).where(ReuseDeclaration.id == declaration_id)
            action = "update"
        else:
            rows = await ReuseDeclaration.insert(
                ReuseDeclaration(
                    publisher=publisher_id, project=project_id, declared_by=user["id"], **values
                )
            ).returning(ReuseDeclaration.id)
            declaration_id = int(rows[0]["id"])
            action = "create"
        snapshot = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}
        await ReuseDeclarationHistory.insert(
            ReuseDeclarationHistory(
                declaration=declaration_id, snapshot=snapshot, changed_by=user["id"]
            )
        )
        await changelog.record(
            "reuse_declaration",
            declaration_id,
            action,
            {**snapshot, "publisher": publisher_id, "project": project_id},
            actor=user["username"],
        )
    return declaration_id


async def last_crawl_runs(limit: int = 10) -> list[dict[str, Any]]:
    return (
        await CrawlRun.select()
        .order_by(CrawlRun.id, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
