"""Crawl results into the catalogue: the rules decide, the registry writes.

:func:`to_record` turns an adapter's :class:`~crawlers.forges.base.RepoData` into a
:class:`~registry.services.repositories.RepositoryRecord` with the catalogue rules:

* versions (:mod:`registry.versions`): every tag kept with its normalised version (empty
  when the tag is not a version) and pre-release flag; the project's latest stable and
  latest published versions, ignoring tags prefixed with another component's name;
* licenses (:mod:`registry.licenses`), one finding per source: the forge's claim
  (``forge``), each license file's detected text (``file``; REUSE ``LICENSES/`` files
  too), ``publiccode.yml`` ``legal.license`` (``publiccode``). The project's expression
  prefers the files (read by our own detector), then publiccode.yml, then the forge;
* the ``publiccode.yml`` verdict (:mod:`registry.publiccode`) with every result, and the
  project's descriptions per language, categories, platforms and landing URL from it;
* the canonical URL (:mod:`registry.urls`).

:func:`ingest_page` saves one page of records in one transaction, so a crawl killed
half-way leaves whole pages and running it again converges to the same catalogue.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from crawlers.forges.base import RepoData, is_license_path
from registry import db, licenses, publiccode, versions
from registry.errors import LicenseError
from registry.services import crawl_runs
from registry.services.repositories import (
    LicenseRecord,
    ProjectFields,
    ReleaseRecord,
    RepositoryRecord,
    save_page,
)
from registry.urls import canonical_url

__all__ = ["PageOutcome", "ingest_page", "license_records", "to_record"]


def _normalised(declared: str | None) -> str:
    if not declared:
        return ""
    try:
        return licenses.normalise(declared)
    except LicenseError:
        return ""


#: License detection results by the hashes of the files' texts: the repositories of one
#: account often hold the very same LICENSE text, and detection is most of the rules' cost
_DETECTED: OrderedDict[tuple[tuple[str, bytes], ...], tuple[licenses.LicenseFinding, ...]] = (
    OrderedDict()
)
_DETECTED_MAX = 1024


def _detect(files: dict[str, str]) -> list[licenses.LicenseFinding]:
    """:func:`registry.licenses.detect_in_files`, remembered for recently seen texts."""
    key = tuple(
        (path, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest())
        for path, text in sorted(files.items())
    )
    found = _DETECTED.get(key)
    if found is None:
        found = tuple(licenses.detect_in_files(files))
        _DETECTED[key] = found
        if len(_DETECTED) > _DETECTED_MAX:
            _DETECTED.popitem(last=False)
    else:
        _DETECTED.move_to_end(key)
    return list(found)


def license_records(
    repo: RepoData, publiccode_license: str | None
) -> tuple[list[LicenseRecord], str]:
    """Every license finding with its source, and the project's expression."""
    files = {path: text for path, text in repo.files.items() if is_license_path(path)}
    detected = _detect(files) if files else []
    # A REUSE file named after one license but holding another gives two findings for
    # one path; the text is what applies, so the text's finding is the one kept.
    by_path: dict[str, licenses.LicenseFinding] = {}
    for finding in detected:
        path = finding.file or ""
        if path not in by_path or finding.source == "file":
            by_path[path] = finding
    records = [
        LicenseRecord("file", f.expression or "", path, f.confidence)
        for path, f in sorted(by_path.items())
    ]
    if repo.forge_license is not None:
        records.append(LicenseRecord("forge", _normalised(repo.forge_license)))
    declared = _normalised(publiccode_license) if publiccode_license else ""
    if publiccode_license is not None:
        records.append(LicenseRecord("publiccode", declared, repo.publiccode_path or ""))
    from_files = licenses.expression_for(by_path.values()) or ""
    forge = _normalised(repo.forge_license)
    return records, from_files or declared or forge


def to_record(repo: RepoData, *, url: str | None = None) -> RepositoryRecord:
    """The catalogue's view of one crawled repository (pure: no database, no network)."""
    url = canonical_url(url or repo.web_url)
    summary = versions.summarise_tags(
        (versions.TagInfo(t.name, t.date, t.commit or None) for t in repo.tags),
        repository=repo.name,
    )
    forge_releases = {r.tag: r for r in repo.releases if not r.draft}
    releases: list[ReleaseRecord] = []
    seen: set[str] = set()
    for item, tag in zip(summary.per_tag, repo.tags, strict=True):
        if tag.name in seen:
            continue
        seen.add(tag.name)
        release = forge_releases.get(tag.name)
        if isinstance(item, versions.VersionedTag):
            version, pre = str(item.version), item.prerelease
        else:
            version, pre = "", False
        releases.append(
            ReleaseRecord(
                tag=tag.name,
                version=version,
                is_prerelease=pre or bool(release and release.prerelease),
                name=release.name if release else "",
                published_at=(release.published_at if release else None) or tag.date,
                commit=tag.commit,
                source="release" if release else "tag",
            )
        )

    text = repo.files.get(repo.publiccode_path or "", "")
    report = publiccode.parse(text) if repo.publiccode_path else None
    data = report.data if report else None
    records, expression = license_records(repo, (data.license or "") if data is not None else None)
    description = {"und": repo.description} if repo.description else {}
    if data is not None and data.descriptions:
        described = {
            lang: d.short_description or d.long_description or ""
            for lang, d in data.descriptions.items()
        }
        description = {k: v for k, v in described.items() if v} or description
    project = ProjectFields(
        name=(data.name if data is not None and data.name else repo.name),
        description=description,
        landing_url=(data.landing_url or "") if data is not None else repo.homepage,
        categories=tuple(data.categories) if data is not None else (),
        platforms=tuple(data.platforms) if data is not None else (),
        topics=tuple(repo.topics),
        development_status=(data.development_status or "") if data is not None else "",
        license_expression=expression,
        latest_stable=str(summary.latest_stable.version) if summary.latest_stable else "",
        latest_published=(
            str(summary.latest_published.version) if summary.latest_published else ""
        ),
        last_activity_at=repo.pushed_at,
    )
    return RepositoryRecord(
        url=url,
        forge_kind=repo.forge_kind,
        path=repo.path,
        forge_id=repo.forge_id,
        name=repo.name,
        description=repo.description,
        homepage=repo.homepage,
        default_branch=repo.default_branch,
        language=repo.language,
        topics=tuple(repo.topics),
        is_fork=repo.is_fork,
        is_archived=repo.is_archived,
        pushed_at=repo.pushed_at,
        forge_created_at=repo.created_at,
        head_commit=repo.head_commit,
        publiccode_text=text,
        publiccode_valid=report.valid if report else None,
        publiccode_results=tuple(r.as_dict() for r in report.results) if report else (),
        releases=tuple(releases),
        licenses=tuple(records),
        project=project,
    )


@dataclass
class PageOutcome:
    """What saving one page did: URLs added, changed, unchanged, and failures."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)

    @property
    def seen(self) -> list[str]:
        return self.added + self.changed + self.unchanged


async def ingest_page(
    records: Iterable[RepositoryRecord],
    *,
    forge_account_id: int | None,
    publisher_id: int | None,
    run_id: int | None = None,
    failures: list[dict[str, str]] | None = None,
    requests: int | None = None,
    actor: str = "crawler",
) -> PageOutcome:
    """Save a page of records and the run's counters in one transaction."""
    outcome = PageOutcome(failures=list(failures or []))
    page = list(records)
    async with db.transaction():
        results = await save_page(
            page, forge_account_id=forge_account_id, publisher_id=publisher_id, actor=actor
        )
        for record, result in zip(page, results, strict=True):
            getattr(outcome, result.outcome).append(record.url)
        if run_id is not None:
            await crawl_runs.add_counts(
                run_id,
                added=len(outcome.added),
                changed=len(outcome.changed),
                failures=outcome.failures,
                requests=requests,
            )
    return outcome
