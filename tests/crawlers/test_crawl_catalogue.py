"""Crawling the real fixtures through the fake forge into the catalogue, on SQLite and
PostgreSQL: right versions, licenses with their sources, publiccode verdicts; the same
catalogue whatever the forge's shape; recrawls that change nothing record nothing."""

from __future__ import annotations

from typing import Any

import pytest
from crawlkit import FIXTURES, crawl, load

import fakeforge
from registry import publiccode, versions
from registry.services import changelog
from registry.tables import ChangeLog, CrawlRun, LicenseFinding, Project, Release, Repository

ACCOUNTS = [path.stem.split("__", 1)[1] for path in FIXTURES]


async def catalogue(host: str) -> dict[str, dict[str, Any]]:
    """What the catalogue says about every repository under ``host``, by owner/name."""
    rows = await Repository.select(
        Repository.id,
        Repository.url,
        Repository.full_name,
        Repository.publiccode_valid,
        Repository.gone_at,
        Repository.project.latest_stable,
        Repository.project.latest_published,
        Repository.project.license_expression,
    ).where(Repository.url.like(f"https://{host}/%"))
    result = {}
    for row in rows:
        findings = await LicenseFinding.select(
            LicenseFinding.source, LicenseFinding.expression, LicenseFinding.file
        ).where(LicenseFinding.repository == row["id"])
        releases = await Release.count().where(Release.repository == row["id"])
        result[row["full_name"].lower()] = {
            "latest_stable": row["project.latest_stable"],
            "latest_published": row["project.latest_published"],
            "license": row["project.license_expression"],
            "publiccode_valid": row["publiccode_valid"],
            "file_licenses": sorted(
                (f["file"], f["expression"]) for f in findings if f["source"] == "file"
            ),
            "publiccode_license": [
                f["expression"] for f in findings if f["source"] == "publiccode"
            ],
            "releases": releases,
            "gone": row["gone_at"] is not None,
        }
    return result


async def last_change() -> int:
    row = await ChangeLog.select(ChangeLog.id).order_by(ChangeLog.id, ascending=False).first()
    return int(row["id"]) if row else 0


def expected_from_fixture(owner: str) -> dict[str, dict[str, Any]]:
    """The rules applied straight to the fixture, without any forge in between."""
    expected = {}
    for repo in load(owner)["repositories"]:
        tags = [
            versions.TagInfo(t["name"], versions_date(t["date"]), t["commit"]) for t in repo["tags"]
        ]
        stable = versions.latest_stable(tags, repository=repo["name"])
        text = repo["files"].get("publiccode.yml") or repo["files"].get("publiccode.yaml")
        expected[f"{owner}/{repo['name']}".lower()] = {
            "latest_stable": str(stable.version) if stable else "",
            "releases": len({t["name"] for t in repo["tags"]}),
            "publiccode_valid": publiccode.parse(text).valid if text else None,
        }
    return expected


def versions_date(value: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(value)


async def test_github_crawl_of_every_real_account_fills_the_catalogue(
    database: str, forge_app: Any
) -> None:
    for owner in ACCOUNTS:
        summary, _ = await crawl(forge_app, f"github:{owner}")
        assert summary.failures == []
    found = await catalogue("github.com")
    for owner in ACCOUNTS:
        for name, facts in expected_from_fixture(owner).items():
            assert name in found, name
            got = found[name]
            assert got["latest_stable"] == facts["latest_stable"], name
            assert got["releases"] == facts["releases"], name
            assert got["publiccode_valid"] == facts["publiccode_valid"], name
    assert len(found) == sum(len(load(o)["repositories"]) for o in ACCOUNTS) == 67
    core = found["lutece-platform/lutece-core"]
    assert core["latest_stable"] == "8.0.1"
    assert core["license"] and core["file_licenses"] == [("LICENSE", core["license"])]
    # a plugin without a license file: unknown, not guessed
    assert found["lutece-platform/lutece-form-plugin-forms"]["license"] == ""
    # codegouvfr-data's REUSE file named CC-BY-4.0 holds the CC BY-SA 4.0 text
    data = found["codegouvfr/codegouvfr-data"]
    assert ("LICENSES/LICENSE.CC-BY-4.0.txt", "CC-BY-SA-4.0") in data["file_licenses"]
    # the license a publiccode.yml declares is kept with its source
    assert found["italia/publiccode-parser-go"]["publiccode_license"] != []


async def test_forge_reported_license_is_kept_beside_the_file(
    database: str, forge_app: Any
) -> None:
    await crawl(forge_app, "github:lutece-platform")
    repo = (
        await Repository.select(Repository.id)
        .where(Repository.url == "https://github.com/lutece-platform/lutece-core")
        .first()
    )
    sources = await LicenseFinding.select(LicenseFinding.source, LicenseFinding.expression).where(
        LicenseFinding.repository == repo["id"]
    )
    by_source = {row["source"]: row["expression"] for row in sources}
    assert set(by_source) == {"file", "forge"}
    assert by_source["forge"]  # the fake forge's own detector named it


@pytest.mark.parametrize("owner", ["lutece-platform", "italia", "codegouvfr"])
async def test_same_fixture_in_three_forge_shapes_gives_the_same_catalogue(
    database: str, forge_app: Any, owner: str
) -> None:
    results = {}
    for kind, host in (
        ("github", "github.com"),
        ("gitlab", "gitlab.com"),
        ("gitea", "codeberg.org"),
    ):
        summary, _ = await crawl(forge_app, f"{kind}:{owner}")
        assert summary.failures == [], kind
        facts = await catalogue(host)
        for item in facts.values():
            item.pop("publiccode_license")
        results[kind] = facts
    assert len(results["github"]) == len(load(owner)["repositories"])
    assert results["github"] == results["gitea"]
    # GitLab too: its repository tree names the root license files and a REUSE LICENSES/
    # directory, whose files are read like on the other forges
    assert results["gitlab"] == results["github"]


async def test_second_crawl_of_unchanged_account_changes_nothing(
    database: str, forge_app: Any
) -> None:
    first, _ = await crawl(forge_app, "github:italia")
    assert first.added == 13
    logged = await changelog.count()
    second, client = await crawl(forge_app, "github:italia")
    assert (second.added, second.changed, second.gone, second.failed) == (0, 0, 0, 0)
    assert second.unchanged == 13
    assert await changelog.count() == logged
    runs = await CrawlRun.select().order_by(CrawlRun.id).output(load_json=True)
    assert [r["status"] for r in runs] == ["done", "done"]
    assert runs[1]["requests"] == second.requests == client.stats.requests > 0
    assert (runs[1]["added"], runs[1]["changed"], runs[1]["gone"]) == (0, 0, 0)
    assert runs[0]["added"] == 13


async def test_removed_repository_is_marked_gone_not_deleted_and_comes_back(
    database: str,
) -> None:
    account = load("consuldemocracy")
    app = fakeforge.create_app([account])
    await crawl(app, "gitlab:consuldemocracy")
    names = [r["name"] for r in account["repositories"]]
    # the last one goes: the fake forge numbers repositories in load order, so the others
    # keep their forge ids, as on a real forge
    smaller = dict(account, repositories=account["repositories"][:-1])
    app_without = fakeforge.create_app([smaller])
    logged = await changelog.count()
    mark = await last_change()
    summary, _ = await crawl(app_without, "gitlab:consuldemocracy")
    assert summary.gone == 1
    gone = await Repository.select().where(Repository.gone_at.is_not_null())
    assert [row["full_name"] for row in gone] == [f"consuldemocracy/{names[-1]}"]
    assert await Repository.count() == len(names)
    entries = await ChangeLog.select().where(ChangeLog.id > mark)
    assert [(e["entity"], e["action"]) for e in entries] == [("repository", "gone")]
    # gone twice is recorded once
    again, _ = await crawl(app_without, "gitlab:consuldemocracy")
    assert again.gone == 0
    assert await changelog.count() == logged + 1
    back, _ = await crawl(app, "gitlab:consuldemocracy")
    assert (back.changed, back.gone) == (1, 0)
    assert await Repository.count().where(Repository.gone_at.is_null()) == len(names)


async def test_a_new_tag_is_one_change_recorded_once(database: str) -> None:
    account = load("decidim")
    await crawl(fakeforge.create_app([account]), "gitea:decidim")
    repo = account["repositories"][0]
    newer = dict(
        repo,
        tags=[
            {"name": "v99.0.0", "date": "2026-09-01T10:00:00+00:00", "commit": repo["head_commit"]},
            *repo["tags"],
        ],
    )
    changed = dict(account, repositories=[newer, *account["repositories"][1:]])
    mark = await last_change()
    summary, _ = await crawl(fakeforge.create_app([changed]), "gitea:decidim")
    assert (summary.added, summary.changed) == (0, 1)
    entries = await ChangeLog.select().where(ChangeLog.id > mark).order_by(ChangeLog.id)
    assert [(e["entity"], e["action"]) for e in entries] == [
        ("repository", "changed"),
        ("release", "added"),
        ("project", "changed"),
    ] or [(e["entity"], e["action"]) for e in entries] == [
        ("release", "added"),
        ("project", "changed"),
    ]
    project = (
        await Project.select().where(Project.slug == f"decidim-{repo['name']}".lower()).first()
    )
    assert project["latest_stable"] == "99.0.0"


async def test_one_repository_url_is_crawled_alone(database: str, forge_app: Any) -> None:
    summary, client = await crawl(forge_app, "https://github.com/italia/publiccode-parser-go")
    assert (summary.added, summary.failed) == (1, 0)
    assert client.stats.requests == 2  # the repository query, and its license file text
    row = (
        await Repository.select()
        .where(Repository.url == "https://github.com/italia/publiccode-parser-go")
        .first()
    )
    assert row["publiccode_valid"] is not None
    run = await CrawlRun.select().first()
    assert (run["kind"], run["status"], run["added"]) == ("repository", "done", 1)


async def test_unknown_account_is_a_failed_run_with_its_reason(
    database: str, forge_app: Any
) -> None:
    summary, _ = await crawl(forge_app, "gitlab:no-such-group")
    assert summary.failed == 1
    assert "not found" in summary.failures[0]["reason"]
    run = await CrawlRun.select().first()
    assert run["status"] == "failed" and "not found" in run["error"]


async def test_renamed_repository_keeps_its_row_and_project(database: str) -> None:
    account = load("decidim")
    await crawl(fakeforge.create_app([account]), "github:decidim")
    before = await Repository.select().order_by(Repository.id)
    old = account["repositories"][-1]
    renamed = dict(old, name=f"{old['name']}-renamed", full_name=f"decidim/{old['name']}-renamed")
    app = fakeforge.create_app(
        [dict(account, repositories=[*account["repositories"][:-1], renamed])]
    )
    mark = await last_change()
    summary, _ = await crawl(app, "github:decidim")
    assert (summary.added, summary.changed, summary.gone) == (0, 1, 0)
    after = await Repository.select().order_by(Repository.id)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    moved = next(r for r in after if r["forge_id"] == before[-1]["forge_id"])
    assert moved["url"] == f"https://github.com/decidim/{renamed['name']}".lower()
    assert moved["project"] == before[-1]["project"]
    entries = await ChangeLog.select().where(ChangeLog.id > mark)
    assert (entries[0]["entity"], entries[0]["action"]) == ("repository", "changed")
