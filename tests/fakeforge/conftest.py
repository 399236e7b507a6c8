"""Shared fixtures for the fake forge tests: the app over the real-forges fixtures, an
in-process client, and a checker of JSON bodies against the published API descriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

import fakeforge
from fakeforge.app import FakeForge

DATA = Path(__file__).resolve().parents[1] / "data"
REAL = sorted((DATA / "real-forges").glob("*.json"))


@pytest.fixture
def app() -> Iterator[FakeForge]:
    """All real-forges accounts, plus decidim again nested as the GitLab subgroup communs/es/dec."""
    forge = fakeforge.create_app(
        [*REAL, f"{DATA / 'real-forges' / 'github__decidim.json'}=communs/es/dec"],
        ["github:synth:250"],
    )
    yield forge
    forge.git.cleanup()


@pytest.fixture
async def client(app: FakeForge) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://forge.test") as c:
        yield c
