"""Faults and changes the fake forge injects on demand, answered as the forges document them:
renamed repositories (GitHub and GitLab redirects, ids kept), deleted ones, a rate limit used
up with its reset headers, a listing page served twice."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

import fakeforge
from fakeforge.app import FakeForge

FORGE_API = Path(__file__).resolve().parents[1] / "data" / "forge-api"


@pytest.fixture
def app() -> FakeForge:
    return fakeforge.create_app([], ["github:org:7"])


@pytest.fixture
async def client(app: FakeForge) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://forge.test") as c:
        yield c


async def test_renamed_repository_keeps_its_id_and_github_redirects_the_old_name(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    before = (await client.get("/github/api/v3/repos/org/repo-00003")).json()
    app.rename_repository("org/repo-00003", "new-name")
    moved = await client.get("/github/api/v3/repos/org/repo-00003")
    recorded = json.loads((FORGE_API / "github/fixtures/rename-repository.json").read_text())
    first = recorded["entries"][0]
    assert moved.status_code == first["status"] == 301
    assert set(moved.json()) == set(first["response_body"])
    location = moved.headers["location"]
    assert location == f"http://forge.test/github/api/v3/repositories/{before['id']}"
    after = (await client.get(location)).json()
    assert (after["id"], after["name"], after["full_name"]) == (
        before["id"],
        "new-name",
        "org/new-name",
    )
    listed = (await client.get("/github/api/v3/orgs/org/repos", params={"per_page": 100})).json()
    names = {r["id"]: r["name"] for r in listed}
    assert names[before["id"]] == "new-name" and "repo-00003" not in names.values()
    # sub-resources redirect too, with their path and query kept
    tags = await client.get("/github/api/v3/repos/org/repo-00003/tags", params={"per_page": 2})
    assert tags.status_code == 301
    assert tags.headers["location"].endswith(f"/repositories/{before['id']}/tags?per_page=2")
    assert [t["name"] for t in (await client.get(tags.headers["location"])).json()] == [
        "v1.3.0",
        "v1.2.0",
    ]


async def test_graphql_resolves_the_old_name_to_the_renamed_repository(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    app.rename_repository("org/repo-00002", "renamed")
    query = 'query { repository(owner: "org", name: "repo-00002") { databaseId nameWithOwner } }'
    body = (await client.post("/github/api/graphql", json={"query": query})).json()
    assert body["data"]["repository"]["nameWithOwner"] == "org/renamed"


async def test_gitlab_redirects_a_moved_path_to_the_project_id_and_gitea_keeps_the_id(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    project = (await client.get("/gitlab/api/v4/projects/org%2Frepo-00004")).json()
    gitea_before = (await client.get("/gitea/api/v1/repos/org/repo-00004")).json()
    app.rename_repository("org/repo-00004", "moved")
    moved = await client.get("/gitlab/api/v4/projects/org%2Frepo-00004", params={"license": "true"})
    assert moved.status_code == 301
    location = moved.headers["location"]
    assert location == f"http://forge.test/gitlab/api/v4/projects/{project['id']}?license=true"
    assert moved.text == f"This resource has been moved permanently to {location}"
    after = (await client.get(location)).json()
    assert (after["id"], after["path_with_namespace"]) == (project["id"], "org/moved")
    listed = (await client.get("/gitea/api/v1/orgs/org/repos", params={"limit": 50})).json()
    assert {r["id"]: r["name"] for r in listed}[gitea_before["id"]] == "moved"
    assert (await client.get("/gitea/api/v1/repos/org/repo-00004")).status_code == 404


async def test_deleted_repository_is_404_everywhere_and_leaves_the_listings(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    gone = (await client.get("/github/api/v3/repos/org/repo-00005")).json()["id"]
    app.delete_repository("org/repo-00005")
    for url in (
        "/github/api/v3/repos/org/repo-00005",
        f"/github/api/v3/repositories/{gone}",
        f"/gitlab/api/v4/projects/{gone}",
        "/gitea/api/v1/repos/org/repo-00005",
    ):
        assert (await client.get(url)).status_code == 404, url
    for url, key in (
        ("/github/api/v3/orgs/org/repos", "name"),
        ("/gitlab/api/v4/groups/org/projects", "path"),
        ("/gitea/api/v1/orgs/org/repos", "name"),
    ):
        names = [r[key] for r in (await client.get(url)).json()]
        assert len(names) == 6 and "repo-00005" not in names, url


async def test_renames_and_deletes_over_http_control_endpoints(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    ok = await client.post("/_fakeforge/rename", json={"path": "org/repo-00001", "name": "one"})
    assert ok.status_code == 200
    assert (await client.get("/gitea/api/v1/repos/org/one")).status_code == 200
    assert (await client.post("/_fakeforge/delete", json={"path": "org/one"})).status_code == 200
    assert (await client.get("/gitea/api/v1/repos/org/one")).status_code == 404
    missing = await client.post("/_fakeforge/delete", json={"path": "org/nothing"})
    assert missing.status_code == 404


async def test_rate_limit_fault_answers_each_forge_with_its_documented_reset_headers(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    for forge in ("github", "github-graphql", "gitlab", "gitea"):
        app.faults.add(kind="ratelimit", forge=forge, retry_after=120)
    now = time.time()
    github = await client.get("/github/api/v3/orgs/org")
    assert github.status_code == 403
    assert github.headers["x-ratelimit-remaining"] == "0"
    assert 100 <= int(github.headers["x-ratelimit-reset"]) - now <= 125
    assert github.headers["x-ratelimit-resource"] == "core"
    graphql = await client.post("/github/api/graphql", json={"query": "{ rateLimit { cost } }"})
    assert graphql.status_code == 200
    assert graphql.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert graphql.headers["x-ratelimit-remaining"] == "0"
    gitlab = await client.get("/gitlab/api/v4/groups/org")
    assert gitlab.status_code == 429
    assert gitlab.headers["retry-after"] == "120"
    assert gitlab.headers["ratelimit-remaining"] == "0"
    reset_time = parsedate_to_datetime(gitlab.headers["ratelimit-resettime"]).timestamp()
    assert abs(reset_time - int(gitlab.headers["ratelimit-reset"])) < 1
    gitea = await client.get("/gitea/api/v1/orgs/org")
    assert (gitea.status_code, gitea.headers["retry-after"]) == (429, "120")
    # each rule fired once: the forges answer again
    assert (await client.get("/github/api/v3/orgs/org")).status_code == 200
    # GitHub's secondary style: 429 when asked
    app.faults.add(kind="ratelimit", forge="github", status=429, retry_after=5)
    assert (await client.get("/github/api/v3/orgs/org")).status_code == 429


@pytest.mark.parametrize(
    ("url", "params", "next_params"),
    [
        ("/github/api/v3/orgs/org/repos", {"per_page": 3}, {"per_page": 3, "page": 2}),
        ("/gitea/api/v1/orgs/org/repos", {"limit": 3}, {"limit": 3, "page": 2}),
        (
            "/gitlab/api/v4/groups/org/projects",
            {"per_page": 3, "pagination": "keyset", "order_by": "id", "sort": "asc"},
            None,
        ),
    ],
)
async def test_repeat_fault_serves_the_previous_page_again_with_its_links(
    app: FakeForge,
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, object],
    next_params: dict[str, object] | None,
) -> None:
    app.faults.add(kind="repeat", path=url.rsplit("/", 1)[0], times=1)
    first = await client.get(url, params=params)
    following = first.links["next"]["url"]
    repeated = await client.get(following)
    assert repeated.json() == first.json()
    assert repeated.links["next"]["url"] == following  # asking again gets the real next page
    real = await client.get(following)
    assert {r["id"] for r in real.json()}.isdisjoint({r["id"] for r in first.json()})
    assert len(real.json()) == 3


async def test_repeat_fault_on_graphql_repeats_a_listing_query_not_another_query(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    query = """query($after: String) { organization(login: "org") {
      repositories(first: 3, after: $after) { pageInfo { endCursor } nodes { name } } } }"""
    app.faults.add(kind="repeat", forge="github-graphql", times=1)
    other = await client.post("/github/api/graphql", json={"query": "{ rateLimit { cost } }"})
    assert "rateLimit" in other.json()["data"]
    first = await client.post("/github/api/graphql", json={"query": query})
    cursor = first.json()["data"]["organization"]["repositories"]["pageInfo"]["endCursor"]
    again = await client.post(
        "/github/api/graphql", json={"query": query, "variables": {"after": cursor}}
    )
    assert again.json() == first.json()


async def test_a_new_tag_is_activity_on_gitlab_and_gitea(
    app: FakeForge, client: httpx.AsyncClient
) -> None:
    import datetime as dt

    from fakeforge.model import Tag

    repo = app.world.repo("org", "repo-00001")
    assert repo is not None
    before = (await client.get("/gitea/api/v1/repos/org/repo-00001")).json()["updated_at"]
    newer = repo.pushed_at + dt.timedelta(days=3)
    repo._tags = [Tag("v2.0.0", newer, "a" * 40), *repo.tags]
    app.cache.clear()
    gitea = (await client.get("/gitea/api/v1/repos/org/repo-00001")).json()["updated_at"]
    gitlab = (await client.get(f"/gitlab/api/v4/projects/{repo.id}")).json()["last_activity_at"]
    assert gitea != before
    assert gitea.startswith(newer.strftime("%Y-%m-%dT%H:%M:%S"))
    assert gitlab.startswith(newer.strftime("%Y-%m-%dT%H:%M:%S"))
