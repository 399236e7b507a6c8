"""Adoption statistics, for community managers.

For a project: declarations over time (cumulative current declarations per month of
their creation), the version distribution among current reusers, reusers by country and
by publisher kind. For the catalogue: totals.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from registry.services import search_index
from registry.services.catalogue import CURRENT_STATUSES, project_id_for
from registry.services.search_index import raw


@dataclass
class Count:
    key: str
    count: int


@dataclass
class ProjectStats:
    project_id: int
    reusers: int
    by_month: list[Count]
    versions: list[Count]
    by_country: list[Count]
    by_kind: list[Count]
    by_status: list[Count]


@dataclass
class CatalogueStats:
    projects: int
    publishers: int
    repositories: int
    releases: int
    declarations: int
    reusing_publishers: int
    reused_projects: int
    fr_authorised_projects: int
    projects_with_valid_publiccode: int


def _month(value: Any) -> str:
    if isinstance(value, str):
        return value[:7]
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m")
    return "unknown"


def _counts(counter: Counter[str]) -> list[Count]:
    return [Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


async def project_stats(key: str | int) -> ProjectStats:
    """Adoption of one project; :class:`NotFoundError` when it does not exist."""
    pid = await project_id_for(key)
    rows = await raw(
        "SELECT d.status, d.version, d.created_at, pub.country, pub.kind "
        "FROM reuse_declaration d JOIN publisher pub ON pub.id = d.publisher "
        "WHERE d.project = {} AND d.status <> 'withdrawn'",
        pid,
    )
    current = [r for r in rows if r["status"] in CURRENT_STATUSES]
    months = Counter(_month(r["created_at"]) for r in current)
    cumulative, total = [], 0
    for month in sorted(months):
        total += months[month]
        cumulative.append(Count(month, total))
    return ProjectStats(
        project_id=pid,
        reusers=len(current),
        by_month=cumulative,
        versions=_counts(Counter(r["version"] or "unknown" for r in current)),
        by_country=_counts(Counter(r["country"] or "unknown" for r in current)),
        by_kind=_counts(Counter(r["kind"] or "unknown" for r in current)),
        by_status=_counts(Counter(r["status"] for r in rows)),
    )


async def catalogue_stats() -> CatalogueStats:
    """Totals over the whole catalogue (one query)."""
    await search_index.sync()
    row = (
        await raw(
            "SELECT (SELECT COUNT(*) FROM project) AS projects, "
            "(SELECT COUNT(*) FROM publisher) AS publishers, "
            "(SELECT COUNT(*) FROM repository) AS repositories, "
            "(SELECT COUNT(*) FROM release) AS releases, "
            "(SELECT COUNT(*) FROM reuse_declaration WHERE status IN "
            "('evaluating', 'production')) AS declarations, "
            "(SELECT COUNT(DISTINCT publisher) FROM reuse_declaration WHERE status IN "
            "('evaluating', 'production')) AS reusing_publishers, "
            "(SELECT COUNT(DISTINCT project) FROM reuse_declaration WHERE status IN "
            "('evaluating', 'production')) AS reused_projects, "
            "(SELECT COUNT(*) FROM project_search WHERE fr_authorised) AS fr, "
            "(SELECT COUNT(*) FROM project_search WHERE publiccode_valid) AS pc"
        )
    )[0]
    return CatalogueStats(
        projects=int(row["projects"]),
        publishers=int(row["publishers"]),
        repositories=int(row["repositories"]),
        releases=int(row["releases"]),
        declarations=int(row["declarations"]),
        reusing_publishers=int(row["reusing_publishers"]),
        reused_projects=int(row["reused_projects"]),
        fr_authorised_projects=int(row["fr"]),
        projects_with_valid_publiccode=int(row["pc"]),
    )
