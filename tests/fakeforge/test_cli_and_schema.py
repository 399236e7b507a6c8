"""The command line server, HEAD and list caching, and the GraphQL subset against GitHub's SDL."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from forgeschema import API, REAL

from fakeforge.graphql import RESOLVERS
from fakeforge.testing import free_port


def _sdl_fields() -> dict[str, set[str]]:
    text = (API / "github" / "graphql_schema_excerpt.graphql").read_text()
    types: dict[str, set[str]] = {}
    for name, body in re.findall(r"^(?:type|interface) (\w+)[^{]*\{(.*?)^\}", text, re.S | re.M):
        body = re.sub(r'"""(.*?)"""', "", body, flags=re.S)
        body = re.sub(r"\([^)]*\)", "", body, flags=re.S)
        types[name] = set(re.findall(r"^\s+(\w+)\s*:", body, re.M))
    return types


def test_graphql_fields_exist_in_githubs_schema() -> None:
    sdl = _sdl_fields()
    for type_name in (
        "Repository",
        "Ref",
        "Release",
        "License",
        "RateLimit",
        "PageInfo",
        "Blob",
        "Tree",
        "Tag",
        "Language",
        "Topic",
        "RepositoryTopic",
        "Commit",
        "Organization",
        "User",
        "Query",
        "TreeEntry",
    ):
        assert type_name in sdl, type_name
        unknown = set(RESOLVERS[type_name]) - sdl[type_name]
        assert not unknown, f"{type_name}: {unknown}"


async def test_head_gives_headers_only(client: httpx.AsyncClient) -> None:
    url = "/gitlab/api/v4/projects/italia%2Fdevelopers-italia-api/repository/files/LICENSE"
    response = await client.head(url, params={"ref": "main"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-gitlab-file-name"] == "LICENSE"


async def test_list_pages_answer_304_when_unchanged(client: httpx.AsyncClient) -> None:
    for url in (
        "/github/api/v3/orgs/synth/repos?page=2",
        "/gitlab/api/v4/groups/synth/projects",
        "/gitea/api/v1/orgs/synth/repos",
    ):
        first = await client.get(url)
        again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, url
        other = await client.get(url, headers={"If-None-Match": 'W/"stale"'})
        assert other.status_code == 200, url


def test_command_line_serves_fixtures_and_synthetic_accounts(tmp_path: Path) -> None:
    port = free_port()
    fixture = next(p for p in REAL if p.name == "github__decidim.json")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakeforge",
            "--fixture",
            f"{fixture}=top/dec",
            "--synthetic",
            "gitlab:top/gen:12",
            "--port",
            str(port),
            "--latency-ms",
            "5",
            "--git-root",
            str(tmp_path / "git"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/_fakeforge/stats", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        projects = httpx.get(
            f"{base}/gitlab/api/v4/groups/top/projects",
            params={"include_subgroups": "true", "per_page": 100},
        ).json()
        assert len(projects) == 14
        assert httpx.get(f"{base}/github/api/v3/orgs/gen/repos?per_page=5").headers["link"]
        nested = subprocess.run(
            ["git", "ls-remote", "--tags", f"{base}/gitlab/top/dec/decidim-bulletin-board.git"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert "refs/tags/v.0.8.2" in nested  # the malformed "v." tag of the README
        assert (tmp_path / "git").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
