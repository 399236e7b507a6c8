"""``communs crawl`` end to end: the French publisher list imported, the fake forge as a real
loopback server, the command run as a subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from crawlkit import REAL_FORGES, load

from fakeforge.testing import serve
from registry.services import changelog
from registry.services.publishers import default_list_path, import_account_list
from registry.tables import CrawlRun, ForgeAccount, Project, Publisher, Repository

PARIS = "pso-34506f20-cf20-4c08-a9de-e56e680aa5ec"
UPSUD = "pso-4ca60afd-3886-434c-80bb-f6bc55581323"


@pytest.fixture
def database_url(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if database == "sqlite":
        return f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


async def communs(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COMMUNS_DATABASE_URL=url, COMMUNS_DATA_DIR=str(tmp_path / "data"))
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "communs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_publisher_from_french_list_is_crawled_through_its_accounts(
    database_url: str, tmp_path: Path
) -> None:
    await import_account_list(default_list_path())
    paris = await Publisher.select(Publisher.id).where(Publisher.slug == PARIS).first()
    accounts = await ForgeAccount.select(
        ForgeAccount.forge_kind, ForgeAccount.base_url, ForgeAccount.owner
    ).where(ForgeAccount.publisher == paris["id"])
    assert sorted((a["forge_kind"], a["base_url"], a["owner"]) for a in accounts) == [
        ("github", "https://github.com", "lutece-platform"),
        ("github", "https://github.com", "lutece-secteur-public"),
    ]
    upsud = await ForgeAccount.select().where(ForgeAccount.owner == "upsud").first()
    assert (upsud["forge_kind"], upsud["base_url"]) == ("gitlab", "https://gitlab.adullact.net")

    fixtures = [
        REAL_FORGES / "github__lutece-platform.json",
        REAL_FORGES / "github__lutece-secteur-public.json",
        f"{REAL_FORGES / 'github__decidim.json'}=upsud",
    ]
    with serve(fixtures) as forge:
        first = await communs(
            database_url, tmp_path, "crawl", PARIS, "--base-url", f"github.com={forge.url}/github"
        )
        assert first.returncode == 0, first.stderr
        assert f"{PARIS}: 27 repositories: 27 added, 0 changed, 0 gone, 0 failed;" in first.stdout
        assert "crawling" in first.stderr  # the progress bar
        logged = await changelog.count()
        second = await communs(
            database_url, tmp_path, "crawl", PARIS, "--base-url", f"github.com={forge.url}/github"
        )
        assert "27 repositories: 0 added, 0 changed, 0 gone, 0 failed;" in second.stdout
        assert await changelog.count() == logged

        gitlab = await communs(
            database_url,
            tmp_path,
            "crawl",
            UPSUD,
            "--base-url",
            f"gitlab.adullact.net={forge.url}/gitlab",
        )
        assert gitlab.returncode == 0, gitlab.stderr
        assert "2 repositories: 2 added" in gitlab.stdout

    lutece = (
        await Repository.select(
            Repository.url, Repository.project.latest_stable, Repository.project.publisher
        )
        .where(Repository.url == "https://github.com/lutece-platform/lutece-core")
        .first()
    )
    assert lutece["project.latest_stable"] == "8.0.1"
    assert lutece["project.publisher"] == paris["id"]
    decidim = {r["name"] for r in load("decidim")["repositories"]}
    urls = await Repository.select(Repository.url).where(
        Repository.url.like("https://gitlab.adullact.net/%")
    )
    assert {u["url"] for u in urls} == {f"https://gitlab.adullact.net/upsud/{n}" for n in decidim}
    runs = await CrawlRun.select().where(CrawlRun.publisher == paris["id"])
    assert len(runs) == 4 and all(r["status"] == "done" and r["requests"] > 0 for r in runs)
    assert await Project.count() == 29


async def test_account_target_with_base_url_and_json_summary(
    database_url: str, tmp_path: Path
) -> None:
    with serve([REAL_FORGES / "github__OpenCatalogi.json"]) as forge:
        result = await communs(
            database_url,
            tmp_path,
            "crawl",
            "gitea@codeberg.org:OpenCatalogi",
            "--base-url",
            f"{forge.url}/forgejo",
            "--json",
            "--quiet",
        )
    assert result.returncode == 0, result.stderr
    import json

    summary: dict[str, Any] = json.loads(result.stdout)
    assert (summary["added"], summary["failed"]) == (4, 0)
    assert summary["requests"] > 0
    account = await ForgeAccount.select().where(ForgeAccount.owner == "OpenCatalogi").first()
    assert (account["forge_kind"], account["base_url"]) == ("gitea", "https://codeberg.org")


async def test_unreachable_forge_is_reported_not_crashed(database_url: str, tmp_path: Path) -> None:
    result = await communs(
        database_url, tmp_path, "crawl", "github:nobody", "--base-url", "http://127.0.0.1:9/github"
    )
    assert result.returncode == 1
    assert "failed: github@github.com:nobody" in result.stderr
    assert "Traceback" not in result.stderr


async def test_bad_target_is_refused_with_the_accepted_forms(
    database_url: str, tmp_path: Path
) -> None:
    result = await communs(database_url, tmp_path, "crawl", "not a target!")
    assert result.returncode == 1
    assert "expected a publisher slug" in result.stderr


async def test_a_plain_git_url_and_a_bitbucket_workspace_are_crawled_by_the_command(
    database_url: str, tmp_path: Path
) -> None:
    fixtures = [REAL_FORGES / "github__lutece-secteur-public.json"]
    with serve(fixtures) as forge:
        host = forge.url.split("//", 1)[1]
        plain = await communs(
            database_url,
            tmp_path,
            "crawl",
            f"{forge.url}/gitea/lutece-secteur-public/gru-plugin-appointment.git",
            "--base-url",
            f"{host}={forge.url}",
        )
        assert plain.returncode == 0, plain.stderr
        assert "1 added" in plain.stdout, plain.stdout
        bitbucket = await communs(
            database_url,
            tmp_path,
            "crawl",
            "bitbucket:lutece-secteur-public",
            "--base-url",
            f"{forge.url}/bitbucket",
        )
        assert bitbucket.returncode == 0, bitbucket.stderr
        assert "6 repositories: 6 added" in bitbucket.stdout, bitbucket.stdout
    git_repo = await Repository.select().where(Repository.forge_kind == "git").first()
    assert git_repo["url"].endswith("/gitea/lutece-secteur-public/gru-plugin-appointment")
    assert git_repo["head_commit"]
    project = await Project.select().where(Project.id == git_repo["project"]).first()
    expected = load("lutece-secteur-public")
    assert project["latest_stable"]  # versions read from the tags fetched over Git
    assert await Repository.count().where(Repository.url.like("https://bitbucket.org/%")) == 6
    assert len(expected["repositories"]) == 6
