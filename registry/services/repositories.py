"""Writing crawled repositories into the catalogue, idempotently.

The crawler hands over a :class:`RepositoryRecord` (facts already derived by the rules:
versions, licenses, publiccode verdict, canonical URL) and :func:`save_repository` makes the
catalogue agree with it:

* the repository row is found by canonical URL (or, for a renamed repository, by its forge
  id within the same forge account) and inserted or updated;
* releases are keyed by (repository, tag), license findings by (repository, source, file);
  releases and findings that disappeared are removed (the repository itself never is);
* a new repository gets a project (one per repository, slug from its path) unless it
  already belongs to one; the project's derived fields follow the repository;
* each change is recorded once in the change log, with the fields that changed; nothing
  is written or recorded when nothing changed.

Callers run these functions inside a transaction (one per page of results): the change log
entries commit or roll back with the data.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from registry.services import changelog
from registry.tables import LicenseFinding, Project, Release, Repository

__all__ = [
    "Known",
    "LicenseRecord",
    "ProjectFields",
    "ReleaseRecord",
    "RepositoryRecord",
    "SaveOutcome",
    "load_known",
    "mark_gone",
    "project_slug",
    "save_page",
    "save_repository",
]

SaveOutcome = Literal["added", "changed", "unchanged"]

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    tag: str
    version: str = ""
    is_prerelease: bool = False
    name: str = ""
    published_at: dt.datetime | None = None
    commit: str = ""
    source: str = "tag"


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    """One source's claim: ``expression`` is ``""`` when the source names no license it
    could be read as (an unrecognised file, a forge's "other")."""

    source: str
    expression: str = ""
    file: str = ""
    confidence: float = 100.0


@dataclass(frozen=True, slots=True)
class ProjectFields:
    """The project fields derived from a repository."""

    name: str
    description: dict[str, str] = field(default_factory=dict)
    landing_url: str = ""
    categories: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    development_status: str = ""
    license_expression: str = ""
    latest_stable: str = ""
    latest_published: str = ""
    last_activity_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    """Everything the catalogue keeps about one crawled repository."""

    url: str
    forge_kind: str
    path: str
    forge_id: str = ""
    name: str = ""
    description: str = ""
    homepage: str = ""
    default_branch: str = ""
    language: str = ""
    topics: tuple[str, ...] = ()
    is_fork: bool = False
    is_archived: bool = False
    pushed_at: dt.datetime | None = None
    forge_created_at: dt.datetime | None = None
    head_commit: str = ""
    publiccode_text: str = ""
    publiccode_valid: bool | None = None
    publiccode_results: tuple[dict[str, Any], ...] = ()
    releases: tuple[ReleaseRecord, ...] = ()
    licenses: tuple[LicenseRecord, ...] = ()
    project: ProjectFields | None = None


@dataclass
class SaveResult:
    outcome: SaveOutcome
    repository_id: int
    project_id: int | None
    changed_fields: list[str] = field(default_factory=list)


_REPO_FIELDS = (
    "url",
    "forge_kind",
    "forge_id",
    "name",
    "description",
    "homepage",
    "default_branch",
    "language",
    "topics",
    "is_fork",
    "is_archived",
    "pushed_at",
    "forge_created_at",
    "head_commit",
    "publiccode_text",
    "publiccode_valid",
    "publiccode_results",
)
_PROJECT_FIELDS = (
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
)


def _comparable(value: Any) -> Any:
    """Values as the database gives them back, so that "unchanged" is exact."""
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).replace(microsecond=0)
    if isinstance(value, tuple):
        return [_comparable(v) for v in value]
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return value


def _record_values(record: RepositoryRecord) -> dict[str, Any]:
    values = {name: _comparable(getattr(record, name)) for name in _REPO_FIELDS}
    values["full_name"] = record.path
    return values


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in new.items() if _comparable(old.get(k)) != v}


def project_slug(path: str) -> str:
    """``owner/name`` (or ``group/sub/name``) as a slug: ``lutece-platform-lutece-core``."""
    slug = _SLUG_JUNK.sub("-", path.lower()).strip("-")
    return slug[:280] or "project"


async def _free_slug(base: str) -> str:
    slug, n = base, 1
    while await Project.exists().where(Project.slug == slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


@dataclass
class Known:
    """What the catalogue already holds for a page of records, read in a few queries
    instead of several per repository."""

    by_url: dict[str, dict[str, Any]] = field(default_factory=dict)
    releases: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    findings: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    projects: dict[int, dict[str, Any]] = field(default_factory=dict)


async def load_known(records: list[RepositoryRecord]) -> Known:
    """The rows a page of records may update (by canonical URL)."""
    known = Known()
    urls = [r.url for r in records]
    if not urls:
        return known
    rows = await Repository.select().where(Repository.url.is_in(urls)).output(load_json=True)
    known.by_url = {row["url"]: row for row in rows}
    ids = [row["id"] for row in rows]
    if ids:
        for release in await Release.select().where(Release.repository.is_in(ids)):
            known.releases.setdefault(release["repository"], []).append(release)
        for finding in await LicenseFinding.select().where(LicenseFinding.repository.is_in(ids)):
            known.findings.setdefault(finding["repository"], []).append(finding)
        project_ids = [row["project"] for row in rows if row["project"] is not None]
        if project_ids:
            projects = (
                await Project.select().where(Project.id.is_in(project_ids)).output(load_json=True)
            )
            known.projects = {p["id"]: p for p in projects}
    return known


async def _find(record: RepositoryRecord, forge_account_id: int | None) -> dict[str, Any] | None:
    row = (
        await Repository.select().where(Repository.url == record.url).output(load_json=True).first()
    )
    if row is None and record.forge_id and forge_account_id is not None:
        # a repository renamed on its forge keeps its id: same row, new URL
        row = (
            await Repository.select()
            .where(
                (Repository.forge_account == forge_account_id)
                & (Repository.forge_id == record.forge_id)
                & (Repository.forge_kind == record.forge_kind)
            )
            .output(load_json=True)
            .first()
        )
    return row


async def save_repository(
    record: RepositoryRecord,
    *,
    forge_account_id: int | None = None,
    publisher_id: int | None = None,
    actor: str = "crawler",
    now: dt.datetime | None = None,
    known: Known | None = None,
    touch: bool = True,
) -> SaveResult:
    """Make the catalogue agree with ``record``; see the module docstring.

    ``outcome`` is ``added`` for a new repository, ``changed`` when anything about it (its
    row, releases, license findings, project, or a ``gone`` mark lifted) changed, else
    ``unchanged``. ``last_seen_at`` is refreshed without counting as a change (unless
    ``touch`` is false: :func:`save_page` refreshes a whole page in one query). ``known``
    is the page's preloaded state (:func:`load_known`); without it the rows are read here.
    """
    now = now or dt.datetime.now(dt.UTC)
    values = _record_values(record)
    if known is None:
        known = await load_known([record])
    row = known.by_url.get(record.url) or (
        await _find(record, forge_account_id) if record.forge_id else None
    )
    if row is not None and row["url"] != record.url:
        # found by forge id (renamed): read its details now
        known = await load_known([RepositoryRecord(url=row["url"], forge_kind="", path="")])
    changed: list[str] = []
    if row is None:
        inserted = await Repository.insert(
            Repository(
                **values,
                forge_account=forge_account_id,
                first_seen_at=now,
                last_seen_at=now,
            )
        ).returning(Repository.id)
        repo_id = int(inserted[0]["id"])
        await changelog.record(
            "repository",
            repo_id,
            "added",
            {"url": record.url, "forge_kind": record.forge_kind},
            actor=actor,
        )
        outcome: SaveOutcome = "added"
        project_id = None
    else:
        repo_id = int(row["id"])
        project_id = row["project"]
        diff = _diff(row, values)
        update: dict[Any, Any] = {Repository.last_seen_at: now} if touch else {}
        for name, value in diff.items():
            update[getattr(Repository, name)] = value
        if row["gone_at"] is not None:
            update[Repository.gone_at] = None
            diff["gone_at"] = None
        if forge_account_id is not None and row["forge_account"] != forge_account_id:
            update[Repository.forge_account] = forge_account_id
            diff["forge_account"] = forge_account_id
        if update:
            await Repository.update(update).where(Repository.id == repo_id)
        if diff:
            data = {k: v for k, v in diff.items() if k not in ("publiccode_text",)}
            await changelog.record(
                "repository",
                repo_id,
                "back" if "gone_at" in diff else "changed",
                {"url": record.url, "changed": data},
                actor=actor,
            )
            changed.extend(diff)
        outcome = "unchanged"

    if await _save_releases(repo_id, record.releases, actor, known.releases.get(repo_id, [])):
        changed.append("releases")
    if await _save_licenses(repo_id, record.licenses, actor, known.findings.get(repo_id, [])):
        changed.append("licenses")
    if record.project is not None:
        project_id, project_changed = await _save_project(
            repo_id,
            project_id,
            record,
            publisher_id,
            actor,
            known.projects.get(project_id) if project_id is not None else None,
        )
        if project_changed:
            changed.append("project")
    if outcome == "unchanged" and changed:
        outcome = "changed"
    return SaveResult(outcome, repo_id, project_id, changed)


async def _save_releases(
    repo_id: int, releases: tuple[ReleaseRecord, ...], actor: str, rows: list[dict[str, Any]]
) -> bool:
    existing = {r["tag"]: r for r in rows}
    wanted: dict[str, ReleaseRecord] = {}
    for release in releases:
        wanted.setdefault(release.tag, release)
    changed = False
    new_rows: list[dict[str, Any]] = []
    for tag, release in wanted.items():
        new = {
            "version": release.version,
            "is_prerelease": release.is_prerelease,
            "name": release.name,
            "published_at": _comparable(release.published_at),
            "commit": release.commit,
            "source": release.source,
        }
        old = existing.get(tag)
        if old is None:
            new_rows.append({"tag": tag, **new})
            continue
        diff = _diff(old, new)
        if diff:
            await Release.update({getattr(Release, k): v for k, v in diff.items()}).where(
                Release.id == old["id"]
            )
            await changelog.record(
                "release",
                int(old["id"]),
                "changed",
                {"repository": repo_id, "tag": tag, "changed": diff},
                actor=actor,
            )
            changed = True
    if new_rows:
        inserted = await Release.insert(
            *(Release(repository=repo_id, **values) for values in new_rows)
        ).returning(Release.id, Release.tag)
        ids = {row["tag"]: int(row["id"]) for row in inserted}
        for values in new_rows:
            await changelog.record(
                "release",
                ids[values["tag"]],
                "added",
                {"repository": repo_id, **values},
                actor=actor,
            )
        changed = True
    for tag, old in existing.items():
        if tag not in wanted:
            await Release.delete().where(Release.id == old["id"])
            await changelog.record(
                "release",
                int(old["id"]),
                "removed",
                {"repository": repo_id, "tag": tag},
                actor=actor,
            )
            changed = True
    return changed


async def _save_licenses(
    repo_id: int, licenses: tuple[LicenseRecord, ...], actor: str, rows: list[dict[str, Any]]
) -> bool:
    existing = {(r["source"], r["file"]): r for r in rows}
    wanted: dict[tuple[str, str], LicenseRecord] = {}
    for finding in licenses:
        wanted.setdefault((finding.source, finding.file), finding)
    changed = False
    for key, finding in wanted.items():
        new = {"expression": finding.expression, "confidence": round(finding.confidence, 2)}
        old = existing.get(key)
        if old is None:
            inserted = await LicenseFinding.insert(
                LicenseFinding(repository=repo_id, source=key[0], file=key[1], **new)
            ).returning(LicenseFinding.id)
            await changelog.record(
                "license_finding",
                int(inserted[0]["id"]),
                "added",
                {"repository": repo_id, "source": key[0], "file": key[1], **new},
                actor=actor,
            )
            changed = True
            continue
        old_values = {"expression": old["expression"], "confidence": round(old["confidence"], 2)}
        diff = _diff(old_values, new)
        if diff:
            await LicenseFinding.update(
                {getattr(LicenseFinding, k): v for k, v in diff.items()}
            ).where(LicenseFinding.id == old["id"])
            await changelog.record(
                "license_finding",
                int(old["id"]),
                "changed",
                {"repository": repo_id, "source": key[0], "file": key[1], "changed": diff},
                actor=actor,
            )
            changed = True
    for key, old in existing.items():
        if key not in wanted:
            await LicenseFinding.delete().where(LicenseFinding.id == old["id"])
            await changelog.record(
                "license_finding",
                int(old["id"]),
                "removed",
                {"repository": repo_id, "source": key[0], "file": key[1]},
                actor=actor,
            )
            changed = True
    return changed


async def _save_project(
    repo_id: int,
    project_id: int | None,
    record: RepositoryRecord,
    publisher_id: int | None,
    actor: str,
    row: dict[str, Any] | None,
) -> tuple[int, bool]:
    assert record.project is not None
    fields = record.project
    new = {name: _comparable(getattr(fields, name)) for name in _PROJECT_FIELDS}
    if project_id is None:
        slug = await _free_slug(project_slug(record.path))
        inserted = await Project.insert(
            Project(
                slug=slug,
                publisher=publisher_id,
                **new,
            )
        ).returning(Project.id)
        project_id = int(inserted[0]["id"])
        await Repository.update({Repository.project: project_id}).where(Repository.id == repo_id)
        await changelog.record(
            "project",
            project_id,
            "added",
            {"slug": slug, "repository": record.url, **new},
            actor=actor,
        )
        return project_id, True
    if row is None:
        row = await Project.select().where(Project.id == project_id).output(load_json=True).first()
    if row is None:
        return project_id, False
    diff = _diff(row, new)
    if not diff:
        return project_id, False
    update: dict[Any, Any] = {Project.updated_at: dt.datetime.now(dt.UTC)}
    for name, value in diff.items():
        update[getattr(Project, name)] = value
    await Project.update(update).where(Project.id == project_id)
    await changelog.record("project", project_id, "changed", {"changed": diff}, actor=actor)
    return project_id, True


async def save_page(
    records: list[RepositoryRecord],
    *,
    forge_account_id: int | None = None,
    publisher_id: int | None = None,
    actor: str = "crawler",
) -> list[SaveResult]:
    """:func:`save_repository` for a page of records, with the page's known rows read in a
    few queries and ``last_seen_at`` refreshed in one. Run it inside a transaction."""
    now = dt.datetime.now(dt.UTC)
    known = await load_known(records)
    results = [
        await save_repository(
            record,
            forge_account_id=forge_account_id,
            publisher_id=publisher_id,
            actor=actor,
            now=now,
            known=known,
            touch=False,
        )
        for record in records
    ]
    ids = [r.repository_id for r in results if r.outcome != "added"]
    if ids:
        await Repository.update({Repository.last_seen_at: now}).where(Repository.id.is_in(ids))
    return results


async def mark_gone(
    forge_account_id: int,
    seen_urls: set[str],
    *,
    keep_urls: set[str] | None = None,
    actor: str = "crawler",
    now: dt.datetime | None = None,
) -> list[str]:
    """Mark the account's repositories not in ``seen_urls`` as gone (never deleted).

    ``keep_urls`` are repositories the crawl could not fetch this time: a failure is not a
    disappearance. Returns the URLs newly marked gone; repositories already gone stay as
    they are and are not recorded again.
    """
    now = now or dt.datetime.now(dt.UTC)
    keep = seen_urls | (keep_urls or set())
    rows = await Repository.select(Repository.id, Repository.url).where(
        (Repository.forge_account == forge_account_id) & Repository.gone_at.is_null()
    )
    gone: list[str] = []
    for row in rows:
        if row["url"] in keep:
            continue
        await Repository.update({Repository.gone_at: now}).where(Repository.id == row["id"])
        await changelog.record(
            "repository", int(row["id"]), "gone", {"url": row["url"]}, actor=actor
        )
        gone.append(row["url"])
    return gone
