"""The fake forge's Bitbucket Cloud 2.0 shapes, checked against Atlassian's OpenAPI description
and the examples and recorded payloads copied in tests/data/forge-api/bitbucket."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from forgeschema import violations

from fakeforge.app import FakeForge

BITBUCKET = Path(__file__).resolve().parents[1] / "data" / "forge-api" / "bitbucket"
API = "/bitbucket/2.0"


def flatten(schema: dict[str, Any]) -> dict[str, Any]:
    """One object schema out of nested ``allOf`` (Bitbucket's base ``object`` + the type), so
    that a key declared by either part is declared."""
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            flat = flatten(part)
            merged["properties"].update(flat.get("properties", {}))
            merged["required"] += flat.get("required", [])
        schema = merged
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: flatten(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = flatten(out["items"])
    return out


def schema(name: str) -> dict[str, Any]:
    doc = json.loads((BITBUCKET / f"GET_{name}.json").read_text())
    return flatten(doc["response_schema"])


def description_examples(name: str) -> list[Any]:
    """The JSON bodies shown in an operation's description (after ``$ curl ...``)."""
    text = json.loads((BITBUCKET / f"GET_{name}.json").read_text())["description"]
    return [
        json.loads(block)
        for block in re.findall(r"```javascript\n\$ curl [^\n]*\n(.*?)```", text, re.S)
    ]


def documented_keys() -> set[str]:
    """Keys the description's own examples show beyond its schemas: a commit's ``links``, a
    ``commit_file``'s ``links``, ``attributes``, ``size`` (``escaped_path`` and ``mimetype`` are
    in real listings too)."""
    keys: set[str] = {"escaped_path", "mimetype"}
    for example in description_examples("repositories_workspace_repo_slug_src_commit_path"):
        for entry in example.get("values", [example]):
            keys |= set(entry) | set(entry["commit"])
    return keys


def undocumented(problems: list[str]) -> list[str]:
    allowed = documented_keys()
    return [
        p
        for p in problems
        if not (m := re.search(r"undeclared key '([^']+)'", p)) or m.group(1) not in allowed
    ]


def keys_and_types(value: Any, path: str = "$") -> dict[str, type]:
    """Every key path of a JSON value with the type found there (lists: their items)."""
    found: dict[str, type] = {path: type(value)}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= keys_and_types(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found |= keys_and_types(item, f"{path}[]")
    return found


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    response = await client.get(f"{API}{path}", params=params)
    return response


# -- documented shapes -------------------------------------------------------------------------


async def test_workspace_matches_the_description(client: httpx.AsyncClient) -> None:
    response = await get(client, "/workspaces/codegouvfr")
    assert response.status_code == 200
    body = response.json()
    assert violations(body, schema("workspaces_workspace")) == []
    assert set(body) == set(schema("workspaces_workspace")["properties"])
    assert body["slug"] == "codegouvfr"


async def test_repository_list_and_repository_match_the_description(
    client: httpx.AsyncClient,
) -> None:
    page = (await get(client, "/repositories/codegouvfr")).json()
    assert violations(page, schema("repositories_workspace")) == [
        f"$.values[{i}]: undeclared key 'slug'" for i in range(len(page["values"]))
    ]
    one = (await get(client, "/repositories/codegouvfr/catalogi")).json()
    assert violations(one, schema("repositories_workspace_repo_slug")) == [
        "$: undeclared key 'slug'"
    ]
    # ``slug`` is missing from the description but in every recorded real repository object.
    recorded = json.loads(
        (BITBUCKET / "samples" / "bitbucket.org_2.0_repositories_fields_page1.json").read_text()
    )
    assert all("slug" in value for value in recorded["values"])
    assert one == page["values"][0]
    assert one["mainbranch"] == {"type": "branch", "name": "main"}
    assert one["scm"] == "git" and "license" not in one
    assert {c["name"] for c in one["links"]["clone"]} == {"https", "ssh"}


async def test_recorded_partial_listing_has_the_same_keys_and_types(
    client: httpx.AsyncClient,
) -> None:
    recorded_page = json.loads(
        (BITBUCKET / "samples" / "bitbucket.org_2.0_repositories_fields_page1.json").read_text()
    )
    fields = parse_qs(urlsplit(recorded_page["next"]).query)["fields"][0]
    page = (await get(client, "/repositories/italia", fields=fields, pagelen=10)).json()
    ours = keys_and_types(page)
    theirs = keys_and_types(recorded_page)
    # The recording shows ``slug``, which the query did not ask for, and lacks ``is_private``,
    # which it did ask for: the fake forge answers the query as written.
    assert {k: v for k, v in ours.items() if not k.endswith(".is_private")} == {
        k: v for k, v in theirs.items() if not k.endswith(".slug")
    }
    assert ours["$.values[].is_private"] is bool
    assert parse_qs(urlsplit(page["next"]).query)["fields"] == [fields]


@pytest.mark.parametrize(
    ("name", "count", "annotated"), [("catalogi", 337, False), ("codegouvfr-sources", 52, True)]
)
async def test_tags_match_the_description_with_null_for_lightweight_tags(
    client: httpx.AsyncClient, app: FakeForge, name: str, count: int, annotated: bool
) -> None:
    repo = app.world.repo("codegouvfr", name)
    assert repo is not None
    tags_schema = schema("repositories_workspace_repo_slug_refs_tags")
    seen = 0
    url: str | None = f"{API}/repositories/codegouvfr/{name}/refs/tags?pagelen=100"
    while url:
        body = (await client.get(url)).json()
        for value in body["values"]:
            assert (value["tagger"] is not None) is annotated
            problems = undocumented(violations(value, tags_schema["properties"]["values"]["items"]))
            expected = (
                []
                if annotated
                else [
                    "$.message: null where string expected",
                    "$.date: null where string expected",
                    "$.tagger: null where object expected",
                ]
            )
            assert problems == expected, value["name"]
            tag = repo.tag(value["name"])
            assert tag is not None and value["target"]["hash"] == tag.commit
        problems = violations({k: v for k, v in body.items() if k != "values"}, tags_schema)
        assert problems == []
        seen += len(body["values"])
        url = body.get("next")
    assert seen == len(repo.tags) == count


async def test_tags_default_to_git_order_and_sort_by_name_or_date(
    client: httpx.AsyncClient, app: FakeForge
) -> None:
    repo = app.world.repo("codegouvfr", "catalogi")
    assert repo is not None

    async def names(**params: Any) -> list[str]:
        body = (await get(client, "/repositories/codegouvfr/catalogi/refs/tags", **params)).json()
        return [v["name"] for v in body["values"]]

    assert await names(pagelen=100) == sorted(t.name for t in repo.tags)[:100]
    newest = sorted(repo.tags, key=lambda t: (t.date, t.name), reverse=True)
    assert await names(sort="-target.date", pagelen=10) == [t.name for t in newest[:10]]
    by_name = await names(sort="name", pagelen=100)
    assert by_name.index("v1.9.0") < by_name.index("v1.10.0")


async def test_src_listing_file_and_meta_match_the_documented_examples(
    client: httpx.AsyncClient, app: FakeForge
) -> None:
    repo = app.world.repo("codegouvfr", "catalogi")
    assert repo is not None
    name = "repositories_workspace_repo_slug_src_commit_path"
    examples = description_examples(name)
    meta_example, listing_example = examples[0], examples[1]

    listing = (
        await get(client, f"/repositories/codegouvfr/catalogi/src/{repo.head_commit}/LICENSES/")
    ).json()
    assert undocumented(violations(listing, schema(name))) == []
    file_entries = [v for v in listing["values"] if v["type"] == "commit_file"]
    documented_file = next(v for v in listing_example["values"] if v["type"] == "commit_file")
    assert set(documented_file) <= set(file_entries[0])
    assert set(listing_example) <= set(listing)

    root = (await get(client, f"/repositories/codegouvfr/catalogi/src/{repo.head_commit}/")).json()
    directory = root["values"][0]
    documented_dir = next(v for v in listing_example["values"] if v["type"] == "commit_directory")
    assert keys_and_types(directory).keys() == keys_and_types(documented_dir).keys()
    assert directory["path"] == "LICENSES"

    path = f"/repositories/codegouvfr/catalogi/src/{repo.head_commit}/LICENSES/MIT.txt"
    raw = await get(client, path)
    assert raw.content == repo.files["LICENSES/MIT.txt"].encode()
    assert raw.headers["content-disposition"].startswith("attachment")
    assert raw.headers["content-type"] == "text/plain"
    meta = (await get(client, path, format="meta")).json()
    assert set(meta_example) <= set(meta)
    assert meta["size"] == len(raw.content)
    assert meta["commit"]["hash"] == repo.head_commit


async def test_src_accepts_branch_and_tag_names_and_redirects_the_bare_src(
    client: httpx.AsyncClient, app: FakeForge
) -> None:
    repo = app.world.repo("codegouvfr", "react-dsfr")
    assert repo is not None
    for ref in (repo.default_branch, repo.tags[0].name):
        response = await get(
            client, f"/repositories/codegouvfr/react-dsfr/src/{ref}/publiccode.yml"
        )
        assert response.text == repo.files["publiccode.yml"]
    redirect = await get(client, "/repositories/codegouvfr/react-dsfr/src")
    assert redirect.status_code == 302
    assert redirect.headers["location"].endswith(f"/src/{repo.head_commit}/")
    missing = await get(client, "/repositories/codegouvfr/react-dsfr/src/main/nothing.txt")
    assert missing.status_code == 404
    assert missing.json()["type"] == "error"


# -- paging, queries, partial responses, caching ------------------------------------------------


async def test_walking_next_links_lists_every_repository_once(
    client: httpx.AsyncClient, app: FakeForge
) -> None:
    account = app.world.account("synth")
    assert account is not None
    names: list[str] = []
    url: str | None = f"{API}/repositories/synth?pagelen=100&fields=next,values.name"
    pages = 0
    while url:
        body = (await client.get(url)).json()
        assert set(body) <= {"next", "values"}
        names += [v["name"] for v in body["values"]]
        url = body.get("next")
        pages += 1
    assert sorted(names) == sorted(r.name for r in account.repositories)
    assert len(names) == len(set(names)) == 250
    assert pages == 3


@pytest.mark.parametrize(("asked", "served"), [(1, 10), (10, 10), (50, 50), (500, 100)])
async def test_pagelen_is_kept_between_10_and_100(
    client: httpx.AsyncClient, asked: int, served: int
) -> None:
    body = (await get(client, "/repositories/synth", pagelen=asked)).json()
    assert body["pagelen"] == served == len(body["values"])
    assert body["size"] == 250 and body["page"] == 1


async def test_query_and_sort_on_update_time(client: httpx.AsyncClient, app: FakeForge) -> None:
    account = app.world.account("codegouvfr")
    assert account is not None
    since = "2025-08-01T00:00:00+00:00"
    body = (
        await get(
            client,
            "/repositories/codegouvfr",
            q=f'updated_on > "{since}"',
            sort="-updated_on",
            fields="values.name,values.updated_on",
        )
    ).json()
    expected = sorted(
        (r for r in account.repositories if r.activity_at > datetime.fromisoformat(since)),
        key=lambda r: r.activity_at,
        reverse=True,
    )
    assert [v["name"] for v in body["values"]] == [r.name for r in expected]
    assert expected
    bad = await get(client, "/repositories/codegouvfr", q="language = 'python' OR 1=1")
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("Invalid query")


async def test_fields_removal_and_wildcards(client: httpx.AsyncClient) -> None:
    full = (await get(client, "/repositories/codegouvfr/catalogi")).json()
    no_links = (await get(client, "/repositories/codegouvfr/catalogi", fields="-links")).json()
    assert set(no_links) == set(full) - {"links"}
    emptied = (await get(client, "/repositories/codegouvfr/catalogi", fields="-links.*")).json()
    assert emptied["links"] == {}
    owner = (await get(client, "/repositories/codegouvfr/catalogi", fields="owner.*")).json()
    assert owner == {"owner": full["owner"]}


async def test_unchanged_resources_answer_304_with_their_etag(client: httpx.AsyncClient) -> None:
    first = await get(client, "/repositories/codegouvfr", pagelen=100)
    etag = first.headers["etag"]
    again = await client.get(
        f"{API}/repositories/codegouvfr", params={"pagelen": 100}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, app: FakeForge
) -> None:
    app.reset_stats()
    await get(client, "/repositories/codegouvfr")
    await get(client, "/repositories/codegouvfr/catalogi/refs/tags")
    assert app.stats.count("bitbucket") == 2
    assert app.stats.count("bitbucket", "/repositories/{workspace}/{repo_slug}/refs/tags") == 1
