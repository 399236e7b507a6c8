"""Registering a project from the web: queue, live status, outcome; maintainers only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from registry.services import registrations
from registry.settings import Settings


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


async def test_a_maintainer_registers_and_follows_the_run_to_its_outcome(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any], tmp_path: Path
) -> None:
    await visitor.sign_in("paul")
    form = await client.get("/register")
    assert form.status_code == 200 and "Ville de Paris" in form.text
    queued = await visitor.post_form(
        "/register",
        "/register",
        {
            "url": "https://git.example.invalid/ville/outil",
            "publisher": str(seeded["publishers"]["paris"]),
        },
    )
    assert queued.status_code == 303
    status_path = queued.headers["location"]
    assert re.fullmatch(r"/register/runs/\d+", status_path)
    waiting = await client.get(status_path)
    assert "Waiting for its turn" in text_of(waiting.text)
    assert 'hx-trigger="every 1s"' in waiting.text  # htmx polls while it is not over
    run_id = int(status_path.rsplit("/", 1)[1])
    await registrations.execute(run_id, Settings(data_dir=tmp_path, http_timeout=5))
    polled = await client.get(status_path, headers={"HX-Request": "true"})
    assert "<html" not in polled.text  # the fragment only
    assert "The registration failed." in text_of(polled.text)
    assert "git.example.invalid" in text_of(polled.text)
    assert "hx-trigger" not in polled.text  # polling stops at the end


async def test_a_refused_url_is_explained_on_the_form(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    await visitor.sign_in("paul")
    refused = await visitor.post_form(
        "/register",
        "/register",
        {
            "url": "http://127.0.0.1:8080/admin/secrets",
            "publisher": str(seeded["publishers"]["paris"]),
        },
    )
    assert refused.status_code == 400
    assert "The project was not registered" in text_of(refused.text)
    assert 'value="http://127.0.0.1:8080/admin/secrets"' in refused.text


async def test_registration_is_for_maintainers_and_runs_are_private(
    visitor: Any, client: AsyncTestClient, seeded: dict[str, Any]
) -> None:
    await visitor.sign_in("paul")
    queued = await visitor.post_form(
        "/register",
        "/register",
        {
            "url": "https://git.example.invalid/paris/outil",
            "publisher": str(seeded["publishers"]["paris"]),
        },
    )
    status_path = queued.headers["location"]
    await visitor.sign_in("marie")  # a member of Lyon, maintainer of nothing
    assert (await client.get("/register")).status_code == 403
    assert (await client.get(status_path)).status_code == 404
    await visitor.sign_in("camille")  # community manager: sees every run
    assert (await client.get(status_path)).status_code == 200
