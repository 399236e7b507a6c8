"""The catalogue schema on SQLite and PostgreSQL: constraints live in the database."""

from __future__ import annotations

import pytest

from registry import db
from registry.errors import ConflictError
from registry.services import changelog
from registry.services.publishers import delete_publisher
from registry.tables import (
    TABLES,
    ChangeLog,
    ForgeAccount,
    Project,
    Publisher,
    Release,
    Repository,
    ReuseDeclaration,
)


async def _publisher(slug: str = "paris") -> int:
    rows = await Publisher.insert(Publisher(slug=slug, name=slug.title())).returning(Publisher.id)
    return int(rows[0]["id"])


async def _project(slug: str = "lutece", publisher: int | None = None) -> int:
    rows = await Project.insert(
        Project(slug=slug, name=slug.title(), publisher=publisher)
    ).returning(Project.id)
    return int(rows[0]["id"])


async def test_migrations_from_empty_create_every_table_and_rerun_applies_nothing(
    database: str,
) -> None:
    for table in TABLES:
        assert await table.table_exists(), table._meta.tablename
    assert await db.migrate() == []


async def test_create_and_read_a_repository_with_releases(database: str) -> None:
    publisher = await _publisher()
    project = await _project(publisher=publisher)
    rows = await Repository.insert(
        Repository(url="https://github.com/lutece-platform/lutece-core", project=project)
    ).returning(Repository.id)
    repo = int(rows[0]["id"])
    await Release.insert(
        Release(repository=repo, tag="lutece-core-7.0.5", version="7.0.5"),
        Release(
            repository=repo, tag="lutece-core-8.0.0-RC-01", version="8.0.0-rc.1", is_prerelease=True
        ),
    )
    releases = (
        await Release.select(Release.tag, Release.is_prerelease)
        .where(Release.repository == repo)
        .order_by(Release.tag)
    )
    assert [r["tag"] for r in releases] == ["lutece-core-7.0.5", "lutece-core-8.0.0-RC-01"]
    assert [r["is_prerelease"] for r in releases] == [False, True]
    got = await Repository.objects().get(Repository.id == repo)
    assert got is not None and got.gone_at is None and got.project == project


async def test_a_canonical_url_is_one_row(database: str) -> None:
    url = "https://github.com/lutece-platform/lutece-core"
    await Repository.insert(Repository(url=url))
    with pytest.raises(Exception, match=r"(?i)unique"):
        await Repository.insert(Repository(url=url))
    assert await Repository.count() == 1


async def test_a_tag_is_one_release_per_repository(database: str) -> None:
    rows = await Repository.insert(Repository(url="https://example.org/a")).returning(Repository.id)
    await Release.insert(Release(repository=rows[0]["id"], tag="v1.0.0"))
    with pytest.raises(Exception, match=r"(?i)unique"):
        await Release.insert(Release(repository=rows[0]["id"], tag="v1.0.0"))


async def test_one_current_declaration_per_publisher_and_project(database: str) -> None:
    publisher, project = await _publisher(), await _project()
    await ReuseDeclaration.insert(ReuseDeclaration(publisher=publisher, project=project))
    with pytest.raises(Exception, match=r"(?i)unique"):
        await ReuseDeclaration.insert(
            ReuseDeclaration(publisher=publisher, project=project, status="evaluating")
        )


async def test_a_forge_account_is_listed_once(database: str) -> None:
    publisher = await _publisher()
    account = ForgeAccount(
        publisher=publisher,
        forge_kind="github",
        base_url="https://github.com",
        owner="lutece-platform",
    )
    await ForgeAccount.insert(account)
    with pytest.raises(Exception, match=r"(?i)unique"):
        await ForgeAccount.insert(
            ForgeAccount(
                publisher=publisher,
                forge_kind="github",
                base_url="https://github.com",
                owner="lutece-platform",
            )
        )


async def test_deleting_a_publisher_never_deletes_its_reuse_declarations(database: str) -> None:
    publisher, project = await _publisher("lyon"), await _project()
    await ReuseDeclaration.insert(ReuseDeclaration(publisher=publisher, project=project))
    # The database itself refuses, whatever code tries:
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        await Publisher.delete().where(Publisher.id == publisher)
    # and the service says why:
    with pytest.raises(ConflictError, match="reuse declaration"):
        await delete_publisher(publisher)
    assert await ReuseDeclaration.count() == 1
    assert await Publisher.count() == 1


async def test_deleting_a_project_with_declarations_is_refused(database: str) -> None:
    publisher, project = await _publisher(), await _project()
    await ReuseDeclaration.insert(ReuseDeclaration(publisher=publisher, project=project))
    with pytest.raises(Exception, match=r"(?i)foreign key|violates"):
        await Project.delete().where(Project.id == project)
    assert await ReuseDeclaration.count() == 1


async def test_deleting_a_publisher_cascades_to_its_forge_accounts_only(database: str) -> None:
    publisher = await _publisher()
    await ForgeAccount.insert(
        ForgeAccount(
            publisher=publisher,
            forge_kind="gitlab",
            base_url="https://gitlab.adullact.net",
            owner="",
        )
    )
    await delete_publisher(publisher)
    assert await ForgeAccount.count() == 0
    assert [e["action"] for e in await changelog.entries("publisher", publisher)] == ["delete"]


async def test_the_change_log_is_append_only(database: str) -> None:
    seq = await changelog.record("project", 1, "create", {"name": "Lutece"})
    with pytest.raises(Exception, match="append-only"):
        await ChangeLog.update({ChangeLog.action: "update"}).where(ChangeLog.id == seq)
    with pytest.raises(Exception, match="append-only"):
        await ChangeLog.delete().where(ChangeLog.id == seq)
    assert [e["action"] for e in await changelog.entries()] == ["create"]
