"""The ``communs peers`` command line, and a pull killed half-way (the process, with
SIGKILL) that converges, when run again, to what one uninterrupted pull gives."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from fedkit import add_peer, bound, declarations, mirrored_changes, peer_row, pull, seed

from registry.tables import ChangeLog, Peer


async def test_peers_add_list_and_pull_from_the_command_line(cluster) -> None:
    a, b = cluster("A"), cluster("B")
    async with bound(a):
        await seed(20)
    declined = subprocess.run(
        [sys.executable, "-m", "communs", "peers", "add", a.url],
        env=b.env(),
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert declined.returncode == 1
    assert "key fingerprint:" in declined.stdout
    async with bound(b):
        assert await Peer.count() == 0

    added = b.cli("peers", "add", a.url, "--yes")
    assert added.returncode == 0, added.stderr
    fingerprint = added.stdout.split("key fingerprint: ")[1].split()[0]
    assert (await peer_row(b, a))["fingerprint"] == fingerprint

    pulled = b.cli("peers", "pull", a.url, "--page-size", "7")
    assert pulled.returncode == 0, pulled.stderr
    assert "43 entries in 7 page(s), 43 applied" in pulled.stdout

    listed = b.cli("peers", "list")
    assert f"{a.url}  trusted  cursor=43" in listed.stdout
    assert fingerprint in listed.stdout

    # A's key changes (lost data directory): its new entries no longer verify until an
    # admin accepts the new key, after a warning.
    a.stop()
    (a.data_dir / "federation_ed25519.pem").unlink()
    a.start()
    async with bound(a):
        await seed(1, prefix="hameau")
    rejected = b.cli("peers", "pull", a.url)
    assert rejected.returncode == 1
    assert "bad signature" in rejected.stderr
    warned = subprocess.run(
        [sys.executable, "-m", "communs", "peers", "add", a.url],
        env=b.env(),
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "announces a NEW key" in warned.stderr
    assert (await peer_row(b, a))["fingerprint"] == fingerprint
    assert b.cli("peers", "add", a.url, "--yes").returncode == 0
    accepted = b.cli("peers", "pull", a.url)
    assert "3 entries in 1 page(s), 3 applied" in accepted.stdout

    a.stop()
    failed = b.cli("peers", "pull")
    assert failed.returncode == 1
    assert "ConnectError" in failed.stderr
    assert "last error:" in b.cli("peers", "list").stdout


async def test_pull_killed_half_way_then_run_again_gives_the_same_result(cluster) -> None:
    a, b, d = cluster("A"), cluster("B"), cluster("D")
    async with bound(a):
        await seed(1500)
        total = await ChangeLog.count()
    await add_peer(b, a)
    await add_peer(d, a)

    process = subprocess.Popen(
        [sys.executable, "-m", "communs", "peers", "pull", a.url, "--page-size", "25"],
        env=b.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cursor = 0
    deadline = time.monotonic() + 60
    while cursor < total // 4 and time.monotonic() < deadline and process.poll() is None:
        await asyncio.sleep(0.02)
        raw = (await peer_row(b, a))["cursor"]
        cursor = int(raw) if raw else 0
    process.kill()
    process.wait(10)
    killed_at = int((await peer_row(b, a))["cursor"] or 0)
    assert 0 < killed_at < total, "the pull was not interrupted half-way"

    resumed = await pull(b, a, page_size=25)
    assert resumed.error == ""
    assert resumed.report.applied == total - killed_at
    whole = await pull(d, a)
    assert (whole.error, whole.report.applied) == ("", total)

    async with bound(b):
        shown_b = await declarations()
    async with bound(d):
        shown_d = await declarations()
    assert len(shown_b) == 1500
    assert shown_b == shown_d
    assert await mirrored_changes(b, a.url) == await mirrored_changes(d, a.url) == total


def test_scheduled_pull_pulls_every_trusted_peer_and_only_those(cluster) -> None:
    from crawlers.federation import run_scheduled_pulls

    a, b, c = cluster("A"), cluster("B"), cluster("C")

    async def prepare() -> None:
        async with bound(a):
            await seed(5)
        async with bound(c):
            await seed(5, prefix="village")
        await add_peer(b, a)
        await add_peer(b, c, trusted=False)

    asyncio.run(prepare())
    results = run_scheduled_pulls(b.settings)
    assert [(r["peer"], r["error"], r["report"]["applied"]) for r in results] == [(a.url, "", 11)]
    again = run_scheduled_pulls(b.settings)
    assert [r["report"]["received"] for r in again] == [0]
