"""A crawl killed mid-way, the process and not an exception (``communs crawl`` as a
subprocess, SIGKILL after some pages are saved), then started again, ends with the catalogue
an uninterrupted crawl gives: same repositories, releases and license findings, none twice;
and the killed run is not left looking successful."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fakeforge.testing import serve

ROOT = Path(__file__).resolve().parents[2]
SIZE = 150  # three Gitea listing pages of 50, two GitHub pages of 100


def communs_crawl(target: str, base_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUNS_")}
    env["COMMUNS_DATA_DIR"] = str(data_dir)
    args = [sys.executable, "-m", "communs", "crawl", target, "--base-url", base_url]
    args += ["--quiet", "--json"]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def query(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the crawl's SQLite catalogue while another process may be writing it."""
    path = data_dir / "communs.sqlite3"
    for _ in range(50):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                return list(conn.execute(sql))
        except sqlite3.OperationalError as error:
            transient = ("no such table", "locked", "unable to open")
            if not any(reason in str(error) for reason in transient):
                raise
            time.sleep(0.1)
    raise AssertionError(f"cannot read {path}")


def snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The catalogue a user sees, as sorted lists: a duplicate would show twice."""
    return {
        "repositories": sorted(
            query(
                data_dir,
                "SELECT url, forge_id, full_name, gone_at IS NULL, publiccode_valid, is_archived "
                "FROM repository",
            )
        ),
        "releases": sorted(
            query(
                data_dir,
                "SELECT r.url, x.tag, x.version, x.is_prerelease, x.published_at, x.source "
                "FROM release x JOIN repository r ON x.repository = r.id",
            )
        ),
        "licenses": sorted(
            query(
                data_dir,
                "SELECT r.url, f.source, f.file, f.expression "
                "FROM license_finding f JOIN repository r ON f.repository = r.id",
            )
        ),
        "projects": sorted(
            query(
                data_dir,
                "SELECT slug, name, license_expression, latest_stable, latest_published "
                "FROM project",
            )
        ),
    }


def run_to_end(target: str, base_url: str, data_dir: Path) -> None:
    process = communs_crawl(target, base_url, data_dir)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b'"failed": 0' in out, out.decode()


@pytest.mark.parametrize("forge_kind", ["gitea", "github"])
def test_killed_crawl_started_again_converges_to_the_uninterrupted_catalogue(
    tmp_path: Path, forge_kind: str
) -> None:
    target = f"{forge_kind}:org"
    with serve([], [f"{forge_kind}:org:{SIZE}"], latency_ms=25) as forge:
        base_url = f"{forge.url}/{forge_kind}"
        reference = tmp_path / "reference"
        reference.mkdir()
        run_to_end(target, base_url, reference)
        expected = snapshot(reference)
        assert len(expected["repositories"]) == SIZE

        data_dir = tmp_path / "killed"
        data_dir.mkdir()
        process = communs_crawl(target, base_url, data_dir)
        deadline = time.monotonic() + 240
        stored = 0
        while time.monotonic() < deadline and process.poll() is None:
            stored = (
                query(data_dir, "SELECT count(*) FROM repository")[0][0]
                if (data_dir / "communs.sqlite3").exists()
                else 0
            )
            if stored >= 50:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the crawl ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
        stored = query(data_dir, "SELECT count(*) FROM repository")[0][0]
        assert 0 < stored < SIZE, "killed mid-way: some pages saved, not all"
        # whole pages only: no repository without its releases
        partial = snapshot(data_dir)
        saved = {row[0] for row in partial["repositories"]}
        assert {row[0] for row in expected["releases"] if row[0] in saved} == {
            row[0] for row in partial["releases"]
        }
        killed_runs = query(data_dir, "SELECT status, finished_at FROM crawl_run")
        assert [status for status, _ in killed_runs] != ["done"]

        run_to_end(target, base_url, data_dir)
    assert snapshot(data_dir) == expected
    runs = query(data_dir, "SELECT id, status FROM crawl_run ORDER BY id")
    assert len(runs) == 2
    assert runs[0][1] != "done"  # the killed run does not look successful
    assert runs[1][1] == "done"
