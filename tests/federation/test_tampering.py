"""A tampered feed is rejected whole: nothing from it is stored, the cursor stays, the
reason is kept on the peer's row; the genuine feed is then pulled normally."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fedkit import (
    Instance,
    TamperingTransport,
    add_peer,
    bound,
    create_project,
    create_publisher,
    declarations,
    declare,
    mirrored_changes,
    peer_row,
    pull,
    tampering_client,
)

from registry.federation.feed import entry_digest, page_message
from registry.federation.identity import canonical_json, load_identity


async def _seed(a: Instance) -> None:
    async with bound(a):
        lyon = await create_publisher("lyon", "Ville de Lyon")
        app = await create_project("decidim", "Decidim", ["https://github.com/decidim/decidim"])
        await declare(lyon, app)


async def _assert_nothing_stored(b: Instance, a: Instance, reason: str) -> None:
    result_row = await peer_row(b, a)
    assert result_row["cursor"] in ("", "0")
    assert reason in result_row["last_error"]
    assert await mirrored_changes(b, a.url) == 0
    async with bound(b):
        assert await declarations() == set()


async def _rejected_then_genuine(b: Instance, a: Instance, mutate: Any, reason: str) -> None:
    result = await pull(b, a, client=tampering_client(b, mutate))
    assert result.error.startswith("rejected:"), result.error
    assert reason in result.error
    await _assert_nothing_stored(b, a, reason)
    genuine = await pull(b, a)
    assert (genuine.error, genuine.report.applied) == ("", 3)
    assert (await peer_row(b, a))["last_error"] == ""


async def test_one_byte_changed_rejects_the_page(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)

    def flip(body: bytes) -> bytes:
        at = body.index(b'"production"')
        return body[: at + 1] + b"P" + body[at + 2 :]

    await _rejected_then_genuine(b, a, flip, "bad signature")


async def test_replayed_old_entry_rejects_the_page(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)
    first = await pull(b, a)
    assert first.report.applied == 3
    async with bound(a):
        paris = await create_publisher("paris", "Ville de Paris")
    old = httpx.get(f"{a.url}/federation/feed", params={"after": 0}).json()["entries"][0]

    def replay(body: bytes) -> bytes:
        page = json.loads(body)
        # lyon's creation (seq 1) served again as if it were the next change
        page["entries"].insert(0, {"position": page["after"] + 1, "entry": old["entry"]})
        page["entries"][1]["position"] += 1
        return json.dumps(page).encode()

    client = tampering_client(b, replay)
    before = await mirrored_changes(b, a.url)
    result = await pull(b, a, client=client)
    assert "an old entry replayed" in result.error
    assert await mirrored_changes(b, a.url) == before
    assert (await peer_row(b, a))["cursor"] == "3"
    genuine = await pull(b, a)
    assert (genuine.error, genuine.report.applied) == ("", 1)
    async with bound(b):
        from registry.tables import Publisher

        assert await Publisher.exists().where(Publisher.origin_id == str(paris))


async def test_entry_claiming_another_trusted_origin_rejects_the_page(cluster) -> None:
    a, b, c = cluster("A"), cluster("B"), cluster("C")
    await _seed(a)
    await add_peer(b, a)
    await add_peer(b, c)  # B trusts C's key, so it can tell A does not sign for C

    def claim_c(body: bytes) -> bytes:
        page = json.loads(body)
        page["entries"][2]["entry"]["payload"]["origin"] = c.url
        return json.dumps(page).encode()

    await _rejected_then_genuine(b, a, claim_c, "not signed by its key")


async def test_entry_re_signed_by_the_peer_for_another_origin_rejects_the_page(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)
    a_identity = load_identity(a.settings)

    def forge(body: bytes) -> bytes:
        page = json.loads(body)
        payload = dict(page["entries"][2]["entry"]["payload"], origin="https://state.example.eu")
        page["entries"][2]["entry"] = a_identity.sign(payload)
        return json.dumps(page).encode()

    await _rejected_then_genuine(b, a, forge, "claims origin https://state.example.eu")


def _rewrite(change: Any) -> Any:
    def mutate(body: bytes) -> bytes:
        page = json.loads(body)
        change(page)
        return json.dumps(page).encode()

    return mutate


async def test_a_page_whose_cursor_or_flags_changed_or_that_lost_its_signature_is_rejected(
    cluster,
) -> None:
    """The page signature covers what entry signatures cannot: the cursor the page was
    asked for, its ``next`` cursor (moved ahead, the puller would skip changes for
    ever), its ``more`` flag and its positions."""
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)

    def skip_ahead(page: dict[str, Any]) -> None:
        page["next"] += 1000

    def no_signature(page: dict[str, Any]) -> None:
        del page["signature"]

    def flag(page: dict[str, Any]) -> None:
        page["more"] = True

    for change in (skip_ahead, no_signature, flag):
        result = await pull(b, a, client=tampering_client(b, _rewrite(change)))
        assert result.error.startswith("rejected:"), (change.__name__, result.error)
        assert "bad signature on the page" in result.error
        await _assert_nothing_stored(b, a, "bad signature on the page")
    genuine = await pull(b, a)
    assert (genuine.error, genuine.report.applied, genuine.cursor) == ("", 3, 3)


async def test_an_entry_signature_broken_under_a_good_page_signature_is_rejected(
    cluster,
) -> None:
    """Entry signatures are what gets relayed to third instances: one that does not
    hold is refused even when the peer signed the page over it (a peer's bug)."""
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)
    a_identity = load_identity(a.settings)

    def swap_and_re_sign(page: dict[str, Any]) -> None:
        entries = page["entries"]
        entries[1]["entry"]["signature"] = entries[0]["entry"]["signature"]
        digests = [(e["position"], entry_digest(canonical_json(e["entry"]))) for e in entries]
        page["signature"] = a_identity.sign_bytes(
            page_message(a.url, page["after"], page["next"], page["more"], digests)
        )

    await _rejected_then_genuine(
        b, a, _rewrite(swap_and_re_sign), "bad signature on entry at position"
    )


async def test_garbage_is_retried_then_reported_and_a_down_peer_too(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    await _seed(a)
    await add_peer(b, a)
    transport = TamperingTransport(lambda body: b"<html>502 Bad Gateway</html>")
    result = await pull(b, a, client=tampering_client(b, transport))
    assert "not a feed" in result.error
    assert transport.pages == 3  # retried with backoff before giving up
    await _assert_nothing_stored(b, a, "not a feed")

    a.stop()
    down = await pull(b, a, client=tampering_client(b, lambda body: body))
    assert "ConnectError" in down.error
    assert "ConnectError" in (await peer_row(b, a))["last_error"]
    a.start()
    assert (await pull(b, a)).report.applied == 3
