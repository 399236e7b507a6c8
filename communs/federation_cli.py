"""``communs peers``: add, list and pull the instances this one federates with."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from communs.cli import current_settings, fail_cleanly, run_with_db


@click.group()
def peers() -> None:
    """Peers: other Communs instances whose feeds this one pulls."""


@peers.command("add")
@click.argument("url")
@click.option("--yes", is_flag=True, help="Accept the announced key without asking.")
@click.option(
    "--untrusted",
    is_flag=True,
    help="Record the key but neither pull the peer nor accept entries it signs.",
)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def peers_add(url: str, yes: bool, untrusted: bool, data_dir: Path | None) -> None:
    """Add the instance at URL, with the key it announces at /.well-known/communs.

    Compare the fingerprint shown with the one its admin reads on their side before
    accepting it: the key is what every entry of that instance is checked against.
    """
    from crawlers.federation import add_peer, fetch_instance

    settings = current_settings(data_dir)
    info = asyncio.run(fetch_instance(settings, url))
    click.echo(f"{info.name} at {info.url}")
    click.echo(f"key fingerprint: {info.fingerprint}")

    async def known() -> dict[str, Any] | None:
        from registry.tables import Peer

        return await Peer.select().where(Peer.url == info.url).first()

    existing = run_with_db(settings, known)
    if existing is not None and existing["public_key"] != info.public_key:
        click.echo(
            f"WARNING: {info.url} announces a NEW key; the one known here has fingerprint "
            f"{existing['fingerprint']}. Accept only if its admin confirms a key change.",
            err=True,
        )
    if not yes and not click.confirm("Is this the fingerprint its admin gave you?", default=False):
        click.echo("not added", err=True)
        raise SystemExit(1)
    row = run_with_db(settings, lambda: add_peer(info, trusted=not untrusted))
    click.echo(f"peer {row['url']} added ({'trusted' if row['trusted'] else 'untrusted'})")


@peers.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per peer.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def peers_list(as_json: bool, data_dir: Path | None) -> None:
    """Peers with their fingerprint, cursor, last pull and last error."""
    from registry.tables import Peer

    settings = current_settings(data_dir)

    async def work() -> list[dict[str, Any]]:
        return await Peer.select().order_by(Peer.url)

    for row in run_with_db(settings, work):
        if as_json:
            click.echo(json.dumps({k: str(v) if v is not None else None for k, v in row.items()}))
            continue
        state = "trusted" if row["trusted"] else "untrusted"
        pulled = row["last_pull_at"].isoformat() if row["last_pull_at"] else "never"
        click.echo(
            f"{row['url']}  {state}  cursor={row['cursor'] or 0}  last pull={pulled}  "
            f"fingerprint={row['fingerprint']}"
        )
        if row["last_error"]:
            click.echo(f"    last error: {row['last_error']}")


@peers.command("pull")
@click.argument("url", required=False)
@click.option("--page-size", default=500, show_default=True, type=int)
@click.option("--from-start", is_flag=True, help="Read the feed again from its beginning.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@fail_cleanly
def peers_pull(url: str | None, page_size: int, from_start: bool, data_dir: Path | None) -> None:
    """Pull URL's feed (or every trusted peer's) from where the last pull stopped.

    Exits with 1 when a pull failed or a page was rejected; the reason is printed and
    kept on the peer's row.
    """
    from crawlers.federation import PullResult, pull_all, pull_peer

    settings = current_settings(data_dir)

    async def work() -> list[PullResult]:
        if url:
            return [await pull_peer(settings, url, page_size=page_size, from_start=from_start)]
        return await pull_all(settings)

    failed = False
    for result in run_with_db(settings, work):
        r = result.report
        click.echo(
            f"{result.peer}: {r.received} entries in {result.pages} page(s), "
            f"{r.applied} applied, {r.duplicates} duplicates, {r.echoes} echoes, "
            f"{r.unverified} unverified, {len(r.refused)} refused; cursor {result.cursor}; "
            f"{result.bytes} bytes in {result.seconds:.2f} s"
        )
        for reason in r.refused[:20]:
            click.echo(f"    refused: {reason}")
        if result.error:
            failed = True
            click.echo(f"error: {result.peer}: {result.error}", err=True)
    if failed:
        raise SystemExit(1)
