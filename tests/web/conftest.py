"""Fixtures of the web tests: a seeded catalogue, an in-process client, a live server.

The catalogue is seeded from real data where we have it: the Lutece repositories of
``tests/data/real-forges`` (their tags read by ``registry.versions``, their license
files by ``registry.licenses``), published by the City of Paris; users and
memberships through ``registry.services.accounts``. Rows for which no registry
service exists yet (projects, repositories, releases) are written through the tables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from registry import db, licenses, publiccode, versions
from registry.services import accounts, registrations, search_index
from registry.settings import Settings
from registry.tables import (
    ForgeAccount,
    LicenseFinding,
    Project,
    Publisher,
    Release,
    Repository,
    ReuseDeclaration,
)

DATA = Path(__file__).parent.parent / "data"
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"
PASSWORD = "correct horse battery"
LUTECE_REPOS = (
    "lutece-core",
    "lutece-form-plugin-forms",
    "lutece-wf-plugin-workflow",
    "lutece-cms-plugin-blog",
    "lutece-tech-plugin-gismap",
    "lutece-auth-plugin-mylutece",
    "lutece-tech-plugin-rest",
    "lutece-search-plugin-solr",
)
PORTAL_PUBLICCODE = """publiccodeYmlVersion: "0.4"
name: Portail citoyen
url: https://git.occitanie.example/portail/portail-citoyen
maintenance:
  type: internal
  contacts:
    - name: Jeanne Martin
      email: jeanne.martin@occitanie.example
      affiliation: DSI Région Occitanie
"""
PORTAL_REPORT = publiccode.parse(PORTAL_PUBLICCODE)
HOSTILE_DESCRIPTION = """# Hostile

<script>document.title = "pwned-script"</script>
<img src="/static/none.png" alt="x" onerror="document.title='pwned-onerror'">
<a href="javascript:document.title='pwned-link'" id="js-link">click me</a>
[markdown link](javascript:document.title='pwned-md')
<iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/"><input name="x"></form>
<p style="position:fixed" onclick="alert(1)">styled</p>
"""


async def _publisher(slug: str, name: str, kind: str, country: str = "FR") -> int:
    rows = await Publisher.insert(
        Publisher(
            slug=slug, name=name, kind=kind, country=country, website=f"https://{slug}.example"
        )
    ).returning(Publisher.id)
    return int(rows[0]["id"])


async def _project_from_real_repo(repo: dict[str, Any], publisher_id: int, account_id: int) -> int:
    summary = versions.summarise_tags(
        [
            versions.TagInfo(t["name"], dt.datetime.fromisoformat(t["date"]), t.get("commit"))
            for t in repo.get("tags", [])
        ],
        repository=repo["name"],
    )
    findings = licenses.detect_in_files(repo.get("files", {}))
    expression = licenses.expression_for(findings) or ""
    pushed = dt.datetime.fromisoformat(repo["pushed_at"]) if repo.get("pushed_at") else None
    name = repo["name"].replace("lutece-", "Lutece ").replace("-", " ").strip()
    rows = await Project.insert(
        Project(
            slug=repo["name"],
            name=name[:1].upper() + name[1:],
            description={"en": repo.get("description") or "", "fr": ""},
            publisher=publisher_id,
            license_expression=expression,
            latest_stable=str(summary.latest_stable.version) if summary.latest_stable else "",
            latest_published=str(summary.latest_published.version)
            if summary.latest_published
            else "",
            last_activity_at=pushed,
            categories=["cms"] if "cms" in repo["name"] or "core" in repo["name"] else ["forms"],
        )
    ).returning(Project.id)
    project_id = int(rows[0]["id"])
    rows = await Repository.insert(
        Repository(
            url=repo["html_url"],
            forge_account=account_id,
            project=project_id,
            forge_kind="github",
            name=repo["name"],
            full_name=repo["full_name"],
            description=repo.get("description") or "",
            default_branch=repo.get("default_branch") or "",
            language=repo.get("language") or "",
            pushed_at=pushed,
        )
    ).returning(Repository.id)
    repository_id = int(rows[0]["id"])
    releases = [
        Release(
            repository=repository_id,
            tag=item.tag,
            version=str(item.version),
            is_prerelease=item.prerelease,
            published_at=item.date,
            commit=getattr(item.info, "commit", "") or "",
        )
        for item in summary.versions
    ]
    if releases:
        await Release.insert(*releases)
    for finding in findings:
        await LicenseFinding.insert(
            LicenseFinding(
                repository=repository_id,
                expression=finding.expression or "",
                source="file",
                file=finding.file or "",
                confidence=finding.confidence / 100,
            )
        )
    return project_id


async def seed_catalogue() -> dict[str, Any]:
    """A small catalogue: Lutece by Paris, two reusing cities, users of each role."""
    paris = await _publisher("ville-de-paris", "Ville de Paris", "municipality")
    lyon = await _publisher("ville-de-lyon", "Ville de Lyon", "municipality")
    region = await _publisher("region-occitanie", "Région Occitanie", "region")
    agency = await _publisher("dinum", "DINUM", "state_agency")
    account_rows = await ForgeAccount.insert(
        ForgeAccount(
            publisher=paris,
            forge_kind="github",
            base_url="https://github.com",
            owner="lutece-platform",
        )
    ).returning(ForgeAccount.id)
    account = int(account_rows[0]["id"])
    real = json.loads((DATA / "real-forges" / "github__lutece-platform.json").read_text())
    by_name = {r["name"]: r for r in real["repositories"]}
    projects = {
        name: await _project_from_real_repo(by_name[name], paris, account) for name in LUTECE_REPOS
    }
    core = projects["lutece-core"]
    await Project.update({Project.parent: core}).where(
        Project.id.is_in([p for n, p in projects.items() if n != "lutece-core"])
    )
    # a second, differently licensed project that also matches "lutece"
    rows = await Project.insert(
        Project(
            slug="lutece-occitanie-portal",
            name="Portail citoyen Occitanie",
            description={
                "fr": "Portail **citoyen** bâti sur Lutece.",
                "en": "Citizen portal built on Lutece.",
            },
            publisher=region,
            license_expression="EUPL-1.2",
            latest_stable="2.3.0",
            last_activity_at=dt.datetime(2023, 5, 2, tzinfo=dt.UTC),
            categories=["portal"],
            based_on=core,
        )
    ).returning(Project.id)
    portal = int(rows[0]["id"])
    rows = await Repository.insert(
        Repository(
            url="https://git.occitanie.example/portail/portail-citoyen",
            project=portal,
            forge_kind="gitlab",
            name="portail-citoyen",
            language="Java",
            publiccode_text=PORTAL_PUBLICCODE,
            publiccode_valid=PORTAL_REPORT.valid,
            publiccode_results=[r.as_dict() for r in PORTAL_REPORT.results],
        )
    ).returning(Repository.id)
    # its forge says EUPL-1.2 while its LICENSE file is the AGPL: the sheet must say so
    await LicenseFinding.insert(
        LicenseFinding(
            repository=int(rows[0]["id"]), expression="EUPL-1.2", source="forge", confidence=1.0
        ),
        LicenseFinding(
            repository=int(rows[0]["id"]),
            expression="AGPL-3.0-or-later",
            source="file",
            file="LICENSE",
            confidence=0.97,
        ),
    )
    rows = await Project.insert(
        Project(
            slug="hostile-readme",
            name="Hostile README",
            description={"en": HOSTILE_DESCRIPTION},
            publisher=agency,
            license_expression="MIT",
        )
    ).returning(Project.id)
    hostile = int(rows[0]["id"])
    member = await accounts.create_user("marie", password=PASSWORD, display_name="Marie Lyon")
    await accounts.add_membership(member, lyon, "member")
    maintainer = await accounts.create_user("paul", password=PASSWORD, display_name="Paul Paris")
    await accounts.add_membership(maintainer, paris, "maintainer")
    manager = await accounts.create_user(
        "camille", password=PASSWORD, display_name="Camille", role="community_manager"
    )
    # Occitanie already uses an old Lutece core
    core_versions = (
        await Release.select(Release.version)
        .where(Release.repository.project == core)
        .order_by(Release.published_at)
    )
    old = next(r["version"] for r in core_versions if re.fullmatch(r"6\.\d+\.\d+", r["version"]))
    await ReuseDeclaration.insert(
        ReuseDeclaration(
            publisher=region,
            project=core,
            version=old,
            status="production",
            since=dt.date(2021, 3, 1),
            contact="dsi@occitanie.example",
        )
    )
    queued = await registrations.register(
        "https://git.example.invalid/paris/seeded",
        paris,
        user_id=maintainer,
        may_maintain=True,
        settings=Settings(),
    )
    await search_index.rebuild()
    return {
        "queued_run": queued.id,
        "publishers": {"paris": paris, "lyon": lyon, "region": region, "agency": agency},
        "projects": {**projects, "portal": portal, "hostile": hostile},
        "users": {"member": member, "maintainer": maintainer, "manager": manager},
        "old_core_version": old,
    }


def settings_for_current_engine(data_dir: Path) -> Settings:
    """Settings pointing at the database the ``database`` fixture bound."""
    engine = db.current_engine()
    config = getattr(engine, "config", {}) or {}
    url = config.get("dsn") or f"sqlite:///{Path(engine.path).resolve()}"  # type: ignore[attr-defined]
    return Settings(data_dir=data_dir, database_url=url, secret_key="test-secret-" + "x" * 32)


@pytest.fixture
async def seeded(database: str) -> dict[str, Any]:
    return await seed_catalogue()


@pytest.fixture
async def client(seeded: dict[str, Any], tmp_path: Path) -> AsyncIterator[AsyncTestClient]:
    """An in-process client of the whole app (API and web) over the seeded catalogue."""
    from api.app import create_app

    app = create_app(
        settings_for_current_engine(tmp_path / "data"),
        bind_database=False,
        rate_limit=None,
        run_registrations=False,
    )
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


class WebVisitor:
    """A person using the site through the in-process client: follows forms like a browser."""

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def csrf(self, path: str) -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        marker = 'name="csrf_token" value="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        token = await self.csrf("/signin")
        return await self.client.post(
            "/signin",
            data={"csrf_token": token, "username": username, "password": password, "next": "/"},
            follow_redirects=False,
        )

    async def post_form(self, form_page: str, action: str, data: dict[str, str]) -> httpx.Response:
        token = await self.csrf(form_page)
        return await self.client.post(
            action, data={"csrf_token": token, **data}, follow_redirects=False
        )


@pytest.fixture
def visitor(client: AsyncTestClient) -> WebVisitor:
    return WebVisitor(client)


# Live server and browser ------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``communs serve`` on a free loopback port over a freshly seeded SQLite catalogue."""
    data_dir = tmp_path_factory.mktemp("live") / "data"
    settings = Settings(data_dir=data_dir)

    async def prepare() -> dict[str, Any]:
        db.use_database(settings.effective_database_url)
        try:
            await db.migrate()
            return await seed_catalogue()
        finally:
            await db.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        seed = pool.submit(asyncio.run, prepare()).result()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env["COMMUNS_ALLOW_LOOPBACK"] = "true"
    log = (data_dir.parent / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "communs",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"communs serve exited: {(data_dir.parent / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("communs serve did not answer within 60 s")
            time.sleep(0.2)
        yield {"base": base, "seed": seed, "data_dir": data_dir}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _browser_problem() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright for Python is not installed"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    problem = _browser_problem()
    if problem:
        if os.environ.get("COMMUNS_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"COMMUNS_TEST_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
