"""The Bitbucket Cloud adapter crawling the fake forge's Bitbucket shape of real fixture
accounts, compared with what the GitHub adapter reads from the GitHub shape of the same
accounts; and the plain Git adapter reading the same repositories over smart HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import fakeforge
from crawlers.forges.base import RepoData
from crawlers.forges.bitbucket import BitbucketAdapter, api_base
from crawlers.forges.git import GitAdapter
from crawlers.forges.github import GitHubAdapter
from crawlers.http import ForgeClient
from fakeforge.app import FakeForge
from fakeforge.testing import serve
from registry.errors import NotFoundError, ValidationError
from registry.licenses import detect_in_files
from registry.settings import Settings
from registry.versions import TagInfo, summarise_tags

REAL = Path(__file__).resolve().parents[1] / "data" / "real-forges"
ACCOUNTS = ["codegouvfr", "italia", "lutece-platform", "OpenCatalogi", "edificeio"]
BASE = "http://forge.test"


async def loopback(host: str) -> list[str]:
    return ["127.0.0.1"]


@pytest.fixture
def app() -> FakeForge:
    forge = fakeforge.create_app([REAL / f"github__{name}.json" for name in ACCOUNTS])
    yield forge  # type: ignore[misc]
    forge.git.cleanup()


@pytest.fixture
async def client(app: FakeForge) -> AsyncIterator[ForgeClient]:
    settings = Settings(allow_loopback=True)
    async with ForgeClient(
        settings, transport=httpx.ASGITransport(app=app), resolver=loopback
    ) as forge_client:
        yield forge_client


async def crawl(adapter: BitbucketAdapter | GitHubAdapter, owner: str) -> dict[str, RepoData]:
    repos: dict[str, RepoData] = {}
    async for page in adapter.account_pages(owner):
        for repo in page:
            assert repo.name not in repos
            repos[repo.name] = repo
    assert adapter.failures == []
    return repos


def tag_set(repo: RepoData) -> set[tuple[str, object, str]]:
    return {(t.name, t.date, t.commit) for t in repo.tags}


def latest(repo: RepoData) -> str | None:
    summary = summarise_tags([TagInfo(t.name, t.date, t.commit) for t in repo.tags])
    return summary.latest_stable.tag if summary.latest_stable else None


@pytest.mark.parametrize("owner", ACCOUNTS)
async def test_bitbucket_crawl_reads_what_the_github_crawl_reads(
    client: ForgeClient, app: FakeForge, owner: str
) -> None:
    github = await crawl(GitHubAdapter(client, f"{BASE}/github"), owner)
    app.reset_stats()
    bitbucket = await crawl(BitbucketAdapter(client, f"{BASE}/bitbucket"), owner)

    assert sorted(bitbucket) == sorted(github)
    for name, theirs in github.items():
        ours = bitbucket[name]
        assert tag_set(ours) == tag_set(theirs), name
        assert latest(ours) == latest(theirs), name
        assert ours.files == theirs.files, name
        assert (ours.default_branch, ours.head_commit) == (
            theirs.default_branch,
            theirs.head_commit,
        )
        # updated_on moves with any push, tags included: the newest of push and tag dates
        newest_tag = max((t.date for t in theirs.tags if t.date), default=None)
        assert ours.pushed_at == max(d for d in (theirs.pushed_at, newest_tag) if d)
        assert (ours.description, ours.is_fork) == (theirs.description, theirs.is_fork)
        assert ours.path == f"{owner}/{name}" and ours.web_url == f"{BASE}/bitbucket/{owner}/{name}"
        # Bitbucket names no license: the license comes from the files alone.
        assert ours.forge_license is None
    # per repository: tag pages, the root listing, one per metadata file and REUSE directory
    repos = len(bitbucket)
    files = sum(len(r.files) for r in bitbucket.values())
    reuse = sum(any(p.startswith("LICENSES/") for p in r.files) for r in bitbucket.values())
    tag_pages = sum(max(1, -(-len(r.tags) // 100)) for r in bitbucket.values())
    # a root with no file at all gives no commit hash: one more request, for the branch
    empty_roots = sum(not r.files for r in bitbucket.values())
    expected = -(-repos // 100) + tag_pages + repos + reuse + files + empty_roots
    assert app.stats.count("bitbucket") == expected
    assert app.stats.count("bitbucket", "/repositories/{workspace}") == 1


async def test_license_comes_from_the_files(client: ForgeClient) -> None:
    repos = await crawl(BitbucketAdapter(client, f"{BASE}/bitbucket"), "codegouvfr")
    findings = {f.file: f.expression for f in detect_in_files(repos["react-dsfr"].files)}
    assert findings == {"LICENSE": "MIT"}
    reuse = {f.file for f in detect_in_files(repos["catalogi"].files)}
    assert "LICENSES/MIT.txt" in reuse
    assert "publiccode.yml" in repos["react-dsfr"].files


async def test_one_repository_and_missing_ones(client: ForgeClient) -> None:
    adapter = BitbucketAdapter(client, f"{BASE}/bitbucket")
    repo = await adapter.repository("italia/design-comuni-plone-theme")
    assert len(repo.tags) == 687 and latest(repo) is not None
    assert repo.files.keys() >= {"publiccode.yml"}
    with pytest.raises(NotFoundError):
        await adapter.repository("italia/no-such-repository")
    with pytest.raises(NotFoundError):
        async for _page in adapter.account_pages("no-such-workspace"):
            pass


async def test_synthetic_workspace_pages_by_next_links(client: ForgeClient) -> None:
    app = fakeforge.create_app([], ["bitbucket:big:250"])
    settings = Settings(allow_loopback=True)
    async with ForgeClient(
        settings, transport=httpx.ASGITransport(app=app), resolver=loopback
    ) as big_client:
        adapter = BitbucketAdapter(big_client, f"{BASE}/bitbucket")
        sizes = [len(page) async for page in adapter.account_pages("big")]
    assert sizes == [100, 100, 50]
    assert app.stats.count("bitbucket", "/repositories/{workspace}") == 3


def test_api_base_for_bitbucket_org_and_other_hosts() -> None:
    assert api_base("https://bitbucket.org") == "https://api.bitbucket.org/2.0"
    assert api_base("http://127.0.0.1:8765/bitbucket") == "http://127.0.0.1:8765/bitbucket/2.0"


# -- the plain Git adapter on the same accounts ----------------------------------------------


async def test_plain_git_adapter_reads_what_the_bitbucket_api_gives() -> None:
    """Over Git, commit ids are Git's own (the fake forge's APIs report the fixture's), so
    tags are compared by name and date; files, default branch and latest stable must agree."""
    with serve([REAL / "github__codegouvfr.json"]) as forge:
        settings = Settings(allow_loopback=True)
        async with ForgeClient(settings) as http_client:
            api = await crawl(BitbucketAdapter(http_client, forge.url + "/bitbucket"), "codegouvfr")
            adapter = GitAdapter(http_client, forge.url + "/bitbucket")
            for name in ("react-dsfr", "codegouvfr-sources", "codegouvfr-data"):
                repo = await adapter.repository(f"codegouvfr/{name}")
                theirs = api[name]
                assert repo.files == theirs.files
                assert repo.default_branch == theirs.default_branch
                assert {t.name for t in repo.tags} == {t.name for t in theirs.tags}
                assert latest(repo) == latest(theirs)
                assert repo.forge_kind == "git" and repo.forge_license is None
            with pytest.raises(NotFoundError):
                await adapter.repository("codegouvfr/nothing-here")


async def test_plain_git_server_has_no_account_listing(client: ForgeClient) -> None:
    adapter = GitAdapter(client, "https://git.example.org")
    with pytest.raises(ValidationError, match="lists no accounts"):
        async for _page in adapter.account_pages("ville"):
            pass
