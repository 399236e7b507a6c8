"""Two real instances: what A declares appears in B after a pull, with A as its origin."""

from __future__ import annotations

import httpx
import pytest
from fedkit import (
    add_peer,
    bound,
    create_project,
    create_publisher,
    declarations,
    declare,
    pull,
    withdraw,
)

from registry.federation.feed import page_message
from registry.federation.identity import Verifier
from registry.federation.tables import FederationEntity, bind


async def test_declaration_made_in_a_appears_in_b_with_a_as_origin(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project(
            "openfisca", "OpenFisca", ["https://github.com/openfisca/openfisca-core"]
        )
        declaration = await declare(lyon, app)
    await add_peer(b, a)
    result = await pull(b, a)
    assert result.error == ""
    assert result.report.applied == 3
    async with bound(b):
        shown = await declarations()
    assert shown == {("lyon", "openfisca", "production", a.url, str(declaration))}

    async with bound(a):
        await withdraw(declaration)
    result = await pull(b, a)
    assert (result.error, result.report.applied) == ("", 1)
    async with bound(b):
        assert await declarations() == {("lyon", "openfisca", "withdrawn", a.url, str(declaration))}

    again = await pull(b, a)
    assert (again.error, again.report.received, again.report.applied) == ("", 0, 0)


def test_well_known_describes_the_instance(cluster) -> None:
    a = cluster("A")
    body = httpx.get(f"{a.url}/.well-known/communs").json()
    assert body["url"] == a.url
    assert body["name"] == "A"
    assert body["public_key"].startswith("ed25519:")
    assert body["protocol"] == 1
    assert body["feed_url"] == f"{a.url}/federation/feed"
    assert body["fingerprint"].count(":") == 15

    empty = httpx.get(body["feed_url"], params={"after": 0}).json()
    signature = empty.pop("signature")
    assert Verifier().verify_bytes(
        page_message(a.url, 0, 0, False, []), signature, body["public_key"]
    )
    assert empty == {
        "protocol": 1,
        "instance": a.url,
        "after": 0,
        "next": 0,
        "more": False,
        "entries": [],
    }
    refused = httpx.get(body["feed_url"], params={"limit": 0})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")

    dcat = httpx.get(body["dcat_url"])
    assert dcat.status_code == 200
    assert dcat.headers["content-type"].startswith("application/ld+json")
    assert dcat.json()["@type"] == "dcat:Catalog"


@pytest.mark.parametrize("engine_b", ["sqlite", "postgres"])
async def test_an_interleaved_feed_is_applied_whole_in_one_page(cluster, engine_b) -> None:
    """Publishers, projects and the declarations naming them, interleaved as people make
    them and pulled in one page: each declaration points at its own publisher and
    project, created in the same page (their ids are filled in when written)."""
    a, b = cluster("A"), cluster("B", engine_b)
    made = set()
    async with bound(a):
        for i in range(12):
            publisher = await create_publisher(f"ville-{i}", f"Ville {i}")
            project = await create_project(
                f"logiciel-{i}", f"Logiciel {i}", [f"https://git.example.org/v/logiciel-{i}"]
            )
            declaration = await declare(publisher, project, version=f"1.{i}")
            made.add((f"ville-{i}", f"logiciel-{i}", "production", a.url, str(declaration)))
    await add_peer(b, a)
    result = await pull(b, a, page_size=1000)
    assert (result.error, result.pages, result.report.applied) == ("", 1, 36)
    async with bound(b):
        shown = await declarations()
        bind()
        mappings = await FederationEntity.count().where(FederationEntity.origin == a.url)
    assert shown == made
    assert mappings == 36
