"""The instance key, the signed form of entries, and the feed built from the change log
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pytest

from registry import db
from registry.federation.dcat import catalogue
from registry.federation.feed import feed_page
from registry.federation.identity import (
    Verifier,
    canonical_json,
    envelope_bytes,
    fingerprint,
    load_identity,
)
from registry.federation.tables import FederationEntity, bind
from registry.federation.verify import FeedRejectedError, TrustContext, check_page
from registry.services import changelog
from registry.services.publishers import delete_publisher
from registry.settings import Settings
from registry.tables import ChangeLog, Project, Publisher, Repository, ReuseDeclaration


def _settings(tmp_path: Path, url: str = "https://communs.example.fr/") -> Settings:
    return Settings.from_env(
        {"COMMUNS_DATA_DIR": str(tmp_path / "data"), "COMMUNS_INSTANCE_URL": url}
    )


def test_key_pair_is_created_once_and_kept_private(tmp_path: Path) -> None:
    first = load_identity(_settings(tmp_path))
    again = load_identity(_settings(tmp_path))
    assert first.public_key == again.public_key
    assert first.url == "https://communs.example.fr"
    key_file = tmp_path / "data" / "federation_ed25519.pem"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(first.fingerprint.split(":")) == 16
    assert fingerprint(first.public_key) == first.fingerprint
    other = load_identity(_settings(tmp_path / "elsewhere"))
    assert other.public_key != first.public_key


def test_signature_covers_every_byte_of_the_canonical_payload(tmp_path: Path) -> None:
    identity = load_identity(_settings(tmp_path))
    payload = {"b": [1, "é"], "a": {"z": None, "y": True}}
    assert canonical_json(payload) == '{"a":{"y":true,"z":null},"b":[1,"é"]}'.encode()
    envelope = identity.sign(payload)
    verifier = Verifier()
    assert verifier.verify(envelope, identity.public_key)
    changed = copy.deepcopy(envelope)
    changed["payload"]["b"][1] = "e"
    assert not verifier.verify(changed, identity.public_key)
    assert not verifier.verify({**envelope, "extra": 1}, identity.public_key)
    stranger = load_identity(_settings(tmp_path / "stranger"))
    assert not verifier.verify(envelope, stranger.public_key)


def test_envelope_bytes_are_the_canonical_json_of_the_envelope(tmp_path: Path) -> None:
    identity = load_identity(_settings(tmp_path))
    payload = {"z": 'é\n"x"', "a": [1, 2.5, None, {"b": False}], "m": "😀"}
    envelope, signed = identity.sign_with_bytes(payload)
    assert signed == canonical_json(envelope)
    assert envelope == identity.sign(payload)  # Ed25519 signatures are deterministic
    assert envelope_bytes(canonical_json(payload), envelope["signature"]) == signed


async def test_a_page_is_checked_against_the_cursor_it_was_asked_for(
    database: str, tmp_path: Path
) -> None:
    """A genuine page served again for another cursor (or signed by another key) is
    refused: the page signature binds the cursor, the positions and the peer."""
    bind()
    await FederationEntity.delete(force=True)
    identity = load_identity(_settings(tmp_path))
    await _declaration_in_one_transaction()
    trust = TrustContext(
        self_url="https://puller.example.fr",
        peer_url=identity.url,
        peer_key=identity.public_key,
        keys={identity.url: identity.public_key},
    )
    first = await feed_page(identity, after=0, limit=2)
    checked, report, next_cursor = check_page(first, 0, trust)
    assert (len(checked), report.received, next_cursor) == (2, 2, first["next"])
    assert all(c.verified and c.envelope_json for c in checked)
    assert checked[0].envelope_json.encode() == canonical_json(first["entries"][0]["entry"])

    second = await feed_page(identity, after=first["next"], limit=2)
    check_page(second, first["next"], trust)
    with pytest.raises(FeedRejectedError, match="bad signature on the page"):
        check_page(second, first["next"] - 1, trust)  # served for a cursor not asked
    stranger = load_identity(_settings(tmp_path / "stranger"))
    forged = {**second, "signature": stranger.sign_bytes(b"anything")}
    with pytest.raises(FeedRejectedError, match="bad signature on the page"):
        check_page(forged, first["next"], trust)


async def _declaration_in_one_transaction() -> tuple[int, int, int]:
    async with db.transaction():
        publisher = (
            await Publisher.insert(Publisher(slug="lyon", name="Lyon")).returning(Publisher.id)
        )[0]["id"]
        await changelog.record("publisher", publisher, "create", {"slug": "lyon", "name": "Lyon"})
        project = (
            await Project.insert(Project(slug="decidim", name="Decidim")).returning(Project.id)
        )[0]["id"]
        await Repository.insert(
            Repository(url="https://github.com/decidim/decidim", project=project)
        )
        await changelog.record("project", project, "create", {"slug": "decidim", "name": "D"})
        await changelog.record("crawl_run", 1, "create", {"target": "not federated"})
        declaration = (
            await ReuseDeclaration.insert(
                ReuseDeclaration(publisher=publisher, project=project)
            ).returning(ReuseDeclaration.id)
        )[0]["id"]
        await changelog.record(
            "reuse_declaration",
            declaration,
            "create",
            {"publisher": publisher, "project": project, "status": "production", "declared_by": 9},
        )
    return publisher, project, declaration


async def test_feed_pages_carry_signed_entries_in_commit_order(database: str, tmp_path: Path):
    bind()
    await FederationEntity.delete(force=True)
    identity = load_identity(_settings(tmp_path))
    publisher, project, declaration = await _declaration_in_one_transaction()

    positions = [r["id"] for r in await ChangeLog.select(ChangeLog.id).order_by(ChangeLog.id)]
    assert len(positions) == 4

    first = await feed_page(identity, after=0, limit=2)
    assert [e["position"] for e in first["entries"]] == positions[:2]
    assert (first["next"], first["more"]) == (positions[1], True)
    second = await feed_page(identity, after=first["next"], limit=2)
    assert [e["entry"]["payload"]["entity"] for e in second["entries"]] == ["reuse_declaration"]
    assert second["next"] == positions[3]  # the crawl run was scanned, not served

    payloads = [e["entry"]["payload"] for e in first["entries"] + second["entries"]]
    verifier = Verifier()
    assert all(verifier.verify(e["entry"], identity.public_key) for e in first["entries"])
    assert payloads[1]["data"]["repositories"] == ["https://github.com/decidim/decidim"]
    declared = payloads[2]
    assert declared["origin"] == identity.url and declared["seq"] == positions[3]
    assert declared["id"] == str(declaration)
    assert declared["data"]["publisher"] == {"origin": identity.url, "id": str(publisher)}
    assert declared["data"]["project"] == {"origin": identity.url, "id": str(project)}
    assert "declared_by" not in declared["data"]

    await ReuseDeclaration.delete(force=True)
    await delete_publisher(publisher)
    last = await feed_page(identity, after=second["next"])
    tombstone = last["entries"][0]["entry"]["payload"]
    assert (tombstone["action"], tombstone["tombstone"], tombstone["data"]) == ("delete", True, {})
    assert (await feed_page(identity, after=last["next"]))["entries"] == []


async def test_a_change_committed_later_never_gets_a_smaller_position(database: str) -> None:
    """A feed reader must never see position n+1 while n is still to come: the second
    writer waits for the first one's commit (advisory lock on PostgreSQL, the write lock
    on SQLite), so positions are handed out in commit order."""
    first_wrote = asyncio.Event()
    seen_while_first_open: list[int] = []

    async def slow_writer() -> int:
        async with db.transaction():
            position = await changelog.record("publisher", 1, "update", {"name": "slow"})
            first_wrote.set()
            await asyncio.sleep(0.6)
        return position

    async def quick_writer() -> int:
        await first_wrote.wait()
        async with db.transaction():
            return await changelog.record("publisher", 2, "update", {"name": "quick"})

    async def reader() -> None:
        await first_wrote.wait()
        await asyncio.sleep(0.3)
        rows = await ChangeLog.select(ChangeLog.id)
        seen_while_first_open.extend(r["id"] for r in rows)

    slow, quick, _ = await asyncio.gather(slow_writer(), quick_writer(), reader())
    assert seen_while_first_open == []
    assert slow < quick


async def test_dcat_export_describes_projects_as_datasets(database: str) -> None:
    await _declaration_in_one_transaction()
    await Project.update({Project.license_expression: "AGPL-3.0-only"}).where(
        Project.slug == "decidim"
    )
    page = await catalogue("https://communs.example.fr", "Communs", limit=10)
    assert page["@type"] == "dcat:Catalog" and page["hydra:totalItems"] == 1
    dataset = page["dcat:dataset"][0]
    assert dataset["@type"] == "dcat:Dataset"
    assert dataset["dct:license"] == "http://spdx.org/licenses/AGPL-3.0-only"
    assert dataset["dcat:distribution"][0]["dcat:accessURL"] == "https://github.com/decidim/decidim"
    assert "hydra:next" not in page["hydra:view"]


@pytest.fixture(autouse=True)
def _bind_federation_table() -> None:
    bind()
