"""Forge releases reach the catalogue on every forge shape, attached to their tags."""

from __future__ import annotations

import copy

import pytest
from crawlkit import crawl, load

import fakeforge
from registry.tables import Release

RELEASES = [
    {
        "tag_name": "plugin-appointment-3.0.8",
        "name": "Appointment 3.0.8",
        "published_at": "2025-11-02T10:00:00Z",
        "prerelease": False,
        "draft": False,
    },
    {
        "tag_name": "plugin-appointment-3.0.7",
        "name": "Appointment 3.0.7 preview",
        "published_at": "2025-09-01T10:00:00Z",
        "prerelease": True,
        "draft": False,
    },
    {
        "tag_name": "plugin-appointment-3.0.6",
        "name": "unpublished draft",
        "published_at": "2025-08-01T10:00:00Z",
        "prerelease": False,
        "draft": True,
    },
]


@pytest.fixture(scope="module")
def app_with_releases():  # type: ignore[no-untyped-def]
    account = copy.deepcopy(load("lutece-secteur-public"))
    repo = next(r for r in account["repositories"] if r["name"] == "gru-plugin-appointment")
    tags = {t["name"] for t in repo["tags"]}
    assert {r["tag_name"] for r in RELEASES} <= tags
    repo["releases"] = RELEASES
    app = fakeforge.create_app([account])
    yield app
    app.git.cleanup()


@pytest.mark.parametrize("shape", ["github", "gitlab", "gitea"])
async def test_releases_are_read_on_each_forge(
    database: str,
    app_with_releases,
    shape: str,  # type: ignore[no-untyped-def]
) -> None:
    target = {
        "github": "github:lutece-secteur-public",
        "gitlab": "gitlab:lutece-secteur-public",
        "gitea": "gitea:lutece-secteur-public",
    }[shape]
    await crawl(app_with_releases, target)
    rows = {r["tag"]: r for r in await Release.select().where(Release.source == "release")}
    # the draft is not a published release; the two others are, on every forge
    assert set(rows) == {"plugin-appointment-3.0.8", "plugin-appointment-3.0.7"}
    if shape != "gitlab":  # GitLab's tag list says a release exists, not its flags
        assert rows["plugin-appointment-3.0.7"]["is_prerelease"] is True
        assert rows["plugin-appointment-3.0.8"]["name"] == "Appointment 3.0.8"
