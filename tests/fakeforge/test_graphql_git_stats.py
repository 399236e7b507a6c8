"""GitHub GraphQL answers, real Git over smart HTTP, request counts, latency and faults."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
from forgeschema import REAL

from fakeforge.testing import serve

GRAPHQL = "/github/api/graphql"

ORG_QUERY = """
query($org: String!, $cursor: String) {
  organization(login: $org) {
    repositories(first: 5, after: $cursor, orderBy: {field: NAME, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        name nameWithOwner url description isFork isArchived pushedAt createdAt updatedAt
        defaultBranchRef { name target { oid } }
        primaryLanguage { name }
        licenseInfo { spdxId key name }
        repositoryTopics(first: 10) { nodes { topic { name } } }
        refs(refPrefix: "refs/tags/", first: 3,
             orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { name target { ... on Commit { oid committedDate }
                                ... on Tag { target { oid ... on Commit { committedDate } }
                                             tagger { date } } } }
        }
        releases(first: 5) { nodes { tagName name publishedAt isPrerelease isDraft } }
        publiccode: object(expression: "HEAD:publiccode.yml") {
          ... on Blob { text byteSize isBinary }
        }
        publiccodeYaml: object(expression: "HEAD:publiccode.yaml") { ... on Blob { text } }
      }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""

TAGS_QUERY = """
query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    refs(refPrefix: "refs/tags/", first: 100, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } nodes { name }
    }
  }
}
"""


async def test_organization_query_walks_every_repository(client: httpx.AsyncClient) -> None:
    names, cursor = [], None
    while True:
        body = (
            await client.post(
                GRAPHQL, json={"query": ORG_QUERY, "variables": {"org": "italia", "cursor": cursor}}
            )
        ).json()
        assert "errors" not in body, body
        page = body["data"]["organization"]["repositories"]
        names += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert names == sorted(names, key=str.lower) and len(names) == 13
    assert body["data"]["rateLimit"]["cost"] == 1
    assert body["data"]["rateLimit"]["remaining"] < 5000


async def test_organization_query_answers_the_fixture_facts(client: httpx.AsyncClient) -> None:
    body = (
        await client.post(GRAPHQL, json={"query": ORG_QUERY, "variables": {"org": "italia"}})
    ).json()
    nodes = {n["name"]: n for n in body["data"]["organization"]["repositories"]["nodes"]}
    api = nodes["developers-italia-api"]
    assert api["licenseInfo"] == {
        "spdxId": "AGPL-3.0",
        "key": "agpl-3.0",
        "name": "GNU Affero General Public License v3.0",
    }
    assert api["defaultBranchRef"]["name"] == "main"
    assert api["refs"]["totalCount"] == 41
    assert api["refs"]["nodes"][0]["name"] == "v1.4.0"
    assert api["refs"]["nodes"][0]["target"]["committedDate"] == "2026-08-19T15:04:31Z"
    assert api["publiccode"]["text"].startswith("# This repository adheres")
    assert api["publiccode"]["isBinary"] is False
    assert api["publiccodeYaml"] is None


async def test_annotated_tags_are_tag_objects(client: httpx.AsyncClient) -> None:
    query = """{ repository(owner: "italia", name: "design-comuni-plone-theme") {
      refs(refPrefix: "refs/tags/", first: 1) { nodes { name target { __typename
        ... on Tag { tagger { date } target { oid } } } } } } }"""
    body = (await client.post(GRAPHQL, json={"query": query})).json()
    target = body["data"]["repository"]["refs"]["nodes"][0]["target"]
    assert target["__typename"] == "Tag" and target["tagger"]["date"]


async def test_cost_follows_githubs_formula(client: httpx.AsyncClient) -> None:
    query = """{ organization(login: "synth") { repositories(first: 100) { nodes {
        refs(refPrefix: "refs/tags/", first: 100) { totalCount }
        releases(first: 100) { totalCount } } } }
      rateLimit { cost } }"""
    body = (await client.post(GRAPHQL, json={"query": query})).json()
    assert body["data"]["rateLimit"]["cost"] == 2  # (1 + 100 + 100) / 100, rounded
    response = await client.post(GRAPHQL, json={"query": "{ rateLimit { remaining } }"})
    assert response.json()["data"]["rateLimit"]["remaining"] == 5000 - 2 - 1
    assert response.headers["x-ratelimit-resource"] == "graphql"


async def test_follow_up_tag_pages_cover_every_tag(client: httpx.AsyncClient) -> None:
    names, after = [], None
    while True:
        body = (
            await client.post(
                GRAPHQL,
                json={
                    "query": TAGS_QUERY,
                    "variables": {
                        "owner": "italia",
                        "name": "design-comuni-plone-theme",
                        "after": after,
                    },
                },
            )
        ).json()
        refs = body["data"]["repository"]["refs"]
        names += [n["name"] for n in refs["nodes"]]
        if not refs["pageInfo"]["hasNextPage"]:
            break
        after = refs["pageInfo"]["endCursor"]
    assert len(names) == len(set(names)) == refs["totalCount"] == 687


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('{ organization(login: "italia") { nope } }', "doesn't exist on type 'Organization'"),
        (
            '{ organization(login: "italia") { repositories(first: 101) { totalCount } } }',
            "exceeds the `first` limit of 100",
        ),
        (
            '{ organization(login: "italia") { repositories { totalCount } } }',
            "must provide a `first` or `last`",
        ),
    ],
)
async def test_invalid_queries_get_graphql_errors(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await client.post(GRAPHQL, json={"query": query})
    assert response.status_code == 200
    assert "data" not in response.json()
    assert message in response.json()["errors"][0]["message"]


def test_git_ls_remote_and_shallow_clone_over_loopback(tmp_path: Path) -> None:
    fixture = next(p for p in REAL if p.name == "github__italia.json")
    with serve([fixture]) as forge:
        url = forge.clone_url("github", "italia/developers-italia-api")
        listed = subprocess.run(
            ["git", "ls-remote", "--tags", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        tags = {
            line.split("refs/tags/")[1] for line in listed.splitlines() if not line.endswith("^{}")
        }
        assert {"v1.4.0", "helm/v0.6.0"} <= tags and len(tags) == 41
        checkout = tmp_path / "clone"
        subprocess.run(
            [
                "git",
                "clone",
                "--quiet",
                "--depth",
                "1",
                forge.clone_url("gitlab", "italia/developers-italia-api"),
                str(checkout),
            ],
            check=True,
            timeout=60,
            capture_output=True,
        )
        assert (checkout / "publiccode.yml").read_text().startswith("# This repository adheres")
        assert "GNU AFFERO" in (checkout / "LICENSE").read_text()
        branch = subprocess.run(
            ["git", "-C", str(checkout), "branch", "--show-current"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert branch == "main"
        stats = httpx.get(f"{forge.url}/_fakeforge/stats").json()
        assert stats["requests"]["gitlab-git POST /gitlab/{path*}.git/{rest*}"] >= 1


def test_tag_dates_survive_in_git(tmp_path: Path) -> None:
    fixture = next(p for p in REAL if p.name == "github__italia.json")
    with serve([fixture]) as forge:
        checkout = tmp_path / "full"
        subprocess.run(
            [
                "git",
                "clone",
                "--quiet",
                forge.clone_url("gitea", "italia/developers-italia-api"),
                str(checkout),
            ],
            check=True,
            timeout=60,
            capture_output=True,
        )
        date = subprocess.run(
            ["git", "-C", str(checkout), "log", "-1", "--format=%cI", "v1.4.0"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert date.strip() == "2026-08-19T17:04:31+02:00"


async def test_requests_are_counted_per_route_and_reset(client: httpx.AsyncClient, app) -> None:
    for _ in range(3):
        await client.get("/github/api/v3/repos/italia/developers-italia-api/tags")
    await client.get("/gitlab/api/v4/projects/italia%2Fdevelopers-italia-api")
    stats = (await client.get("/_fakeforge/stats")).json()
    assert stats["requests"]["github GET /repos/{owner}/{repo}/tags"] == 3
    assert app.stats.count("gitlab") == 1
    assert app.stats.count("github", "/repos/{owner}/{repo}/tags", "GET") == 3
    assert app.stats.count("github-graphql") == 0
    assert (await client.post("/_fakeforge/reset")).json() == {"ok": True}
    assert (await client.get("/_fakeforge/stats")).json()["total"] == 0


async def test_latency_is_added_to_each_request(client: httpx.AsyncClient, app) -> None:
    app.latency_ms = 50
    start = time.perf_counter()
    await client.get("/gitea/api/v1/version")
    assert time.perf_counter() - start >= 0.05


async def test_injected_faults_500_and_429(client: httpx.AsyncClient, app) -> None:
    app.faults.add(status=500, path="/tags", times=1)
    failed = await client.get("/github/api/v3/repos/italia/developers-italia-api/tags")
    assert failed.status_code == 500
    ok = await client.get("/github/api/v3/repos/italia/developers-italia-api/tags")
    assert ok.status_code == 200
    await client.post(
        "/_fakeforge/faults", json={"status": 429, "forge": "gitlab", "retry_after": 7, "times": 2}
    )
    limited = await client.get("/gitlab/api/v4/groups/italia")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    app.faults.add(kind="truncate", path="/orgs/italia", times=1)
    broken = await client.get("/gitea/api/v1/orgs/italia")
    with pytest.raises(ValueError):
        broken.json()
    app.faults.add(kind="delay", delay_ms=60, path="/version", times=1)
    start = time.perf_counter()
    assert (await client.get("/forgejo/api/v1/version")).status_code == 200
    assert time.perf_counter() - start >= 0.06
    refused = await client.post("/_fakeforge/faults", json={"kind": "explode"})
    assert refused.status_code == 400


async def test_exhausted_rate_limit_is_refused_like_each_forge(
    client: httpx.AsyncClient, app
) -> None:
    app.limiter.limit = 2
    for _ in range(2):
        assert (await client.get("/github/api/v3/orgs/italia")).status_code == 200
    refused = await client.get("/github/api/v3/orgs/italia")
    assert refused.status_code == 403 and refused.headers["x-ratelimit-remaining"] == "0"
    for _ in range(2):
        await client.get("/gitlab/api/v4/groups/italia")
    gitlab = await client.get("/gitlab/api/v4/groups/italia")
    assert gitlab.status_code == 429 and int(gitlab.headers["retry-after"]) > 0
    assert (await client.get("/gitea/api/v1/orgs/italia")).status_code == 200  # no limits
