"""The two dashboard lists no registry service offers yet.

Both are plain reads, one query each; they move to :mod:`registry.services.stats` when it
grows them.
"""

from __future__ import annotations

from typing import Any

from registry import versions
from registry.errors import CommunsError
from registry.tables import Project, ReuseDeclaration

CURRENT_STATUSES = ("evaluating", "production")


async def outdated_reusers(limit: int = 100) -> list[dict[str, Any]]:
    """Current declarations of a version other than the project's latest stable one,
    with the contact to write to; by project, then publisher."""
    rows = (
        await ReuseDeclaration.select(
            ReuseDeclaration.version,
            ReuseDeclaration.contact,
            ReuseDeclaration.project.slug.as_alias("project_slug"),
            ReuseDeclaration.project.name.as_alias("project_name"),
            ReuseDeclaration.project.latest_stable.as_alias("latest_stable"),
            ReuseDeclaration.publisher.slug.as_alias("publisher_slug"),
            ReuseDeclaration.publisher.name.as_alias("publisher_name"),
        )
        .where(
            ReuseDeclaration.status.is_in(list(CURRENT_STATUSES))
            & (ReuseDeclaration.version != "")
            & (ReuseDeclaration.project.latest_stable != "")
            & (ReuseDeclaration.version != ReuseDeclaration.project.latest_stable)
        )
        .limit(limit)
    )
    older = [d for d in rows if _older(d["version"], d["latest_stable"])]
    return sorted(older, key=lambda d: (d["project_name"], d["publisher_name"]))


def _older(version: str, latest: str) -> bool:
    """The project sheet's rule: a version of lower precedence (free text never is)."""
    try:
        return versions.parse_tag(version).precedence < versions.parse_tag(latest).precedence
    except CommunsError:
        return False


async def recent_projects(limit: int = 10) -> list[dict[str, Any]]:
    """The projects most recently added to the catalogue, newest first."""
    return (
        await Project.select(
            Project.slug,
            Project.name,
            Project.created_at,
            Project.publisher.name.as_alias("publisher"),
        )
        .order_by(Project.created_at, ascending=False)
        .order_by(Project.id, ascending=False)
        .limit(limit)
    )
