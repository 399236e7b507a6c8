"""Fixtures of the API tests: an app bound to the ``database`` fixture's engine, users
with tokens, and a small catalogue."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from registry.services import accounts, changelog, search_index
from registry.settings import Settings
from registry.tables import Project, Publisher, Release, Repository


async def reset_search_index() -> None:
    """The ``database`` fixture empties the catalogue tables; empty the index too."""
    from registry import db

    engine = db.current_engine()
    await engine.run_ddl("DELETE FROM project_search")
    await engine.run_ddl("DELETE FROM project_search_value")
    if engine.engine_type == "sqlite":
        await engine.run_ddl("DELETE FROM project_fts")
    await engine.run_ddl("UPDATE search_index_state SET change_id = 0")
    from registry.services import catalogue

    catalogue.clear_facet_cache()


@pytest.fixture
async def client(database: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    await reset_search_index()
    settings = Settings(data_dir=tmp_path, allowed_hosts=("*",), secret_key="test-secret")
    app = create_app(settings, bind_database=False, rate_limit=None, run_registrations=False)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@dataclass
class World:
    """A small catalogue: two publishers (Lyon, Nantes), three projects, users."""

    lyon: int
    nantes: int
    projects: dict[str, int]
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def add_project(
    slug: str,
    name: str,
    publisher: int | None,
    *,
    description: dict[str, str] | None = None,
    license_expression: str = "MIT",
    language: str = "Python",
    categories: list[str] | None = None,
    topics: list[str] | None = None,
    releases: tuple[tuple[str, bool, int], ...] = (),
    latest_stable: str = "",
    publiccode_valid: bool | None = None,
    activity_days_ago: int = 10,
) -> int:
    """Insert a project with one repository and releases, recording the change like a
    crawler does (so the search index follows by the change log)."""
    now = dt.datetime.now(dt.UTC)
    rows = await Project.insert(
        Project(
            slug=slug,
            name=name,
            description=description or {},
            publisher=publisher,
            license_expression=license_expression,
            categories=categories or [],
            topics=topics or [],
            latest_stable=latest_stable,
            last_activity_at=now - dt.timedelta(days=activity_days_ago),
        )
    ).returning(Project.id)
    pid = int(rows[0]["id"])
    repo = await Repository.insert(
        Repository(
            url=f"https://gitlab.example.org/{slug}",
            project=pid,
            forge_kind="gitlab",
            full_name=slug,
            language=language,
            publiccode_valid=publiccode_valid,
            publiccode_text="publiccodeYmlVersion: '0.4'\n" if publiccode_valid else "",
            pushed_at=now - dt.timedelta(days=activity_days_ago),
        )
    ).returning(Repository.id)
    for tag, pre, days in releases:
        await Release.insert(
            Release(
                repository=int(repo[0]["id"]),
                tag=tag,
                version=tag.lstrip("v"),
                is_prerelease=pre,
                published_at=now - dt.timedelta(days=days),
            )
        )
    await changelog.record("project", pid, "added", {"slug": slug})
    return pid


@pytest.fixture
async def world(client: AsyncTestClient[Any]) -> World:
    lyon = int(
        (
            await Publisher.insert(
                Publisher(slug="lyon", name="Ville de Lyon", kind="municipality", country="FR")
            ).returning(Publisher.id)
        )[0]["id"]
    )
    nantes = int(
        (
            await Publisher.insert(
                Publisher(
                    slug="nantes", name="Nantes Métropole", kind="intermunicipality", country="FR"
                )
            ).returning(Publisher.id)
        )[0]["id"]
    )
    await changelog.record("publisher", lyon, "added", {})
    await changelog.record("publisher", nantes, "added", {})
    projects = {
        "cantine": await add_project(
            "cantine",
            "Cantine scolaire",
            lyon,
            description={"fr": "Réservation des repas à l'école", "en": "School meal booking"},
            license_expression="AGPL-3.0-or-later",
            language="PHP",
            categories=["online-booking"],
            topics=["education"],
            releases=(("v1.0.0", False, 300), ("v1.1.0", False, 100), ("v2.0.0-rc.1", True, 5)),
            latest_stable="1.1.0",
            publiccode_valid=True,
            activity_days_ago=5,
        ),
        "parking": await add_project(
            "parking",
            "Stationnement",
            nantes,
            description={"fr": "Gestion du stationnement résidentiel"},
            license_expression="MIT",
            language="Python",
            categories=["mobility"],
            topics=["transport"],
            releases=(("v0.9.0", False, 20),),
            latest_stable="0.9.0",
            activity_days_ago=400,
        ),
        "agenda": await add_project(
            "agenda",
            "Agenda culturel",
            nantes,
            description={"en": "Cultural events calendar"},
            license_expression="LicenseRef-proprietary",
            language="Python",
            categories=["online-booking", "events"],
            activity_days_ago=40,
        ),
    }
    tokens = {}
    for username, role, memberships in (
        ("admin", "admin", {}),
        ("manager", "community_manager", {}),
        ("lyon-member", "", {lyon: "member"}),
        ("lyon-maintainer", "", {lyon: "maintainer"}),
        ("nantes-member", "", {nantes: "member"}),
        ("nobody", "", {}),
    ):
        user_id = await accounts.create_user(username, role=role)
        for publisher_id, member_role in memberships.items():
            await accounts.add_membership(user_id, publisher_id, member_role)
        tokens[username] = (await accounts.create_token(user_id, "tests")).token
    return World(lyon, nantes, projects, tokens)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    return body  # type: ignore[no-any-return]


__all__ = ["World", "add_project", "problem_of", "reset_search_index", "search_index"]
