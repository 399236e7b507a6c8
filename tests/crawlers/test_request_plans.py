"""What a crawl asks each forge, and how a page is written: GitLab reads a page's files with
one GraphQL query (and through the repository tree where GraphQL is missing, with the same
catalogue), Gitea reads them all in one ``file-contents`` call (and falls back to
the root listing where that endpoint is missing, as on Forgejo) with the same catalogue;
a page is saved in a few statements whatever its size, a repository listed twice on a page
once."""

from __future__ import annotations

from typing import Any

import httpx
from faultkit import OWNER, SIZE, catalogue, crawl, forge, url

from crawlers.crawl import Crawler, parse_target
from crawlers.http import ForgeClient
from crawlers.ingest import ingest_page
from fakeforge.app import FakeForge
from registry.services.repositories import RepositoryRecord, save_page
from registry.settings import Settings
from registry.tables import ChangeLog, LicenseFinding, Project, Release, Repository

__all__ = ["forge"]  # fixtures


def _requests(app: FakeForge, forge_kind: str) -> dict[str, int]:
    prefix = f"{forge_kind} "
    return {
        key.removeprefix(prefix): count
        for key, count in app.stats.requests.items()
        if key.startswith(prefix)
    }


def _metadata_files(app: FakeForge) -> int:
    """How many publiccode.yml and root license files the account's repositories hold."""
    account = app.world.account(OWNER)
    assert account is not None
    return sum(
        1
        for repo in account.repositories
        for path in repo.files
        if path in ("publiccode.yml", "publiccode.yaml") or path.upper().startswith("LICEN")
    )


def _add_unusual_license_files(app: FakeForge) -> int:
    """Give two repositories files no ``Repository.blobs`` path names (a REUSE directory,
    a root license file of an unusual name); returns how many such files there are."""
    account = app.world.account(OWNER)
    assert account is not None
    first, second = account.repositories[0], account.repositories[1]
    first.files["LICENSES/MIT.txt"] = "MIT License\n\nPermission is hereby granted"
    first.files["LICENSES/Apache-2.0.txt"] = "Apache License\nVersion 2.0, January 2004\n"
    second.files["COPYING.GPL-3"] = "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"
    app.cache.clear()
    return 3


async def test_gitlab_reads_a_page_of_files_with_one_graphql_query(
    database: str, forge: FakeForge
) -> None:
    unusual = _add_unusual_license_files(forge)
    done = await crawl(forge, "gitlab")
    assert done.run["status"] == "done" and done.run["failures"] == []
    asked = _requests(forge, "gitlab")
    assert asked["GET /groups/{id}/projects"] == 1  # SIZE < 100: one listing page
    assert asked["POST /graphql"] == 1  # and one query for all its projects' files
    assert asked["GET /projects/{id}/repository/tags"] == SIZE
    # no per-project tree or detail; raw reads only for files the query could not name
    assert "GET /projects/{id}/repository/tree" not in asked
    assert "GET /projects/{id}" not in asked
    assert asked["GET /projects/{id}/repository/files/{file_path}/raw"] == unusual
    held = await catalogue()
    assert len(held) == SIZE
    findings = await LicenseFinding.select(LicenseFinding.source, LicenseFinding.file)
    files = {(f["source"], f["file"]) for f in findings}
    assert files >= {("file", "LICENSE"), ("file", "LICENSES/MIT.txt")}
    assert ("file", "COPYING.GPL-3") in files
    assert "forge" not in {f["source"] for f in findings}  # GitLab's guess is not asked


async def test_gitlab_without_graphql_reads_the_tree_and_keeps_the_same_catalogue(
    database: str, forge: FakeForge
) -> None:
    """An instance whose ``/api/graphql`` answers 404 (older or restricted GitLab) is read
    through REST: per project the root tree, then each file there raw; the catalogue is the
    one the GraphQL path gives."""
    _add_unusual_license_files(forge)
    endpoints = {
        "gitlab.example": "http://127.0.0.1/gitlab",
        "old-gitlab.example": "http://127.0.0.1/gitlab",
    }
    async with ForgeClient(
        Settings(allow_loopback=True), transport=httpx.ASGITransport(app=forge)
    ) as client:
        summary = await Crawler(client, endpoints=endpoints).crawl(
            parse_target(f"gitlab@gitlab.example:{OWNER}")
        )
    assert summary.failures == [] and summary.added == SIZE
    assert _requests(forge, "gitlab")["POST /graphql"] == 1
    with_graphql = await _files_and_versions("https://gitlab.example/")

    forge.reset_stats()
    forge.faults.add(forge="gitlab", path="/api/graphql", status=404, times=None)
    async with ForgeClient(
        Settings(allow_loopback=True), transport=httpx.ASGITransport(app=forge)
    ) as client:
        summary = await Crawler(client, endpoints=endpoints).crawl(
            parse_target(f"gitlab@old-gitlab.example:{OWNER}")
        )
    assert summary.failures == [] and summary.added == SIZE
    asked = _requests(forge, "gitlab")
    assert asked["POST /graphql"] == 1  # asked once, not again for every page
    assert asked["GET /projects/{id}/repository/tree"] == SIZE + 1  # and one LICENSES/
    # every publiccode.yml and LICEN* file (LICENSES/ included), and COPYING.GPL-3
    raw = asked["GET /projects/{id}/repository/files/{file_path}/raw"]
    assert raw == _metadata_files(forge) + 1
    assert await _files_and_versions("https://old-gitlab.example/") == with_graphql


async def test_gitlab_graphql_query_refused_sends_the_crawl_through_rest(
    database: str, forge: FakeForge
) -> None:
    """A query refused as a whole (here: above GitLab's complexity limit) sends the crawl to
    REST; the catalogue is complete either way."""
    from crawlers.forges import gitlab

    paths = gitlab.BLOB_PATHS
    try:
        gitlab.BLOB_PATHS = tuple(f"no-such-file-{i}" for i in range(300)) + paths
        done = await crawl(forge, "gitlab")
    finally:
        gitlab.BLOB_PATHS = paths
    assert done.run["status"] == "done" and done.run["failures"] == []
    asked = _requests(forge, "gitlab")
    assert asked["POST /graphql"] == 1
    assert asked["GET /projects/{id}/repository/tree"] == SIZE
    assert asked["GET /projects/{id}/repository/files/{file_path}/raw"] == _metadata_files(forge)
    assert len(await catalogue()) == SIZE


async def test_gitea_reads_the_files_in_one_call_and_forgejo_by_listing(
    database: str, forge: FakeForge
) -> None:
    done = await crawl(forge, "gitea")
    assert done.run["status"] == "done" and done.run["failures"] == []
    asked = _requests(forge, "gitea")
    assert asked["POST /repos/{owner}/{repo}/file-contents"] == SIZE
    assert not any("/contents" in key or "/raw/" in key for key in asked)
    gitea = await _files_and_versions()

    forge.reset_stats()
    async with ForgeClient(
        Settings(allow_loopback=True), transport=httpx.ASGITransport(app=forge)
    ) as client:
        crawler = Crawler(client, endpoints={"forgejo.example": "http://127.0.0.1/forgejo"})
        summary = await crawler.crawl(parse_target(f"forgejo@forgejo.example:{OWNER}"))
    assert summary.failures == [] and summary.added == SIZE
    asked = _requests(forge, "forgejo")
    assert not any("file-contents" in key for key in asked)
    assert asked["GET /repos/{owner}/{repo}/contents"] == SIZE
    assert asked["GET /repos/{owner}/{repo}/raw/{filepath*}"] == _metadata_files(forge)
    forgejo = await _files_and_versions("https://forgejo.example/")
    assert forgejo == gitea


async def _files_and_versions(prefix: str = "https://codeberg.org/") -> dict[str, Any]:
    """Per repository name: its file license findings, publiccode verdict and releases."""
    rows = await Repository.select(
        Repository.id, Repository.url, Repository.publiccode_valid, Repository.publiccode_text
    ).where(Repository.url.like(f"{prefix}%"))
    facts = {}
    for row in rows:
        findings = await LicenseFinding.select(
            LicenseFinding.file, LicenseFinding.expression, LicenseFinding.confidence
        ).where((LicenseFinding.repository == row["id"]) & (LicenseFinding.source == "file"))
        releases = await Release.select(Release.tag, Release.version).where(
            Release.repository == row["id"]
        )
        facts[row["url"].rsplit("/", 1)[1]] = (
            sorted((f["file"], f["expression"], f["confidence"]) for f in findings),
            row["publiccode_valid"],
            row["publiccode_text"],
            sorted((r["tag"], r["version"]) for r in releases),
        )
    assert len(facts) == SIZE
    return facts


def _record(name: str, forge_id: str) -> RepositoryRecord:
    from crawlers.forges.base import RepoData, TagData
    from crawlers.ingest import to_record

    repo = RepoData(
        forge_kind="gitea",
        forge_id=forge_id,
        web_url=f"https://codeberg.org/{OWNER}/{name}",
        path=f"{OWNER}/{name}",
        name=name,
        tags=[TagData("v1.0.0"), TagData("v1.1.0")],
        files={"LICENSE": "MIT License\n"},
    )
    return to_record(repo)


async def test_a_repository_twice_on_one_page_is_saved_once(database: str) -> None:
    page = [_record("one", "1"), _record("two", "2"), _record("one", "1"), _record("three", "3")]
    outcome = await ingest_page(page, forge_account_id=None, publisher_id=None)
    assert sorted(outcome.added) == [url("gitea", n) for n in ("one", "three", "two")]
    assert outcome.unchanged == [url("gitea", "one")]
    assert await Repository.count() == 3
    assert await Project.count() == 3
    assert await Release.count() == 6
    added = await ChangeLog.select().where(
        (ChangeLog.entity == "repository") & (ChangeLog.action == "added")
    )
    assert len(added) == 3


async def test_a_page_is_logged_in_order_per_repository(database: str) -> None:
    """Each repository's entries come together: its row, its releases, its license
    findings, its project; release and finding ids are those of the rows written."""
    page = [_record(f"r{i}", str(i)) for i in range(5)]
    results = await save_page(page)
    entries = await ChangeLog.select().order_by(ChangeLog.id).output(load_json=True)
    per_repo = len(entries) // 5
    for index, result in enumerate(results):
        chunk = entries[index * per_repo : (index + 1) * per_repo]
        assert [e["entity"] for e in chunk] == [
            "repository",
            "release",
            "release",
            "license_finding",
            "project",
        ]
        assert chunk[0]["entity_id"] == result.repository_id
        assert chunk[-1]["entity_id"] == result.project_id
        for entry in chunk[1:3]:
            row = await Release.select().where(Release.id == entry["entity_id"]).first()
            assert row["repository"] == result.repository_id
            assert row["tag"] == entry["data"]["tag"]
        finding = (
            await LicenseFinding.select().where(LicenseFinding.id == chunk[3]["entity_id"]).first()
        )
        assert finding["repository"] == result.repository_id
    # saved again unchanged: nothing written, nothing logged
    again = await save_page(page)
    assert {r.outcome for r in again} == {"unchanged"}
    assert await ChangeLog.count() == len(entries)


async def test_a_loopback_identity_is_reached_over_http_with_its_path() -> None:
    async with ForgeClient(Settings(allow_loopback=True)) as client:
        crawler = Crawler(client)
        assert crawler.endpoint_for("https://127.0.0.1:8765/gitlab") == (
            "http://127.0.0.1:8765/gitlab"
        )
        assert crawler.endpoint_for("https://localhost:3000") == "http://localhost:3000"
        assert crawler.endpoint_for("https://gitlab.com") == "https://gitlab.com"
    async with ForgeClient(Settings(allow_loopback=False)) as client:
        assert Crawler(client).endpoint_for("https://127.0.0.1:8765/gitlab") == (
            "https://127.0.0.1:8765/gitlab"
        )
