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

from piccolo.columns.column_types import JSON, JSONB
from piccolo.table import Table
from piccolo.utils.encoding import dump_json

from registry.services.changelog import jsonable
from registry.tables import ChangeLog, LicenseFinding, Project, Release, Repository

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


async def _free_slug(base: str, taken: set[str] | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first slug no project has and that is
    not in ``taken`` (slugs given earlier in the same page)."""
    taken = taken or set()
    slug, n = base, 1
    while slug in taken or await Project.exists().where(Project.slug == slug):
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


async def _load_details(known: Known, rows: list[dict[str, Any]]) -> None:
    """Releases, license findings and projects of ``rows``, into ``known``."""
    ids = [row["id"] for row in rows]
    if not ids:
        return
    for release in await Release.select().where(Release.repository.is_in(ids)):
        known.releases.setdefault(release["repository"], []).append(release)
    for finding in await LicenseFinding.select().where(LicenseFinding.repository.is_in(ids)):
        known.findings.setdefault(finding["repository"], []).append(finding)
    project_ids = sorted({row["project"] for row in rows if row["project"] is not None})
    if project_ids:
        projects = (
            await Project.select().where(Project.id.is_in(project_ids)).output(load_json=True)
        )
        known.projects.update({p["id"]: p for p in projects})


async def load_known(records: list[RepositoryRecord]) -> Known:
    """The rows a page of records may update (by canonical URL)."""
    known = Known()
    urls = [r.url for r in records]
    if not urls:
        return known
    rows = await Repository.select().where(Repository.url.is_in(urls)).output(load_json=True)
    known.by_url = {row["url"]: row for row in rows}
    await _load_details(known, rows)
    return known


async def _renamed(
    records: list[RepositoryRecord], known: Known, forge_account_id: int | None
) -> dict[str, dict[str, Any]]:
    """Rows of the account found by forge id for records their URL did not find (a
    repository renamed on its forge keeps its id: same row, new URL), by record URL."""
    if forge_account_id is None:
        return {}
    wanted = {
        (r.forge_kind, r.forge_id): r.url
        for r in records
        if r.forge_id and r.url not in known.by_url
    }
    if not wanted:
        return {}
    rows = (
        await Repository.select()
        .where(
            (Repository.forge_account == forge_account_id)
            & Repository.forge_id.is_in(sorted({forge_id for _kind, forge_id in wanted}))
        )
        .order_by(Repository.id)
        .output(load_json=True)
    )
    claimed = {row["id"] for row in known.by_url.values()}
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        url = wanted.get((row["forge_kind"], row["forge_id"]))
        # a row another record of the page names by URL is that record's
        if url is not None and url not in found and row["id"] not in claimed:
            found[url] = row
            claimed.add(row["id"])
    await _load_details(known, list(found.values()))
    return found


class _Log:
    """Change log entries of a page, written together in one insert at the end, in the
    order the changes were made (per repository: the row, releases, findings, project)."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.rows: list[dict[str, Any]] = []

    def add(self, entity: str, entity_id: int, action: str, data: dict[str, Any]) -> None:
        self.rows.append(
            {
                "entity": entity,
                "entity_id": entity_id,
                "action": action,
                "data": jsonable(data),
                "actor": self.actor,
                "origin": "",
            }
        )

    async def write(self) -> None:
        await _insert_all(ChangeLog, self.rows)
        self.rows = []


#: rows per multi-row INSERT (SQLite allows 32,766 parameters a statement)
_INSERT_CHUNK = 200
#: rows :func:`mark_gone` reads at a time
_GONE_CHUNK = 1000


async def _insert_all(
    table: type[Table], rows: list[dict[str, Any]], returning: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Insert ``rows`` (column name -> value; the table's defaults for the others) in a
    few multi-row statements, and return the ``returning`` columns of every row (in no
    particular order: callers match them by a unique key).

    Plain SQL rather than ``Table.insert(*instances)``: building a table instance and its
    query string per row cost more than the database work for a page of repositories.
    """
    if not rows:
        return []
    columns = [c for c in table._meta.columns if c is not table._meta.primary_key]
    defaults = table(_ignore_missing=True)
    names = [c._meta.db_column_name for c in columns]
    json_columns = {c._meta.name for c in columns if isinstance(c, JSON | JSONB)}
    base = {c._meta.name: getattr(defaults, c._meta.name) for c in columns}
    head = f'INSERT INTO "{table._meta.tablename}" (' + ", ".join(f'"{n}"' for n in names)
    tail = (" RETURNING " + ", ".join(f'"{n}"' for n in returning)) if returning else ""
    one = "(" + ", ".join("{}" for _ in columns) + ")"
    results: list[dict[str, Any]] = []
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        args: list[Any] = []
        for row in chunk:
            for column in columns:
                name = column._meta.name
                value = row[name] if name in row else base[name]
                if name in json_columns and value is not None and not isinstance(value, str):
                    value = dump_json(value)
                args.append(value)
        sql = head + ") VALUES " + ", ".join(one for _ in chunk) + tail
        answer = await table.raw(sql, *args)
        if returning:
            results += answer
    return results


@dataclass
class _Pending:
    """One record of a page on its way into the catalogue."""

    record: RepositoryRecord
    row: dict[str, Any] | None
    outcome: SaveOutcome = "unchanged"
    repo_id: int = 0
    project_id: int | None = None
    changed: list[str] = field(default_factory=list)
    #: change log entries of this repository (entity, id, action, data), in order
    log: list[tuple[str, int, str, dict[str, Any]]] = field(default_factory=list)
    new_slug: str = ""
    new_releases: list[dict[str, Any]] = field(default_factory=list)
    new_findings: list[dict[str, Any]] = field(default_factory=list)


def _chunks_without_repeats(records: list[RepositoryRecord]) -> list[list[RepositoryRecord]]:
    """The records in order, cut where a URL or forge id repeats (a page a forge served
    with the same repository twice): each chunk is saved after the previous one."""
    chunks: list[list[RepositoryRecord]] = [[]]
    urls: set[str] = set()
    ids: set[tuple[str, str]] = set()
    for record in records:
        key = (record.forge_kind, record.forge_id)
        if record.url in urls or (record.forge_id and key in ids):
            chunks.append([])
            urls, ids = set(), set()
        chunks[-1].append(record)
        urls.add(record.url)
        if record.forge_id:
            ids.add(key)
    return [chunk for chunk in chunks if chunk]


async def save_repository(
    record: RepositoryRecord,
    *,
    forge_account_id: int | None = None,
    publisher_id: int | None = None,
    actor: str = "crawler",
) -> SaveResult:
    """Make the catalogue agree with ``record``; see the module docstring and
    :func:`save_page`."""
    results = await save_page(
        [record], forge_account_id=forge_account_id, publisher_id=publisher_id, actor=actor
    )
    return results[0]


async def save_page(
    records: list[RepositoryRecord],
    *,
    forge_account_id: int | None = None,
    publisher_id: int | None = None,
    actor: str = "crawler",
) -> list[SaveResult]:
    """Make the catalogue agree with a page of records; run it inside a transaction.

    ``outcome`` of each result is ``added`` for a new repository, ``changed`` when anything
    about it (its row, releases, license findings, project, or a ``gone`` mark lifted)
    changed, else ``unchanged``; ``last_seen_at`` is refreshed without counting as a
    change. The page is read in a few queries and new rows (repositories, projects,
    releases, findings, change log entries) are written in multi-row inserts: the work
    per page, not per repository, is what costs round trips.
    """
    results: list[SaveResult] = []
    for chunk in _chunks_without_repeats(records):
        results += await _save_chunk(chunk, forge_account_id, publisher_id, actor)
    return results


async def _save_chunk(
    records: list[RepositoryRecord],
    forge_account_id: int | None,
    publisher_id: int | None,
    actor: str,
) -> list[SaveResult]:
    now = dt.datetime.now(dt.UTC)
    known = await load_known(records)
    renamed = await _renamed(records, known, forge_account_id)
    pending = [
        _Pending(record, known.by_url.get(record.url) or renamed.get(record.url))
        for record in records
    ]

    # repository rows: updates of the known ones now, inserts of the new ones below
    new_repos = [p for p in pending if p.row is None]
    for item in pending:
        if item.row is not None:
            await _update_repository(item, forge_account_id)

    # projects for repositories that have none: slugs free in the catalogue and the page
    needing = [p for p in pending if p.record.project is not None and p.project_id is None]
    await _assign_slugs(needing)
    project_rows = [
        {"slug": p.new_slug, "publisher": publisher_id, **_project_values(p.record)}
        for p in needing
    ]
    by_slug = {
        row["slug"]: int(row["id"])
        for row in await _insert_all(Project, project_rows, ("id", "slug"))
    }
    for item in needing:
        item.project_id = by_slug[item.new_slug]

    repo_rows = [
        {
            **_record_values(p.record),
            "forge_account": forge_account_id,
            "project": p.project_id,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        for p in new_repos
    ]
    by_url = {
        row["url"]: int(row["id"])
        for row in await _insert_all(Repository, repo_rows, ("id", "url"))
    }
    for item in new_repos:
        item.repo_id = by_url[item.record.url]
        item.outcome = "added"
        item.log.append(
            (
                "repository",
                item.repo_id,
                "added",
                {"url": item.record.url, "forge_kind": item.record.forge_kind},
            )
        )
    for item in needing:
        if item.row is not None:
            # a known repository without a project (its project was removed): attach it
            await Repository.update({Repository.project: item.project_id}).where(
                Repository.id == item.repo_id
            )

    # releases and license findings: changes and removals per row, additions together
    removed_releases: list[int] = []
    removed_findings: list[int] = []
    for item in pending:
        release_log = await _releases_diff(
            item, known.releases.get(item.repo_id, []), removed_releases
        )
        finding_log = await _findings_diff(
            item, known.findings.get(item.repo_id, []), removed_findings
        )
        item.log.append(("releases", 0, "", {"changes": release_log}))
        item.log.append(("findings", 0, "", {"changes": finding_log}))
    if removed_releases:
        await Release.delete().where(Release.id.is_in(removed_releases))
    if removed_findings:
        await LicenseFinding.delete().where(LicenseFinding.id.is_in(removed_findings))
    await _insert_new_children(pending)

    # the projects of known repositories follow them
    created = {id(p) for p in needing}
    for item in pending:
        if item.record.project is None:
            continue
        if id(item) in created:
            item.log.append(
                (
                    "project",
                    int(item.project_id or 0),
                    "added",
                    {"slug": item.new_slug, "repository": item.record.url}
                    | _project_values(item.record),
                )
            )
            item.changed.append("project")
        elif item.project_id is not None:
            await _update_project(item, known.projects.get(item.project_id))

    log = _Log(actor)
    for item in pending:
        for entity, entity_id, action, data in item.log:
            if entity in ("releases", "findings"):
                for entry in data["changes"]:
                    log.add(*entry)
            else:
                log.add(entity, entity_id, action, data)
        if item.outcome == "unchanged" and item.changed:
            item.outcome = "changed"
    await log.write()

    seen = [p.repo_id for p in pending if p.outcome != "added"]
    if seen:
        await Repository.update({Repository.last_seen_at: now}).where(Repository.id.is_in(seen))
    return [SaveResult(p.outcome, p.repo_id, p.project_id, p.changed) for p in pending]


def _project_values(record: RepositoryRecord) -> dict[str, Any]:
    assert record.project is not None
    return {name: _comparable(getattr(record.project, name)) for name in _PROJECT_FIELDS}


async def _update_repository(item: _Pending, forge_account_id: int | None) -> None:
    row = item.row
    assert row is not None
    item.repo_id = int(row["id"])
    item.project_id = row["project"]
    record = item.record
    diff = _diff(row, _record_values(record))
    update: dict[Any, Any] = {}
    for name, value in diff.items():
        update[getattr(Repository, name)] = value
    if row["gone_at"] is not None:
        update[Repository.gone_at] = None
        diff["gone_at"] = None
    if forge_account_id is not None and row["forge_account"] != forge_account_id:
        update[Repository.forge_account] = forge_account_id
        diff["forge_account"] = forge_account_id
    if update:
        await Repository.update(update).where(Repository.id == item.repo_id)
    if diff:
        data = {k: v for k, v in diff.items() if k not in ("publiccode_text",)}
        item.log.append(
            (
                "repository",
                item.repo_id,
                "back" if "gone_at" in diff else "changed",
                {"url": record.url, "changed": data},
            )
        )
        item.changed.extend(diff)


async def _assign_slugs(needing: list[_Pending]) -> None:
    """A free project slug for each repository that needs a project: one query for the
    page, and a query per candidate only when a slug is already taken."""
    if not needing:
        return
    bases = {p.record.url: project_slug(p.record.path) for p in needing}
    rows = await Project.select(Project.slug).where(Project.slug.is_in(sorted(set(bases.values()))))
    existing = {row["slug"] for row in rows}
    taken: set[str] = set()
    for item in needing:
        base = bases[item.record.url]
        if base in existing or base in taken:
            item.new_slug = await _free_slug(base, taken)
        else:
            item.new_slug = base
        taken.add(item.new_slug)


LogEntry = tuple[str, int, str, dict[str, Any]]


async def _releases_diff(
    item: _Pending, rows: list[dict[str, Any]], removed: list[int]
) -> list[LogEntry]:
    """Release changes of one repository: updates run now, additions wait in
    ``item.new_releases``, removals go to ``removed``; returns the log entries so far."""
    repo_id = item.repo_id
    existing = {r["tag"]: r for r in rows}
    wanted: dict[str, ReleaseRecord] = {}
    for release in item.record.releases:
        wanted.setdefault(release.tag, release)
    log: list[LogEntry] = []
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
            item.new_releases.append({"tag": tag, **new})
            continue
        diff = _diff(old, new)
        if diff:
            await Release.update({getattr(Release, k): v for k, v in diff.items()}).where(
                Release.id == old["id"]
            )
            log.append(
                (
                    "release",
                    int(old["id"]),
                    "changed",
                    {"repository": repo_id, "tag": tag, "changed": diff},
                )
            )
    gone = [(tag, old) for tag, old in existing.items() if tag not in wanted]
    if log or item.new_releases or gone:
        item.changed.append("releases")
    # additions are logged after the changes and before the removals
    log.append(("release", -1, "added", {}))
    for tag, old in gone:
        removed.append(int(old["id"]))
        log.append(("release", int(old["id"]), "removed", {"repository": repo_id, "tag": tag}))
    return log


async def _findings_diff(
    item: _Pending, rows: list[dict[str, Any]], removed: list[int]
) -> list[LogEntry]:
    """License finding changes of one repository, as :func:`_releases_diff` does."""
    repo_id = item.repo_id
    existing = {(r["source"], r["file"]): r for r in rows}
    wanted: dict[tuple[str, str], LicenseRecord] = {}
    for finding in item.record.licenses:
        wanted.setdefault((finding.source, finding.file), finding)
    log: list[LogEntry] = []
    changed = False
    for key, finding in wanted.items():
        new = {"expression": finding.expression, "confidence": round(finding.confidence, 2)}
        old = existing.get(key)
        if old is None:
            item.new_findings.append({"source": key[0], "file": key[1], **new})
            # logged in place once the row has its id
            log.append(("license_finding", -1, "added", {"key": key}))
            changed = True
            continue
        old_values = {"expression": old["expression"], "confidence": round(old["confidence"], 2)}
        diff = _diff(old_values, new)
        if diff:
            await LicenseFinding.update(
                {getattr(LicenseFinding, k): v for k, v in diff.items()}
            ).where(LicenseFinding.id == old["id"])
            log.append(
                (
                    "license_finding",
                    int(old["id"]),
                    "changed",
                    {"repository": repo_id, "source": key[0], "file": key[1], "changed": diff},
                )
            )
            changed = True
    for key, old in existing.items():
        if key not in wanted:
            removed.append(int(old["id"]))
            log.append(
                (
                    "license_finding",
                    int(old["id"]),
                    "removed",
                    {"repository": repo_id, "source": key[0], "file": key[1]},
                )
            )
            changed = True
    if changed:
        item.changed.append("licenses")
    return log


async def _insert_new_children(pending: list[_Pending]) -> None:
    """Insert the page's new releases and findings, and put their ids in the log."""
    release_rows = [
        {"repository": p.repo_id, **values} for p in pending for values in p.new_releases
    ]
    release_ids = {
        (row["repository"], row["tag"]): int(row["id"])
        for row in await _insert_all(Release, release_rows, ("id", "repository", "tag"))
    }
    finding_rows = [
        {"repository": p.repo_id, **values} for p in pending for values in p.new_findings
    ]
    finding_ids = {
        (row["repository"], row["source"], row["file"]): int(row["id"])
        for row in await _insert_all(
            LicenseFinding, finding_rows, ("id", "repository", "source", "file")
        )
    }
    for item in pending:
        for entity, _id, _action, data in item.log:
            if entity == "releases":
                entries: list[LogEntry] = []
                for entry in data["changes"]:
                    if entry[1] == -1:  # the place of the additions
                        entries += [
                            (
                                "release",
                                release_ids[(item.repo_id, values["tag"])],
                                "added",
                                {"repository": item.repo_id, **values},
                            )
                            for values in item.new_releases
                        ]
                    else:
                        entries.append(entry)
                data["changes"] = entries
            elif entity == "findings":
                entries = []
                by_key = {(v["source"], v["file"]): v for v in item.new_findings}
                for entry in data["changes"]:
                    if entry[1] == -1:
                        values = by_key[entry[3]["key"]]
                        entries.append(
                            (
                                "license_finding",
                                finding_ids[(item.repo_id, values["source"], values["file"])],
                                "added",
                                {"repository": item.repo_id, **values},
                            )
                        )
                    else:
                        entries.append(entry)
                data["changes"] = entries


async def _update_project(item: _Pending, row: dict[str, Any] | None) -> None:
    project_id = item.project_id
    assert project_id is not None
    if row is None:
        row = await Project.select().where(Project.id == project_id).output(load_json=True).first()
    if row is None:
        return
    diff = _diff(row, _project_values(item.record))
    if not diff:
        return
    update: dict[Any, Any] = {Project.updated_at: dt.datetime.now(dt.UTC)}
    for name, value in diff.items():
        update[getattr(Project, name)] = value
    await Project.update(update).where(Project.id == project_id)
    item.log.append(("project", project_id, "changed", {"changed": diff}))
    item.changed.append("project")


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
    keep = keep_urls or set()
    gone_rows: list[dict[str, Any]] = []
    after = 0
    while True:
        # the account's rows a thousand at a time: memory stays flat in the account's size
        rows = (
            await Repository.select(Repository.id, Repository.url)
            .where(
                (Repository.forge_account == forge_account_id)
                & Repository.gone_at.is_null()
                & (Repository.id > after)
            )
            .order_by(Repository.id)
            .limit(_GONE_CHUNK)
        )
        gone_rows += [r for r in rows if r["url"] not in seen_urls and r["url"] not in keep]
        if len(rows) < _GONE_CHUNK:
            break
        after = int(rows[-1]["id"])
    ids = [int(row["id"]) for row in gone_rows]
    for start in range(0, len(ids), _INSERT_CHUNK):
        await Repository.update({Repository.gone_at: now}).where(
            Repository.id.is_in(ids[start : start + _INSERT_CHUNK])
        )
    log = _Log(actor)
    for row in gone_rows:
        log.add("repository", int(row["id"]), "gone", {"url": row["url"]})
    await log.write()
    return [row["url"] for row in gone_rows]
