"""Whole-forge accounts (a publisher's own GitLab or Gitea instance, no owner): crawling
the publisher lists every public repository of the instance (GitLab ``GET /projects``,
Gitea ``GET /repos/search``) and reads each as a group's would be; a recrawl changes
nothing; a repository gone from the instance is marked gone; an instance over the bound is
refused in the run record; scheduled crawls include them. GitHub, Bitbucket and plain git
whole forges stay refused. On SQLite and PostgreSQL (the ``database`` fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from crawlkit import FIXTURES, REAL_FORGES, crawl

import fakeforge
from crawlers.forges import base, gitea, gitlab
from crawlers.tasks import accounts_due
from fakeforge.app import FakeForge
from registry import publiccode, versions
from registry.settings import Settings
from registry.tables import (
    ChangeLog,
    CrawlRun,
    ForgeAccount,
    Project,
    Publisher,
    Release,
    Repository,
)

#: forge kind -> the public identity the fake forge stands for (crawlkit's endpoints)
HOSTS = {"gitlab": "https://gitlab.com", "gitea": "https://codeberg.org"}
#: listing pages of a few repositories, so the instance spans many pages
PAGE = 7


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeForge]:
    """A fake forge holding every real fixture (its own: tests delete repositories)."""
    for module in (gitlab, gitea):
        monkeypatch.setattr(module, "PAGE_SIZE", PAGE)
    forge = fakeforge.create_app(FIXTURES)
    yield forge
    forge.git.cleanup()


async def whole_forge_publisher(kind: str, slug: str = "instance") -> int:
    """A publisher whose only account is the whole forge at ``HOSTS[kind]``."""
    rows = await Publisher.insert(Publisher(slug=slug, name=slug.title())).returning(Publisher.id)
    publisher = int(rows[0]["id"])
    await ForgeAccount.insert(
        ForgeAccount(
            publisher=publisher,
            forge_kind=kind,
            base_url=HOSTS.get(kind, "https://github.com"),
            owner="",
        )
    )
    return publisher


def expected() -> dict[str, dict[str, Any]]:
    """Every repository of every fixture (lower-cased owner/name), the rules applied
    straight to the fixture without any forge in between."""
    import json

    result: dict[str, dict[str, Any]] = {}
    for path in FIXTURES:
        owner = path.stem.split("__", 1)[1]
        for repo in json.loads((REAL_FORGES / path.name).read_text())["repositories"]:
            tags = [
                versions.TagInfo(t["name"], dt.datetime.fromisoformat(t["date"]), t["commit"])
                for t in repo["tags"]
            ]
            stable = versions.latest_stable(tags, repository=repo["name"])
            text = repo["files"].get("publiccode.yml") or repo["files"].get("publiccode.yaml")
            result[f"{owner}/{repo['name']}".lower()] = {
                "latest_stable": str(stable.version) if stable else "",
                "releases": len({t["name"] for t in repo["tags"]}),
                "publiccode_valid": publiccode.parse(text).valid if text else None,
            }
    return result


async def catalogue(host: str) -> dict[str, dict[str, Any]]:
    """What the catalogue holds under ``host``, by lower-cased owner/name."""
    rows = await Repository.select(
        Repository.id,
        Repository.full_name,
        Repository.forge_account,
        Repository.publiccode_valid,
        Repository.gone_at,
        Repository.project,
    ).where(Repository.url.like(f"{host}/%"))
    result = {}
    for row in rows:
        project = (
            await Project.select(Project.publisher, Project.latest_stable)
            .where(Project.id == row["project"])
            .first()
        )
        result[row["full_name"].lower()] = {
            "latest_stable": project["latest_stable"] if project else None,
            "releases": await Release.count().where(Release.repository == row["id"]),
            "publiccode_valid": row["publiccode_valid"],
            "account": row["forge_account"],
            "publisher": project["publisher"] if project else None,
            "gone": row["gone_at"] is not None,
        }
    return result


async def last_run() -> dict[str, Any]:
    run = await CrawlRun.select().order_by(CrawlRun.id, ascending=False).first()
    assert run is not None
    return run


@pytest.mark.parametrize("kind", ["gitlab", "gitea"])
async def test_whole_forge_account_brings_every_repository_of_the_instance(
    database: str, app: FakeForge, kind: str
) -> None:
    publisher = await whole_forge_publisher(kind)
    account = await ForgeAccount.select(ForgeAccount.id).first()
    summary, client = await crawl(app, "instance")
    run = await last_run()
    assert run["status"] == "done", run["error"]
    assert run["failed"] == 0 and run["gone"] == 0
    want = expected()
    assert summary.added == len(want) == 67
    got = await catalogue(HOSTS[kind])
    assert sorted(got) == sorted(want)
    for name, row in got.items():
        assert (row["account"], row["publisher"], row["gone"]) == (
            account["id"],
            publisher,
            False,
        ), name
        assert {k: row[k] for k in want[name]} == want[name], name
    # the instance came page by page: 67 repositories in pages of 7
    assert client.stats.requests > 67 // PAGE

    # a second crawl changes nothing and records nothing
    changes = await ChangeLog.count()
    again, _ = await crawl(app, "instance")
    run = await last_run()
    assert run["status"] == "done", run["error"]
    assert (again.added, again.changed, again.gone) == (0, 0, 0)
    assert (run["added"], run["changed"], run["gone"]) == (0, 0, 0)
    assert await ChangeLog.count() == changes
    assert await catalogue(HOSTS[kind]) == got


@pytest.mark.parametrize("kind", ["gitlab", "gitea"])
async def test_repository_removed_from_the_instance_is_marked_gone(
    database: str, app: FakeForge, kind: str
) -> None:
    await whole_forge_publisher(kind)
    await crawl(app, "instance")
    app.delete_repository("italia/publiccode-editor")
    await crawl(app, "instance")
    run = await last_run()
    assert run["status"] == "done", run["error"]
    assert run["gone"] == 1
    got = await catalogue(HOSTS[kind])
    assert len(got) == 67
    assert [name for name, row in got.items() if row["gone"]] == ["italia/publiccode-editor"]


@pytest.mark.parametrize("kind", ["gitlab", "gitea"])
async def test_instance_over_the_bound_is_refused_in_the_run_record(
    database: str, app: FakeForge, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await whole_forge_publisher(kind)
    await crawl(app, "instance")
    monkeypatch.setattr(base, "WHOLE_FORGE_LIMIT", 20)
    await crawl(app, "instance")
    run = await last_run()
    assert run["status"] == "failed"
    assert "lists more than 20 repositories" in run["error"]
    assert "crawl its groups or organisations as accounts instead" in run["error"]
    # a refused crawl marks nothing gone
    assert not [n for n, row in (await catalogue(HOSTS[kind])).items() if row["gone"]]


@pytest.mark.parametrize("kind", ["github", "bitbucket", "git"])
async def test_whole_forge_of_other_kinds_still_refused(
    database: str, app: FakeForge, kind: str
) -> None:
    await whole_forge_publisher(kind)
    summary, client = await crawl(app, "instance")
    run = await last_run()
    assert run["status"] == "failed"
    assert "crawling a whole forge (an account without owner) is not supported" in run["error"]
    assert summary.added == 0 and client.stats.requests == 0
    assert await Repository.count() == 0


async def test_scheduled_crawls_include_gitlab_and_gitea_whole_forges(
    database: str,
) -> None:
    rows = await Publisher.insert(Publisher(slug="p", name="P")).returning(Publisher.id)
    ids = {}
    for kind, base_url, owner in [
        ("gitlab", "https://gitlab.example.fr", ""),
        ("gitea", "https://gitea.example.fr", ""),
        ("forgejo", "https://forgejo.example.fr", ""),
        ("github", "https://github.com", ""),
        ("bitbucket", "https://bitbucket.org", ""),
        ("git", "https://git.example.fr", ""),
        ("github", "https://github.com", "etalab"),
    ]:
        row = await ForgeAccount.insert(
            ForgeAccount(publisher=rows[0]["id"], forge_kind=kind, base_url=base_url, owner=owner)
        ).returning(ForgeAccount.id)
        ids[(kind, owner)] = int(row[0]["id"])
    due = await accounts_due(Settings(crawl_interval_hours=24))
    assert sorted(due) == sorted(
        ids[k] for k in [("gitlab", ""), ("gitea", ""), ("forgejo", ""), ("github", "etalab")]
    )


async def _get(app: FakeForge, url: str) -> Any:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        return await client.get(url)


async def test_fake_gitlab_lists_every_public_project_of_the_instance(app: FakeForge) -> None:
    """``GET /projects`` as GitLab documents it: the instance's projects, keyset pages by
    id with only ``Link rel="next"``, or offset pages counted in ``x-total``."""
    url: str | None = (
        "http://127.0.0.1/gitlab/api/v4/projects?visibility=public"
        "&pagination=keyset&order_by=id&sort=asc&per_page=10"
    )
    ids: list[int] = []
    names: set[str] = set()
    while url:
        response = await _get(app, url)
        assert response.status_code == 200
        assert "x-total" not in response.headers
        page = response.json()
        assert len(page) <= 10
        ids += [p["id"] for p in page]
        names |= {p["path_with_namespace"].lower() for p in page}
        assert all(p["visibility"] == "public" for p in page)
        url = response.links.get("next", {}).get("url")
    assert ids == sorted(set(ids)) and names == set(expected())
    offset = await _get(app, "http://127.0.0.1/gitlab/api/v4/projects?per_page=50&page=2")
    assert offset.headers["x-total"] == "67" and offset.headers["x-total-pages"] == "2"
    assert len(offset.json()) == 17
    private = await _get(app, "http://127.0.0.1/gitlab/api/v4/projects?visibility=private")
    assert private.json() == []


async def test_fake_gitea_searches_every_repository_of_the_instance(app: FakeForge) -> None:
    url: str | None = "http://127.0.0.1/gitea/api/v1/repos/search?sort=id&order=asc&limit=50"
    names: list[str] = []
    while url:
        response = await _get(app, url)
        answer = response.json()
        assert answer["ok"] is True and response.headers["x-total-count"] == "67"
        names += [r["full_name"].lower() for r in answer["data"]]
        url = response.links.get("next", {}).get("url")
    assert sorted(names) == sorted(expected()) and len(names) == 67
