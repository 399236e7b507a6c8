"""GitLab v4 and Gitea/Forgejo v1 shapes and paging, checked against their published docs."""

from __future__ import annotations

import httpx
import pytest
from forgeschema import documented_keys, gitea_definitions, gitlab_examples, violations

import fakeforge

GL = "/gitlab/api/v4"


def _project_like(obj: dict) -> bool:
    return "path_with_namespace" in obj


async def test_group_projects_carry_only_documented_fields(client: httpx.AsyncClient) -> None:
    documented = documented_keys("projects.md", _project_like) | documented_keys(
        "groups.md", _project_like
    )
    for simple in ("false", "true"):
        body = (await client.get(f"{GL}/groups/italia/projects", params={"simple": simple})).json()
        assert body and all(set(p) <= documented for p in body), set(body[0]) - documented
        assert all("license" not in p for p in body)


async def test_project_license_only_when_asked(client: httpx.AsyncClient) -> None:
    plain = (await client.get(f"{GL}/projects/italia%2Fdevelopers-italia-api")).json()
    assert "license" not in plain
    assert plain["license_url"].endswith("/-/blob/main/LICENSE")
    asked = (await client.get(f"{GL}/projects/{plain['id']}?license=true")).json()
    assert asked["license"] == {
        "key": "agpl-3.0",
        "name": "GNU Affero General Public License v3.0",
        "nickname": "GNU AGPLv3",
        "html_url": "http://choosealicense.com/licenses/agpl-3.0/",
        "source_url": "https://www.gnu.org/licenses/agpl-3.0.txt",
    }
    documented = documented_keys("projects.md", _project_like)
    assert set(asked) <= documented
    none = (
        await client.get(f"{GL}/projects/lutece-platform%2Flutece-cms-plugin-jsr170?license=true")
    ).json()
    assert none["license"] is None and none["license_url"] is None


async def test_subgroups_and_include_subgroups(client: httpx.AsyncClient) -> None:
    top = (await client.get(f"{GL}/groups/communs")).json()
    assert top["full_path"] == "communs" and top["parent_id"] is None
    subgroups = (await client.get(f"{GL}/groups/{top['id']}/subgroups")).json()
    assert [g["full_path"] for g in subgroups] == ["communs/es"]
    descendants = (await client.get(f"{GL}/groups/communs/descendant_groups")).json()
    assert [g["full_path"] for g in descendants] == ["communs/es", "communs/es/dec"]
    assert set(descendants[1]) <= documented_keys("groups.md", lambda o: "full_path" in o)
    direct = (await client.get(f"{GL}/groups/communs/projects")).json()
    assert direct == []
    nested = (await client.get(f"{GL}/groups/communs/projects?include_subgroups=true")).json()
    assert sorted(p["path_with_namespace"] for p in nested) == [
        "communs/es/dec/decidim-bulletin-board",
        "communs/es/dec/decidim-maintainers_toolbox",
    ]


async def test_offset_pagination_headers_and_walk(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{GL}/groups/synth/projects?per_page=100")
    assert first.headers["x-total"] == "250"
    assert first.headers["x-total-pages"] == "3"
    assert first.headers["x-next-page"] == "2" and first.headers["x-prev-page"] == ""
    assert first.headers["x-page"] == "1" and first.headers["x-per-page"] == "100"
    assert {"next", "first", "last"} <= set(first.links)
    assert first.headers["ratelimit-remaining"]
    ids, url = [], f"{GL}/groups/synth/projects?per_page=40"
    while url:
        response = await client.get(url)
        ids += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url")
    assert len(ids) == len(set(ids)) == 250


async def test_keyset_pagination_walk(client: httpx.AsyncClient) -> None:
    ids, url = [], f"{GL}/groups/synth/projects?pagination=keyset&order_by=id&sort=asc&per_page=60"
    while url:
        response = await client.get(url)
        assert "x-total" not in response.headers
        ids += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url")
    assert ids == sorted(ids) and len(set(ids)) == 250


async def test_tags_releases_and_files_follow_the_docs(client: httpx.AsyncClient) -> None:
    tags = (
        await client.get(
            f"{GL}/projects/italia%2Fdevelopers-italia-api/repository/tags?per_page=100"
        )
    ).json()
    assert set(tags[0]) == documented_keys("tags.md", lambda o: "target" in o)
    documented_commit = {
        k
        for ex in gitlab_examples("tags.md")
        for o in (ex if isinstance(ex, list) else [ex])
        for k in o.get("commit", {})
    }
    assert set(tags[0]["commit"]) == documented_commit
    lightweight = [t for t in tags if t["created_at"] is None]
    assert all(t["target"] == t["commit"]["id"] and t["message"] is None for t in lightweight)
    releases = (await client.get(f"{GL}/projects/synth%2Frepo-00003/releases")).json()
    # the example is cut before `_links`, which the page's attribute table documents
    documented_release = documented_keys("releases.md", lambda o: "tag_path" in o) | {"_links"}
    assert releases and set(releases[0]) <= documented_release
    file_url = f"{GL}/projects/italia%2Fdevelopers-italia-api/repository/files/publiccode.yml"
    assert (await client.get(file_url)).status_code == 400  # ref is required
    meta = (await client.get(file_url, params={"ref": "main"})).json()
    assert set(meta) == documented_keys("repository_files.md", lambda o: "blob_id" in o)
    raw = await client.get(f"{file_url}/raw")
    assert raw.text.startswith("# This repository adheres to the publiccode.yml standard")


@pytest.mark.parametrize("forge", ["gitea", "forgejo"])
async def test_gitea_objects_match_the_swagger_definitions(
    client: httpx.AsyncClient, forge: str
) -> None:
    defs = gitea_definitions(forgejo=forge == "forgejo")
    base = f"/{forge}/api/v1"
    checks = [
        ("/orgs/italia", "Organization"),
        ("/repos/italia/developers-italia-api", "Repository"),
        ("/repos/italia/developers-italia-api/contents/publiccode.yml", "ContentsResponse"),
        ("/version", "ServerVersion"),
    ]
    for path, definition in checks:
        body = (await client.get(base + path)).json()
        assert violations(body, defs[definition], defs=defs, null_ok=True) == [], path
        if definition != "ServerVersion":
            assert set(body) >= set(defs[definition]["properties"]) - {
                "parent",
                "repo_transfer",
                "external_tracker",
                "external_wiki",
                "internal_tracker",
                "lfs_oid",
                "lfs_size",
            }, path
    for path, definition in [
        ("/repos/italia/developers-italia-api/tags", "Tag"),
        ("/repos/synth/repo-00003/releases", "Release"),
        ("/orgs/italia/repos", "Repository"),
    ]:
        body = (await client.get(base + path)).json()
        assert body, path
        for item in body:
            assert violations(item, defs[definition], defs=defs, null_ok=True) == [], path


async def test_licenses_are_reported_by_gitea_only(client: httpx.AsyncClient) -> None:
    gitea = (await client.get("/gitea/api/v1/repos/codegouvfr/catalogi")).json()
    assert gitea["licenses"] == ["CC-BY-4.0", "Etalab-2.0", "LicenseRef-Excluded", "MIT"]
    assert (
        await client.get("/gitea/api/v1/repos/italia/developers-italia-api/licenses")
    ).json() == ["AGPL-3.0"]
    forgejo = (await client.get("/forgejo/api/v1/repos/codegouvfr/catalogi")).json()
    assert "licenses" not in forgejo
    assert (
        await client.get("/forgejo/api/v1/repos/codegouvfr/catalogi/licenses")
    ).status_code == 404


async def test_gitea_pagination_link_and_total_count(client: httpx.AsyncClient) -> None:
    first = await client.get("/gitea/api/v1/orgs/synth/repos?limit=200")
    assert len(first.json()) == 50  # MAX_RESPONSE_ITEMS
    assert first.headers["x-total-count"] == "250"
    assert '",<' in first.headers["link"]  # comma without a space, as Gitea sends it
    names, url = [], "/gitea/api/v1/orgs/synth/repos"
    while url:
        response = await client.get(url)
        names += [r["name"] for r in response.json()]
        url = response.links.get("next", {}).get("url")
    assert len(names) == len(set(names)) == 250


async def test_raw_file_with_ref_prefix(client: httpx.AsyncClient) -> None:
    direct = await client.get("/gitea/api/v1/repos/italia/developers-italia-api/raw/LICENSE")
    prefixed = await client.get("/gitea/api/v1/repos/italia/developers-italia-api/raw/main/LICENSE")
    assert direct.content == prefixed.content and b"GNU AFFERO" in direct.content


async def test_gitea_search_envelope_filters_by_owner(client: httpx.AsyncClient) -> None:
    defs = gitea_definitions()
    org = (await client.get("/gitea/api/v1/orgs/decidim")).json()
    response = await client.get(f"/gitea/api/v1/repos/search?uid={org['id']}&limit=1")
    body = response.json()
    assert violations(body, defs["SearchResults"], defs=defs, null_ok=True) == []
    assert body["ok"] is True and len(body["data"]) == 1
    assert response.headers["x-total-count"] == "2"
    found = (await client.get("/gitea/api/v1/repos/search?q=bulletin")).json()["data"]
    # decidim is loaded twice by the fixture: as itself and as the subgroup communs/es/dec
    assert {r["full_name"] for r in found} == {
        "decidim/decidim-bulletin-board",
        "dec/decidim-bulletin-board",
    }


async def test_gitlab_single_tag_with_url_encoded_name(client: httpx.AsyncClient) -> None:
    url = f"{GL}/projects/italia%2Fdevelopers-italia-api/repository/tags/helm%2Fv0.6.0"
    tag = (await client.get(url)).json()
    assert tag["name"] == "helm/v0.6.0"
    assert tag["commit"]["id"] == "b7c1c8637caaa841a6358c41b078258f00fe596b"
    assert (await client.get(f"{url}-nope")).status_code == 404


async def test_gitlab_stops_counting_above_ten_thousand_records() -> None:
    app = fakeforge.create_app([], ["gitlab:huge:10001"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://forge.test") as client:
        response = await client.get(f"{GL}/groups/huge/projects?per_page=100&page=100")
    assert "x-total" not in response.headers and "x-total-pages" not in response.headers
    assert "last" not in response.links and "next" in response.links
    assert response.headers["x-next-page"] == "101"
