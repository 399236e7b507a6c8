"""Three real instances: loops, chains, the same software reached from two instances,
PostgreSQL instances, and the ``communs peers`` command line."""

from __future__ import annotations

import pytest
from fedkit import (
    add_peer,
    bound,
    create_project,
    create_publisher,
    declarations,
    declare,
    mirrored_changes,
    pull,
    withdraw,
)

from registry.federation.tables import FederationEntity, bind
from registry.tables import ChangeLog, Project, ReuseDeclaration


async def _change_count(instance) -> int:
    async with bound(instance):
        return await ChangeLog.count()


@pytest.mark.parametrize("engine_b", ["sqlite", "postgres"])
async def test_withdrawal_propagates_to_a_postgres_or_sqlite_peer(cluster, engine_b) -> None:
    a, b = cluster("A"), cluster("B", engine_b)
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project(
            "lutece", "Lutece", ["https://github.com/lutece-platform/lutece-core"]
        )
        declaration = await declare(lyon, app, version="7.0.9")
    await add_peer(b, a)
    assert (await pull(b, a)).report.applied == 3
    async with bound(a):
        await withdraw(declaration)
    assert (await pull(b, a)).report.applied == 1
    async with bound(b):
        row = await ReuseDeclaration.select().where(ReuseDeclaration.origin == a.url).first()
    assert row is not None
    assert (row["status"], row["version"], row["origin_id"]) == (
        "withdrawn",
        "7.0.9",
        str(declaration),
    )


async def test_a_and_b_pulling_each_other_do_not_echo_or_duplicate(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project("decidim", "Decidim", ["https://github.com/decidim/decidim"])
        await declare(lyon, app)
    async with bound(b):
        paris = await create_publisher("paris", "Ville de Paris")
        other = await create_project(
            "lemonldap", "LemonLDAP::NG", ["https://gitlab.ow2.org/lemonldap-ng/lemonldap-ng"]
        )
        await declare(paris, other)
    await add_peer(a, b)
    await add_peer(b, a)
    for _ in range(2):
        assert (await pull(b, a)).error == ""
        assert (await pull(a, b)).error == ""
    counts = (await _change_count(a), await _change_count(b))
    echoes = 0
    for _ in range(2):
        echoes += (await pull(b, a, from_start=True)).report.echoes
        echoes += (await pull(a, b, from_start=True)).report.echoes
    assert echoes == 12  # each sees its own 3 entries relayed back, and ignores them
    assert (await _change_count(a), await _change_count(b)) == counts
    async with bound(a):
        shown_a = await declarations()
    async with bound(b):
        shown_b = await declarations()
    assert {(d[0], d[1], d[3]) for d in shown_a} == {
        ("lyon", "decidim", ""),
        ("paris", "lemonldap", b.url),
    }
    assert {(d[0], d[1], d[3]) for d in shown_b} == {
        ("lyon", "decidim", a.url),
        ("paris", "lemonldap", ""),
    }


@pytest.mark.parametrize("engine_b", ["sqlite", "postgres"])
async def test_chain_relays_a_to_c_only_when_c_trusts_a(cluster, engine_b) -> None:
    """B keeps A's envelopes as received (their canonical JSON, on either engine) and
    relays them with A's signature, which C checks with A's key."""
    a, b, c = cluster("A"), cluster("B", engine_b), cluster("C")
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project(
            "openfisca", "OpenFisca", ["https://github.com/openfisca/openfisca-core"]
        )
        declaration = await declare(lyon, app)
    await add_peer(b, a)
    await pull(b, a)
    await add_peer(c, b)

    refused = await pull(c, b)
    assert (refused.error, refused.report.applied, len(refused.report.refused)) == ("", 0, 3)
    async with bound(c):
        assert await declarations() == set()

    unverified = await pull(c, b, from_start=True, policy="unverified")
    assert (unverified.report.applied, unverified.report.unverified) == (3, 3)
    async with bound(c):
        bind()
        assert await declarations() == {
            ("lyon", "openfisca", "production", a.url, str(declaration))
        }
        flags = await FederationEntity.select(FederationEntity.verified).where(
            FederationEntity.origin == a.url
        )
    assert [f["verified"] for f in flags] == [False, False, False]

    await add_peer(c, a)  # C now trusts A's key (read from A, fingerprint confirmed)
    trusted = await pull(c, b, from_start=True)
    assert (trusted.error, trusted.report.applied, trusted.report.duplicates) == ("", 0, 3)
    async with bound(c):
        bind()
        flags = await FederationEntity.select(FederationEntity.verified).where(
            FederationEntity.origin == a.url
        )
        relayed = (
            await ChangeLog.select(ChangeLog.data)
            .where(ChangeLog.origin == a.url)
            .output(load_json=True)
        )
    assert [f["verified"] for f in flags] == [True, True, True]
    assert {r["data"]["federation"]["payload"]["origin"] for r in relayed} == {a.url}

    async with bound(a):
        await withdraw(declaration)
    await pull(b, a)
    assert (await pull(c, b)).report.applied == 1
    async with bound(c):
        assert await declarations() == {("lyon", "openfisca", "withdrawn", a.url, str(declaration))}
    assert await mirrored_changes(c, a.url) == 4


async def test_same_repository_from_two_instances_is_one_project_with_both_declarations(
    cluster,
) -> None:
    a, b = cluster("A"), cluster("B")
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project("decidim", "Decidim", ["https://github.com/decidim/decidim.git"])
        await declare(lyon, app, version="0.27")
    async with bound(b):
        paris = await create_publisher("paris", "Ville de Paris")
        own = await create_project(
            "decidim-paris", "Decidim (Paris)", ["https://github.com/decidim/decidim"]
        )
        await declare(paris, own, version="0.28")
    await add_peer(b, a)
    assert (await pull(b, a)).error == ""
    async with bound(b):
        projects = await Project.select(Project.id, Project.name, Project.origin)
        shown = await declarations()
    assert projects == [{"id": own, "name": "Decidim (Paris)", "origin": ""}]
    assert {(d[0], d[1], d[3]) for d in shown} == {
        ("paris", "decidim-paris", ""),
        ("lyon", "decidim-paris", a.url),
    }
