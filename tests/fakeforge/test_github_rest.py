"""GitHub REST shapes checked against GitHub's OpenAPI description, and GitHub's paging/caching."""

from __future__ import annotations

import base64

import httpx
from forgeschema import github_schema, violations

API = "/github/api/v3"


async def test_org_matches_the_documented_organization_schema(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/orgs/italia")
    assert response.status_code == 200
    assert violations(response.json(), github_schema("GET_orgs_org")) == []
    assert response.json()["public_repos"] == 13


async def test_repo_list_and_repo_match_the_documented_schemas(client: httpx.AsyncClient) -> None:
    listing = await client.get(f"{API}/orgs/lutece-platform/repos", params={"per_page": 100})
    assert violations(listing.json(), github_schema("GET_orgs_org_repos")) == []
    users = await client.get(f"{API}/users/lutece-platform/repos")
    assert violations(users.json(), github_schema("GET_users_username_repos")) == []
    single = await client.get(f"{API}/repos/italia/developers-italia-api")
    assert violations(single.json(), github_schema("GET_repos_owner_repo")) == []
    assert single.json()["license"]["spdx_id"] == "AGPL-3.0"
    assert single.json()["clone_url"] == "http://forge.test/github/italia/developers-italia-api.git"


async def test_repository_without_license_file_reports_null_and_404(
    client: httpx.AsyncClient,
) -> None:
    repo = await client.get(f"{API}/repos/lutece-platform/lutece-cms-plugin-jsr170")
    assert repo.json()["license"] is None
    assert (
        await client.get(f"{API}/repos/lutece-platform/lutece-cms-plugin-jsr170/license")
    ).status_code == 404


async def test_license_endpoint_returns_the_file_and_its_license(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/repos/italia/developers-italia-api/license")
    body = response.json()
    assert violations(body, github_schema("GET_repos_owner_repo_license")) == []
    assert body["license"]["key"] == "agpl-3.0"
    assert "GNU AFFERO" in base64.b64decode(body["content"]).decode()


async def test_unrecognised_license_text_is_noassertion(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{API}/repos/OpenCatalogi/opencatalogi")).json()
    assert body["license"]["spdx_id"] == "NOASSERTION"
    assert body["license"]["key"] == "other"


async def test_tags_and_releases_match_the_documented_schemas(client: httpx.AsyncClient) -> None:
    tags = await client.get(f"{API}/repos/italia/developers-italia-api/tags?per_page=100")
    assert violations(tags.json(), github_schema("GET_repos_owner_repo_tags")) == []
    assert tags.json()[0]["name"] == "v1.4.0"
    assert tags.json()[0]["commit"]["sha"] == "1e4b07cd72db47691dbf8ec1d819780e882273ac"
    releases = await client.get(f"{API}/repos/synth/repo-00003/releases")
    assert releases.json(), "synthetic repositories with tags have releases"
    assert violations(releases.json(), github_schema("GET_repos_owner_repo_releases")) == []


async def test_contents_as_base64_json_and_as_raw(client: httpx.AsyncClient) -> None:
    url = f"{API}/repos/italia/developers-italia-api/contents/publiccode.yml"
    as_json = await client.get(url)
    assert violations(as_json.json(), github_schema("GET_repos_owner_repo_contents_path")) == []
    text = base64.b64decode(as_json.json()["content"]).decode()
    raw = await client.get(url, headers={"Accept": "application/vnd.github.raw+json"})
    assert raw.text == text
    assert "publiccodeYmlVersion" in text
    listing = await client.get(f"{API}/repos/codegouvfr/catalogi/contents/LICENSES")
    assert [e["name"] for e in listing.json()] == [
        "CC-BY-4.0.txt",
        "Etalab-2.0.md",
        "LicenseRef-Excluded.txt",
        "MIT.txt",
    ]
    for ref in ("v1.4.0", "1e4b07cd72db47691dbf8ec1d819780e882273ac", "main"):
        at_ref = await client.get(url, params={"ref": ref})
        assert at_ref.json()["content"] == as_json.json()["content"], ref
    assert (await client.get(url, params={"ref": "no-such-ref"})).status_code == 404
    missing = await client.get(f"{API}/repos/italia/developers-italia-api/contents/codemeta.json")
    assert missing.status_code == 404


async def test_rate_limit_overview_and_headers(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{API}/orgs/italia")
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-remaining"] == "4999"
    assert first.headers["x-ratelimit-resource"] == "core"
    overview = await client.get(f"{API}/rate_limit")
    assert violations(overview.json(), github_schema("GET_rate_limit")) == []
    assert overview.json()["rate"]["used"] == 1


async def test_pagination_walk_returns_every_repository_once(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    url: str | None = f"{API}/orgs/synth/repos?per_page=30"
    pages = 0
    while url:
        response = await client.get(url)
        seen += [r["name"] for r in response.json()]
        url = response.links.get("next", {}).get("url")
        pages += 1
    assert len(seen) == 250 and len(set(seen)) == 250
    assert pages == 9


async def test_link_header_has_next_and_last_like_github(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/orgs/synth/repos?per_page=100&page=2")
    assert set(response.links) == {"prev", "next", "last", "first"}
    assert response.links["last"]["url"].endswith("page=3")
    assert ", <" in response.headers["link"]
    too_big = await client.get(f"{API}/orgs/synth/repos?per_page=500")
    assert len(too_big.json()) == 100


async def test_if_none_match_answers_304_without_using_the_rate_limit(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get(f"{API}/repos/italia/developers-italia-api")
    etag = first.headers["etag"]
    again = await client.get(
        f"{API}/repos/italia/developers-italia-api", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]


async def test_unknown_repository_is_a_github_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/repos/italia/nope")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
