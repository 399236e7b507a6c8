"""Registration execution, rate limits and the search index following writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from api.app import create_app
from registry.services import registrations
from registry.settings import Settings
from tests.api.conftest import World, add_project, problem_of


async def test_registration_of_an_unreachable_repository_ends_failed_with_the_reason(
    client: AsyncTestClient[Any], world: World, tmp_path: Path
) -> None:
    created = await client.post(
        "/api/v1/registrations",
        json={"url": "https://git.example.invalid/ville/outil", "publisher_id": world.lyon},
        headers=world.auth("lyon-maintainer"),
    )
    run_id = created.json()["id"]
    settings = Settings(data_dir=tmp_path, http_timeout=5)
    finished = await registrations.execute(run_id, settings)
    assert finished.status == "failed"
    assert finished.error and finished.finished_at is not None
    assert finished.project_id is None
    polled = (
        await client.get(f"/api/v1/registrations/{run_id}", headers=world.auth("lyon-maintainer"))
    ).json()
    assert polled["status"] == "failed" and polled["error"] == finished.error
    # a run is executed once
    assert (await registrations.execute(run_id, settings)).status == "failed"


async def test_writes_and_searches_are_rate_limited(
    database: str, world: World, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, allowed_hosts=("*",), secret_key="test")
    app = create_app(
        settings, bind_database=False, rate_limit=("minute", 3), run_registrations=False
    )
    async with AsyncTestClient(app=app) as limited:
        statuses = [
            (await limited.get("/api/v1/projects", params={"q": "cantine"})).status_code
            for _ in range(4)
        ]
        assert statuses[:3] == [200, 200, 200]
        body = problem_of(await limited.get("/api/v1/projects", params={"q": "x"}), 429)
        assert body["title"] == "Too many requests"
        # plain reads are not limited
        assert (await limited.get("/api/v1/projects/cantine")).status_code == 200


async def test_search_index_follows_the_change_log(
    client: AsyncTestClient[Any], world: World
) -> None:
    assert (await client.get("/api/v1/projects", params={"q": "piscine"})).json()["total"] == 0
    await add_project("piscine", "Réservation piscine", world.lyon, language="Go")
    found = (await client.get("/api/v1/projects", params={"q": "piscine"})).json()
    assert [p["slug"] for p in found["items"]] == ["piscine"]
    assert found["items"][0]["language"] == "Go"
    # renaming a publisher re-indexes its projects
    await client.patch(
        f"/api/v1/publishers/{world.lyon}",
        json={"name": "Métropole de Lyon"},
        headers=world.auth("admin"),
    )
    renamed = (await client.get("/api/v1/projects", params={"q": "metropole lyon"})).json()
    assert sorted(p["slug"] for p in renamed["items"]) == ["cantine", "piscine"]
