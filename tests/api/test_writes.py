"""Writes and authorisation: reuse declarations, publishers, registrations, staff reads."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from registry.services import changelog
from tests.api.conftest import World, problem_of


async def declare(
    client: AsyncTestClient[Any], world: World, who: str, publisher: int, project: str, **extra: Any
) -> Any:
    return await client.post(
        "/api/v1/declarations",
        json={"publisher_id": publisher, "project_id": world.projects[project], **extra},
        headers=world.auth(who),
    )


async def test_member_declares_updates_and_withdraws_with_history(
    client: AsyncTestClient[Any], world: World
) -> None:
    created = await declare(
        client,
        world,
        "lyon-member",
        world.lyon,
        "parking",
        version="0.8.0",
        status="production",
        service_url="https://stationnement.lyon.fr",
    )
    assert created.status_code == 201, created.text
    declaration = created.json()
    assert (
        declaration["status"] == "production" and declaration["publisher_name"] == "Ville de Lyon"
    )

    # the sheet shows the reuser, outdated (0.8.0 < latest stable 0.9.0)
    sheet = (await client.get("/api/v1/projects/parking")).json()
    assert [r["publisher"]["slug"] for r in sheet["outdated_reusers"]] == ["lyon"]
    # the search index follows: reused-by count and sort
    listed = (await client.get("/api/v1/projects", params={"sort": "reused"})).json()
    assert listed["items"][0]["slug"] == "parking" and listed["items"][0]["reused_by"] == 1

    again = await declare(client, world, "lyon-member", world.lyon, "parking")
    assert problem_of(again, 409)["errors"]

    changed = await client.patch(
        f"/api/v1/declarations/{declaration['id']}",
        json={"version": "0.9.0"},
        headers=world.auth("lyon-member"),
    )
    assert changed.status_code == 200 and changed.json()["version"] == "0.9.0"
    sheet = (await client.get("/api/v1/projects/parking")).json()
    assert sheet["outdated_reusers"] == [] and sheet["reusers"][0]["version"] == "0.9.0"

    withdrawn = await client.post(
        f"/api/v1/declarations/{declaration['id']}/withdraw", headers=world.auth("lyon-member")
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    detail = (await client.get(f"/api/v1/declarations/{declaration['id']}")).json()
    assert [h["snapshot"]["status"] for h in detail["history"]] == [
        "production",
        "production",
        "withdrawn",
    ]
    assert [h["snapshot"]["version"] for h in detail["history"]] == ["0.8.0", "0.9.0", "0.9.0"]
    assert (await client.get("/api/v1/projects/parking")).json()["reusers"] == []
    log = await changelog.entries("reuse_declaration", declaration["id"])
    assert [e["action"] for e in log] == ["added", "changed", "withdrawn"]

    # declaring again brings the same declaration back
    back = await declare(client, world, "lyon-member", world.lyon, "parking", status="evaluating")
    assert back.status_code == 201 and back.json()["id"] == declaration["id"]


async def test_only_members_declare_for_their_publisher(
    client: AsyncTestClient[Any], world: World
) -> None:
    problem_of(
        await client.post(
            "/api/v1/declarations",
            json={"publisher_id": world.nantes, "project_id": world.projects["cantine"]},
        ),
        401,
    )
    problem_of(await declare(client, world, "lyon-member", world.nantes, "cantine"), 403)
    problem_of(await declare(client, world, "nobody", world.lyon, "cantine"), 403)
    assert (await declare(client, world, "admin", world.nantes, "cantine")).status_code == 201
    created = (await declare(client, world, "nantes-member", world.nantes, "agenda")).json()
    problem_of(
        await client.patch(
            f"/api/v1/declarations/{created['id']}",
            json={"version": "2"},
            headers=world.auth("lyon-member"),
        ),
        403,
    )
    problem_of(
        await client.post(
            f"/api/v1/declarations/{created['id']}/withdraw", headers=world.auth("lyon-member")
        ),
        403,
    )
    # unknown project: 404 before any permission question
    missing = await client.post(
        "/api/v1/declarations",
        json={"publisher_id": world.lyon, "project_id": 999999},
        headers=world.auth("lyon-member"),
    )
    problem_of(missing, 404)
    bad_token = await client.get(
        "/api/v1/projects", headers={"Authorization": "Bearer cmn_not-a-token"}
    )
    problem_of(bad_token, 401)


async def test_declaration_input_limits(client: AsyncTestClient[Any], world: World) -> None:
    for extra in (
        {"status": "withdrawn"},
        {"service_url": "javascript:alert(1)"},
        {"comment": "x" * 6000},
        {"unknown_field": 1},
    ):
        response = await declare(client, world, "lyon-member", world.lyon, "agenda", **extra)
        body = problem_of(response, 400)
        assert body["detail"]


async def test_publishers_list_sheet_and_admin_edit(
    client: AsyncTestClient[Any], world: World
) -> None:
    listed = (await client.get("/api/v1/publishers")).json()
    assert [p["slug"] for p in listed["items"]] == ["nantes", "lyon"] or [
        p["slug"] for p in listed["items"]
    ] == sorted((p["slug"] for p in listed["items"]), key=lambda s: s)  # by name
    assert {p["slug"]: p["projects"] for p in listed["items"]} == {"lyon": 1, "nantes": 2}
    page = (await client.get("/api/v1/publishers", params={"per_page": 1})).json()
    rest = (
        await client.get(
            "/api/v1/publishers", params={"per_page": 1, "cursor": page["next_cursor"]}
        )
    ).json()
    assert page["items"][0]["slug"] != rest["items"][0]["slug"] and rest["next_cursor"] is None

    await declare(client, world, "lyon-member", world.lyon, "parking")
    sheet = (await client.get("/api/v1/publishers/lyon")).json()
    assert [p["slug"] for p in sheet["published"]] == ["cantine"]
    assert [p["slug"] for p in sheet["reused"]] == ["parking"]

    payload = {
        "slug": "grenoble",
        "name": "Ville de Grenoble",
        "kind": "municipality",
        "country": "fr",
    }
    problem_of(await client.post("/api/v1/publishers", json=payload), 401)
    problem_of(
        await client.post(
            "/api/v1/publishers", json=payload, headers=world.auth("lyon-maintainer")
        ),
        403,
    )
    created = await client.post("/api/v1/publishers", json=payload, headers=world.auth("admin"))
    assert created.status_code == 201 and created.json()["country"] == "FR"
    problem_of(
        await client.post("/api/v1/publishers", json=payload, headers=world.auth("admin")), 409
    )
    edited = await client.patch(
        "/api/v1/publishers/grenoble",
        json={"website": "https://www.grenoble.fr"},
        headers=world.auth("admin"),
    )
    assert edited.json()["website"] == "https://www.grenoble.fr"
    assert [e["action"] for e in await changelog.entries("publisher", created.json()["id"])] == [
        "added",
        "update",
    ]
    problem_of(
        await client.patch(
            "/api/v1/publishers/grenoble", json={"kind": "castle"}, headers=world.auth("admin")
        ),
        400,
    )


async def test_atom_feed_of_releases_a_publisher_reuses(
    client: AsyncTestClient[Any], world: World
) -> None:
    await declare(client, world, "nantes-member", world.nantes, "cantine")
    feed = await client.get(f"/api/v1/publishers/{world.nantes}/releases.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert feed.text.count("<entry>") == 3 and "v2.0.0-rc.1" in feed.text
    import xml.etree.ElementTree as ET

    ET.fromstring(feed.text)


async def test_registration_is_queued_and_visible_to_its_publisher(
    client: AsyncTestClient[Any], world: World
) -> None:
    url = "https://GitLab.com/Ville-de-Lyon/Cantine.git"
    problem_of(
        await client.post("/api/v1/registrations", json={"url": url, "publisher_id": world.lyon}),
        401,
    )
    problem_of(
        await client.post(
            "/api/v1/registrations",
            json={"url": url, "publisher_id": world.lyon},
            headers=world.auth("lyon-member"),
        ),
        403,
    )
    created = await client.post(
        "/api/v1/registrations",
        json={"url": url, "publisher_id": world.lyon},
        headers=world.auth("lyon-maintainer"),
    )
    assert created.status_code == 202, created.text
    run = created.json()
    assert run["status"] == "queued" and run["target"] == "https://gitlab.com/ville-de-lyon/cantine"
    assert created.headers["location"] == f"/api/v1/registrations/{run['id']}"
    polled = await client.get(created.headers["location"], headers=world.auth("lyon-member"))
    assert polled.json()["status"] == "queued"
    # another publisher's member learns nothing, not even that it exists
    problem_of(
        await client.get(created.headers["location"], headers=world.auth("nantes-member")), 404
    )
    for refused in (
        "http://127.0.0.1/x/y",
        "https://10.0.0.3/a/b",
        "https://intranet.local/a/b",
        "ext::sh -c touch% /tmp/pwned",
        "file:///etc/passwd",
    ):
        body = problem_of(
            await client.post(
                "/api/v1/registrations",
                json={"url": refused, "publisher_id": world.lyon},
                headers=world.auth("lyon-maintainer"),
            ),
            422,
        )
        assert body["errors"][0]["field"] == "url"


async def test_staff_only_reads(client: AsyncTestClient[Any], world: World) -> None:
    await declare(client, world, "lyon-member", world.lyon, "parking", version="0.9.0")
    await declare(client, world, "admin", world.nantes, "parking", version="0.8.0")
    problem_of(await client.get("/api/v1/projects/parking/stats"), 401)
    problem_of(
        await client.get("/api/v1/projects/parking/stats", headers=world.auth("lyon-member")), 403
    )
    stats = (
        await client.get("/api/v1/projects/parking/stats", headers=world.auth("manager"))
    ).json()
    assert stats["reusers"] == 2
    assert {v["key"]: v["count"] for v in stats["versions"]} == {"0.9.0": 1, "0.8.0": 1}
    assert {v["key"]: v["count"] for v in stats["by_kind"]} == {
        "municipality": 1,
        "intermunicipality": 1,
    }
    problem_of(await client.get("/api/v1/crawl-runs", headers=world.auth("nobody")), 403)
    await client.post(
        "/api/v1/registrations",
        json={"url": "https://github.com/a/b", "publisher_id": world.lyon},
        headers=world.auth("lyon-maintainer"),
    )
    runs = (await client.get("/api/v1/crawl-runs", headers=world.auth("manager"))).json()
    assert [r["target"] for r in runs] == ["https://github.com/a/b"]
    totals = (await client.get("/api/v1/stats")).json()
    assert totals["projects"] == 3 and totals["declarations"] == 2
    assert totals["reused_projects"] == 1
