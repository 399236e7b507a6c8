"""Projects: search with facets, pagination, sheets, conditional reads, exports."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import World, add_project, problem_of


def facet(body: dict[str, Any], name: str) -> dict[str, int]:
    for item in body["facets"]:
        if item["name"] == name:
            return {v["value"]: v["count"] for v in item["values"]}
    raise AssertionError(f"no facet {name}")


async def test_full_text_search_finds_names_descriptions_and_publishers(
    client: AsyncTestClient[Any], world: World
) -> None:
    by_name = (await client.get("/api/v1/projects", params={"q": "cantine"})).json()
    assert [p["slug"] for p in by_name["items"]] == ["cantine"]
    # English description, accents folded, prefix matching
    assert [
        p["slug"]
        for p in (await client.get("/api/v1/projects", params={"q": "meal"})).json()["items"]
    ] == ["cantine"]
    assert [
        p["slug"]
        for p in (await client.get("/api/v1/projects", params={"q": "résidenti"})).json()["items"]
    ] == ["parking"]
    # publisher names are searched too
    nantes = (await client.get("/api/v1/projects", params={"q": "nantes metropole"})).json()
    assert sorted(p["slug"] for p in nantes["items"]) == ["agenda", "parking"]
    assert nantes["total"] == 2
    nothing = (await client.get("/api/v1/projects", params={"q": "zzzz"})).json()
    assert nothing["items"] == [] and nothing["total"] == 0
    # query syntax characters are only words
    assert (await client.get("/api/v1/projects", params={"q": '"OR * -( NEAR'})).status_code == 200


async def test_facets_count_filter_and_toggle(client: AsyncTestClient[Any], world: World) -> None:
    body = (await client.get("/api/v1/projects")).json()
    assert body["total"] == 3
    assert facet(body, "language") == {"Python": 2, "PHP": 1}
    assert facet(body, "category") == {"online-booking": 2, "mobility": 1, "events": 1}
    assert facet(body, "fr_authorised") == {"true": 2}  # AGPL and MIT, not the proprietary one
    assert facet(body, "publiccode_valid") == {"true": 1}
    assert facet(body, "kind") == {"intermunicipality": 2, "municipality": 1}
    assert facet(body, "active_months")["3"] == 2
    assert facet(body, "publisher")[str(world.nantes)] == 2

    filtered = (
        await client.get(
            "/api/v1/projects", params={"category": "online-booking", "language": "Python"}
        )
    ).json()
    assert [p["slug"] for p in filtered["items"]] == ["agenda"]
    lang = next(f for f in filtered["facets"] if f["name"] == "language")
    python = next(v for v in lang["values"] if v["value"] == "Python")
    assert python["selected"] is True and "language=Python" not in python["toggle"]
    again = (await client.get("/api/v1/projects?" + python["toggle"])).json()
    assert sorted(p["slug"] for p in again["items"]) == ["agenda", "cantine"]

    assert [
        p["slug"]
        for p in (
            await client.get(
                "/api/v1/projects", params={"fr_authorised": "true", "active_months": 3}
            )
        ).json()["items"]
    ] == ["cantine"]
    assert [
        p["slug"]
        for p in (await client.get("/api/v1/projects", params={"publiccode_valid": "true"})).json()[
            "items"
        ]
    ] == ["cantine"]


async def test_sorts_and_cursor_pagination_under_writes(
    client: AsyncTestClient[Any], world: World
) -> None:
    names = (await client.get("/api/v1/projects", params={"sort": "name"})).json()
    assert [p["slug"] for p in names["items"]] == ["agenda", "cantine", "parking"]
    recent = (await client.get("/api/v1/projects", params={"sort": "recent"})).json()
    assert [p["slug"] for p in recent["items"]] == ["cantine", "agenda", "parking"]

    for i in range(7):
        await add_project(f"extra-{i}", f"Extra {i}", world.lyon)
    seen: list[str] = []
    cursor = ""
    inserted = False
    while True:
        params = {"sort": "name", "per_page": 3, "facets": "false"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/projects", params=params)).json()
        seen.extend(p["slug"] for p in page["items"])
        if not inserted:  # a project that sorts before the cursor appears meanwhile
            await add_project("aaa-new", "Aaa new", world.lyon)
            inserted = True
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 10
    assert "aaa-new" not in seen
    bad = problem_of(await client.get("/api/v1/projects", params={"cursor": "nonsense"}), 422)
    assert bad["errors"][0]["field"] == "cursor"


async def test_project_sheet_and_conditional_get(
    client: AsyncTestClient[Any], world: World
) -> None:
    response = await client.get("/api/v1/projects/cantine")
    assert response.status_code == 200
    sheet = response.json()
    releases = sheet["repositories"][0]["releases"]
    assert [r["tag"] for r in releases] == ["v2.0.0-rc.1", "v1.1.0", "v1.0.0"]
    assert releases[0]["is_prerelease"] is True
    assert sheet["latest_stable"] == "1.1.0"
    assert sheet["fr_authorised"] is True
    assert sheet["maintainers"][0]["slug"] == "lyon"
    assert sheet["repositories"][0]["publiccode_valid"] is True
    by_id = (await client.get(f"/api/v1/projects/{world.projects['cantine']}")).json()
    assert by_id["slug"] == "cantine"

    etag = response.headers["etag"]
    assert "last-modified" in response.headers
    cached = await client.get("/api/v1/projects/cantine", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    since = await client.get(
        "/api/v1/projects/cantine",
        headers={"If-Modified-Since": response.headers["last-modified"]},
    )
    assert since.status_code == 304
    problem_of(await client.get("/api/v1/projects/nope"), 404)


async def test_exports(client: AsyncTestClient[Any], world: World) -> None:
    yml = await client.get("/api/v1/projects/parking/publiccode.yml")
    assert yml.status_code == 200 and "name: Stationnement" in yml.text
    meta = (await client.get("/api/v1/projects/parking/codemeta.json")).json()
    assert meta["@type"] == "SoftwareSourceCode" and meta["version"] == "0.9.0"
    dump = await client.get("/api/v1/export/projects.jsonl")
    lines = [line for line in dump.text.splitlines() if line]
    assert len(lines) == 3 and '"slug": "cantine"' in lines[0]


async def test_validation_errors_are_problem_details(
    client: AsyncTestClient[Any], world: World
) -> None:
    body = problem_of(await client.get("/api/v1/projects", params={"per_page": 1000}), 400)
    assert body["errors"]
    problem_of(await client.get("/api/v1/projects", params={"sort": "popularity"}), 422)
    problem_of(await client.get("/api/v1/projects", params={"q": "x" * 300}), 400)
