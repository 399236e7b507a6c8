"""``communs crawl`` and ``communs check``.

``crawl TARGET`` fills the catalogue from forges: a publisher slug (each of its forge
accounts), an account (``github:OWNER``, ``gitlab@HOST:GROUP``, ``gitea@HOST:ORG``) or one
repository URL. ``--base-url`` says where the forge is reached when that is not its public
address (a mirror, the fake forge): the operator's command line is trusted with loopback
addresses, unlike URLs submitted through the API. A progress bar goes to stderr, a summary
to stdout.

``check PATH_OR_URL`` is the maintainer's linter: for a local Git working copy or bare
repository, or a forge URL, it prints the detected license, the ``publiccode.yml`` verdict
with every error and warning, and the versions read from the tags. Exit status: 0 when
valid, 1 when the ``publiccode.yml`` has errors, 2 on usage errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from communs.cli import current_settings, fail_cleanly, run_with_db
from registry.errors import CommunsError

__all__ = ["check", "check_report", "crawl"]


def _endpoints(values: tuple[str, ...], target: Any) -> dict[str, str]:
    endpoints: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if sep and "://" not in name:
            endpoints[name.strip()] = url.strip()
        elif target.kind == "publisher":
            raise click.UsageError(
                "with a publisher, give --base-url as HOST=URL (e.g. github.com=http://...)"
            )
        else:
            endpoints[target.base_url] = value
    return endpoints


@click.command()
@click.argument("target")
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    help="Where the forge is reached (URL), or HOST=URL pairs for a publisher's forges.",
)
@click.option(
    "--kind",
    type=click.Choice(["github", "gitlab", "gitea", "forgejo"]),
    help="Forge kind of a repository URL on an unknown host.",
)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides COMMUNS_DATA_DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@fail_cleanly
def crawl(
    target: str,
    base_urls: tuple[str, ...],
    kind: str | None,
    data_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Crawl a publisher, a forge account or one repository URL into the catalogue."""
    from crawlers.crawl import Crawler, CrawlSummary, parse_target
    from crawlers.http import ForgeClient

    parsed = parse_target(target, forge_kind=kind)
    endpoints = _endpoints(base_urls, parsed)
    settings = current_settings(data_dir)
    settings.ensure_data_dir()
    bar = None if quiet else _Progress(target)

    async def work() -> CrawlSummary:
        async with ForgeClient(settings, allow_loopback=True) as client:
            crawler = Crawler(client, endpoints=endpoints, progress=bar.update if bar else None)
            return await crawler.crawl(parsed)

    try:
        summary = run_with_db(settings, work)
    finally:
        if bar:
            bar.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "target": target,
                    "repositories": summary.seen,
                    "added": summary.added,
                    "changed": summary.changed,
                    "gone": summary.gone,
                    "failed": summary.failed,
                    "requests": summary.requests,
                    "failures": summary.failures,
                    "runs": summary.run_ids,
                },
                indent=2,
            )
        )
    else:
        for failure in summary.failures:
            click.echo(f"failed: {failure['repository']}: {failure['reason']}", err=True)
        click.echo(f"{target}: {summary.line()}")
    if summary.failures and summary.seen == 0:
        sys.exit(1)


class _Progress:
    """A click progress bar on stderr whose length grows as pages arrive."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.done = 0

    def update(self, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=max(total or done, 1), label=f"crawling {self.label}", file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.length = max(total or 0, done, self.bar.length or 0)
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


# -- check ------------------------------------------------------------------------------------


def check_report(repo: Any) -> dict[str, Any]:
    """The three parts ``communs check`` prints, from a :class:`RepoData`."""
    from crawlers.forges.base import is_license_path
    from registry import licenses, publiccode, versions

    files = {p: t for p, t in repo.files.items() if is_license_path(p)}
    findings = licenses.detect_in_files(files)
    expression = licenses.expression_for(findings)
    recognised = [f for f in findings if f.expression]
    best = max(recognised, key=lambda f: f.confidence, default=None)
    license_part = {
        "expression": expression,
        "confidence": best.confidence if best else None,
        "file": best.file if best else None,
        "findings": [
            {
                "expression": f.expression,
                "source": f.source,
                "confidence": f.confidence,
                "file": f.file,
                "note": f.note,
            }
            for f in findings
        ],
    }
    if repo.forge_license is not None:
        license_part["forge"] = repo.forge_license or None

    path = repo.publiccode_path
    if path is None:
        publiccode_part: dict[str, Any] = {
            "file": None,
            "valid": None,
            "errors": [],
            "warnings": [],
        }
    else:
        report = publiccode.parse(repo.files[path])
        publiccode_part = {
            "file": path,
            "valid": report.valid,
            "version": report.data.publiccode_yml_version if report.data else None,
            "errors": [r.as_dict() for r in report.errors],
            "warnings": [r.as_dict() for r in report.warnings],
        }

    summary = versions.summarise_tags(
        (versions.TagInfo(t.name, t.date, t.commit or None) for t in repo.tags),
        repository=repo.name,
    )
    tags = []
    for item in summary.per_tag:
        if isinstance(item, versions.VersionedTag):
            tags.append(
                {
                    "tag": item.tag,
                    "version": str(item.version),
                    "prerelease": item.prerelease,
                    "date": _utc(item.date),
                    "foreign": item in summary.foreign,
                }
            )
        else:
            tags.append(
                {
                    "tag": item.tag,
                    "version": None,
                    "prerelease": None,
                    "date": _utc(item.info.date),
                    "reason": item.reason,
                }
            )

    def latest(found: Any) -> dict[str, Any] | None:
        if found is None:
            return None
        return {"tag": found.tag, "version": str(found.version)}

    return {
        "license": license_part,
        "publiccode": publiccode_part,
        "versions": {
            "tags": tags,
            "latest_stable": latest(summary.latest_stable),
            "latest_published": latest(summary.latest_published),
        },
    }


def _utc(when: Any) -> str | None:
    """Dates in UTC, so that a clone and a forge API give the same document."""
    if when is None:
        return None
    return when.astimezone(dt.UTC).isoformat() if when.tzinfo else when.isoformat()


def _print_report(target: str, report: dict[str, Any]) -> None:
    lic = report["license"]
    if lic["expression"]:
        click.echo(f"license: {lic['expression']} ({lic['confidence']:.1f}% in {lic['file']})")
    else:
        click.echo("license: unknown (no recognised license file)")
    for finding in lic["findings"]:
        shown = finding["expression"] or "unrecognised"
        note = f" ({finding['note']})" if finding["note"] else ""
        click.echo(f"  {finding['file']}: {shown}{note}")
    if "forge" in lic:
        click.echo(f"  forge reports: {lic['forge'] or 'a license it cannot name'}")
    pc = report["publiccode"]
    if pc["file"] is None:
        click.echo("publiccode: no publiccode.yml")
    else:
        verdict = "valid" if pc["valid"] else f"{len(pc['errors'])} error(s)"
        click.echo(f"publiccode: {pc['file']}: {verdict}, {len(pc['warnings'])} warning(s)")
        for result in pc["errors"] + pc["warnings"]:
            click.echo(
                f"  {pc['file']}:{result['line']}:{result['column']}: {result['type']}: "
                f"{result['key']}: {result['description']}"
            )
    vs = report["versions"]
    stable = vs["latest_stable"]
    published = vs["latest_published"]
    click.echo(
        f"versions: {len(vs['tags'])} tag(s); latest stable: "
        f"{stable['version'] + ' (' + stable['tag'] + ')' if stable else 'none'}; "
        f"latest published: "
        f"{published['version'] + ' (' + published['tag'] + ')' if published else 'none'}"
    )
    for tag in vs["tags"]:
        if tag["version"] is None:
            click.echo(f"  {tag['tag']}: not a version: {tag['reason']}")
        else:
            flags = " pre-release" if tag["prerelease"] else ""
            flags += " (another component's)" if tag.get("foreign") else ""
            click.echo(f"  {tag['tag']}: {tag['version']}{flags}")


@click.command()
@click.argument("path_or_url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--base-url", help="Where the forge of a URL is reached (a mirror, the fake forge).")
@click.option(
    "--kind",
    type=click.Choice(["github", "gitlab", "gitea", "forgejo"]),
    help="Forge kind of a URL on an unknown host.",
)
def check(path_or_url: str, as_json: bool, base_url: str | None, kind: str | None) -> None:
    """Check a repository: license, publiccode.yml verdict, versions from tags.

    PATH_OR_URL is a local Git working copy or bare repository, or a forge repository URL.
    Exit status: 0 when valid, 1 when the publiccode.yml has errors, 2 on usage errors.
    """
    try:
        repo = _read(path_or_url, base_url, kind)
    except CommunsError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)
    report = check_report(repo)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print_report(path_or_url, report)
    sys.exit(1 if report["publiccode"]["errors"] else 0)


def _read(path_or_url: str, base_url: str | None, kind: str | None) -> Any:
    from crawlers.local import read_local_repository

    local = Path(path_or_url)
    if local.exists():
        return read_local_repository(local)
    if "://" not in path_or_url and not path_or_url.startswith("git@"):
        raise click.UsageError(f"{path_or_url}: no such directory, and not a repository URL")
    from crawlers.crawl import adapter_for, parse_target
    from crawlers.http import ForgeClient

    target = parse_target(path_or_url, forge_kind=kind)
    if target.kind != "repository":
        raise click.UsageError(f"{path_or_url}: not a repository URL")
    settings = current_settings()

    async def fetch() -> Any:
        async with ForgeClient(settings, allow_loopback=True) as client:
            adapter = adapter_for(target.forge_kind, client, base_url or target.base_url)
            return await adapter.repository(target.url.split("/", 3)[3])

    return asyncio.run(fetch())
