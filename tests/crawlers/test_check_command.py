"""``communs check``: real Git repositories built in tmp_path from the real fixtures (working
copies and bare), and forge URLs served by the fake forge."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from crawlkit import REAL_FORGES, load

from communs.cli import main
from fakeforge.testing import serve
from registry import licenses, publiccode


def fixture_repo(owner: str, name: str) -> dict[str, Any]:
    return next(r for r in load(owner)["repositories"] if r["name"] == name)


def git(cwd: Path, *args: str, date: str | None = None) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_repository(tmp_path: Path, repo: dict[str, Any]) -> Path:
    """A working copy holding the fixture's files, with every tag (annotated, dated)."""
    path = tmp_path / repo["name"]
    path.mkdir()
    git(path, "init", "-q", "-b", repo["default_branch"])
    for name, text in repo["files"].items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    (path / "README.md").write_text(repo.get("description") or repo["name"])
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "import", date=repo["created_at"])
    for tag in reversed(repo["tags"]):
        git(path, "tag", "-a", tag["name"], "-m", tag["name"], date=tag["date"])
    return path


def run_check(*args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(main, ["check", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def test_working_copy_of_lutece_core(tmp_path: Path) -> None:
    repo = fixture_repo("lutece-platform", "lutece-core")
    code, report = run_check(str(make_repository(tmp_path, repo)))
    assert code == 0
    assert set(report) == {"license", "publiccode", "versions"}
    expected = licenses.detect(repo["files"]["LICENSE"])
    assert report["license"]["expression"] == expected.expression
    assert report["license"]["file"] == "LICENSE"
    assert report["license"]["confidence"] >= 98
    assert report["publiccode"] == {"file": None, "valid": None, "errors": [], "warnings": []}
    versions = report["versions"]
    assert versions["latest_stable"] == {"tag": "lutece-core-8.0.1", "version": "8.0.1"}
    assert len(versions["tags"]) == len(repo["tags"])
    beta = next(t for t in versions["tags"] if t["tag"] == "lutece-core-7.1.9-beta-01")
    assert beta["prerelease"] is True
    # 7.1.8 was tagged after 8.0.1: the newest plain release is not the highest
    assert versions["latest_published"]["tag"] == "lutece-core-7.1.8"


def test_publiccode_errors_exit_1_with_positions(tmp_path: Path) -> None:
    repo = fixture_repo("italia", "design-comuni-plone-theme")
    path = make_repository(tmp_path, repo)
    code, report = run_check(str(path))
    verdict = publiccode.parse(repo["files"]["publiccode.yml"])
    assert not verdict.valid
    assert code == 1
    assert report["publiccode"]["valid"] is False
    assert report["publiccode"]["errors"] == [r.as_dict() for r in verdict.errors]
    assert report["publiccode"]["warnings"] == [r.as_dict() for r in verdict.warnings]
    assert all(e["line"] > 0 and e["column"] > 0 for e in report["publiccode"]["errors"])
    text = CliRunner().invoke(main, ["check", str(path)])
    assert text.exit_code == 1
    first = verdict.errors[0]
    assert f"publiccode.yml:{first.line}:{first.column}: error: {first.key}:" in text.output


def test_bare_repository_reads_head(tmp_path: Path) -> None:
    repo = fixture_repo("italia", "publiccode-editor")
    path = make_repository(tmp_path, repo)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(path), str(bare))
    assert run_check(str(bare)) == run_check(str(path))
    code, report = run_check(str(bare))
    assert report["publiccode"]["file"] == "publiccode.yml"
    assert code == (0 if report["publiccode"]["valid"] else 1)


def test_reuse_directory_licenses(tmp_path: Path) -> None:
    repo = fixture_repo("codegouvfr", "codegouvfr-data")
    _, report = run_check(str(make_repository(tmp_path, repo)))
    files = {f["file"]: f["expression"] for f in report["license"]["findings"]}
    assert files["LICENSES/LICENSE.CC-BY-4.0.txt"] == "CC-BY-SA-4.0"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    not_git = tmp_path / "plain"
    not_git.mkdir()
    assert CliRunner().invoke(main, ["check", str(not_git)]).exit_code == 2
    assert CliRunner().invoke(main, ["check", str(tmp_path / "missing")]).exit_code == 2
    assert CliRunner().invoke(main, ["check"]).exit_code == 2


@pytest.mark.parametrize("kind", ["github", "gitlab", "gitea"])
def test_forge_url_gives_the_same_answer_as_the_clone(tmp_path: Path, kind: str) -> None:
    repo = fixture_repo("italia", "publiccode-editor")
    _, local = run_check(str(make_repository(tmp_path, repo)))
    with serve([REAL_FORGES / "github__italia.json"]) as forge:
        host = {"github": "github.com", "gitlab": "gitlab.com", "gitea": "codeberg.org"}[kind]
        code, remote = run_check(
            f"https://{host}/italia/publiccode-editor", "--base-url", f"{forge.url}/{kind}"
        )
    assert code == (0 if local["publiccode"]["valid"] else 1)
    assert remote["publiccode"] == local["publiccode"]
    assert remote["versions"] == local["versions"]
    assert remote["license"]["expression"] == local["license"]["expression"]
