"""Plain Git URLs read with real ``git``: local bare repositories served on loopback by
``git daemon`` (with and without partial-fetch support), and the fake forge's smart HTTP
serving real fixture accounts. Hostile inputs: remote-helper and file URLs, private
addresses, hooks, huge blobs, a server that never answers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from crawlers.git import (
    GitError,
    GitLimits,
    GitNotFoundError,
    GitReader,
    GitSizeLimitError,
    GitTimeoutError,
    fetch_target,
    is_metadata_path,
    parse_ls_remote,
)
from crawlers.http import AddressRefusedError
from fakeforge.testing import free_port, serve
from registry.errors import URLError
from registry.settings import Settings
from registry.versions import TagInfo, summarise_tags

DATA = Path(__file__).resolve().parents[1] / "data"
CODEGOUVFR = DATA / "real-forges" / "github__codegouvfr.json"
MIB = 1024 * 1024
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Ville",
    "GIT_AUTHOR_EMAIL": "dsi@ville.example",
    "GIT_COMMITTER_NAME": "Ville",
    "GIT_COMMITTER_EMAIL": "dsi@ville.example",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
}


def git(*args: str, cwd: Path, date: str | None = None) -> str:
    env = dict(GIT_ENV)
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def reader(**limits: float) -> GitReader:
    return GitReader(
        Settings(allow_loopback=True),
        limits=GitLimits(**limits),  # type: ignore[arg-type]
    )


def make_repository(root: Path, name: str, files: dict[str, bytes]) -> Path:
    """A bare ``root/ville/name.git``: two commits, an annotated and a lightweight tag."""
    work = root / f"{name}-work"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", ".", cwd=work)
    for path, content in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(content)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "first", cwd=work, date="2024-03-01T10:00:00+01:00")
    git("tag", "-a", "v1.0.0", "-m", "1.0.0", cwd=work, date="2024-03-02T09:30:00+01:00")
    (work / "CHANGELOG").write_text("1.1.0\n")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "second", cwd=work, date="2025-01-15T16:45:00+00:00")
    git("tag", "v1.1.0", cwd=work)
    bare = root / "ville" / f"{name}.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    return bare


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """``git daemon`` serving ``tmp_path/served`` on a loopback port: (directory, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={served}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(served),
        ],
        env=GIT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # ``git daemon`` runs git-daemon as a child: stop the group
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise RuntimeError("git daemon did not start") from None
            time.sleep(0.05)
    try:
        yield served, f"git://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# -- reading real repositories ---------------------------------------------------------------


def test_local_repository_over_git_protocol_gives_tags_dates_and_metadata(
    daemon: tuple[Path, str],
) -> None:
    served, base = daemon
    bare = make_repository(
        served,
        "mairie",
        {
            "LICENSE": b"MIT License\n",
            "LICENSES/EUPL-1.2.txt": b"EUROPEAN UNION PUBLIC LICENCE v. 1.2\n",
            "publiccode.yml": b"publiccodeYmlVersion: '0.4'\nname: Mairie\n",
            "src/app.py": b"print('hello')\n",
            "README.md": b"# Mairie\n",
        },
    )
    git("config", "uploadpack.allowFilter", "true", cwd=bare)

    info = reader().inspect(f"{base}/ville/mairie.git")

    assert info.default_branch == "main"
    assert info.head_commit == git("rev-parse", "main", cwd=bare)
    assert info.last_commit_at == datetime.fromisoformat("2025-01-15T16:45:00+00:00")
    assert [(t.tag, t.date, t.commit) for t in info.tags] == [
        (
            "v1.0.0",
            datetime.fromisoformat("2024-03-02T09:30:00+01:00"),
            git("rev-parse", "v1.0.0^{commit}", cwd=bare),
        ),
        ("v1.1.0", datetime.fromisoformat("2025-01-15T16:45:00+00:00"), info.head_commit),
    ]
    assert info.files == {
        "LICENSE": b"MIT License\n",
        "LICENSES/EUPL-1.2.txt": b"EUROPEAN UNION PUBLIC LICENCE v. 1.2\n",
        "publiccode.yml": b"publiccodeYmlVersion: '0.4'\nname: Mairie\n",
    }
    assert info.problems == () and info.skipped == {}
    assert summarise_tags(info.tags).latest_stable.tag == "v1.1.0"  # type: ignore[union-attr]


def test_fake_forge_repositories_read_over_http_match_the_fixture() -> None:
    fixture = json.loads(CODEGOUVFR.read_text())
    wanted = {r["name"]: r for r in fixture["repositories"]}
    with serve([CODEGOUVFR]) as forge:
        git_reader = reader()
        commands = 0
        for name in ("catalogi", "react-dsfr", "codegouvfr-data"):
            expected = wanted[name]
            info = git_reader.inspect(forge.clone_url("github", f"codegouvfr/{name}"))
            assert info.default_branch == expected["default_branch"]
            # The head commit's date; the fake forge dates a tagged head by its tag.
            head_dates = {
                datetime.fromisoformat(t["date"])
                for t in expected["tags"]
                if t["commit"] == expected["head_commit"]
            } or {datetime.fromisoformat(expected["pushed_at"])}
            assert info.last_commit_at in head_dates
            assert_same_tag_dates(info.tags, expected["tags"])
            assert {p: c.decode() for p, c in info.files.items()} == {
                p: text for p, text in expected["files"].items() if is_metadata_path(p)
            }
            assert info.problems == ()
            # ls-remote, the head fetch, the tag fetch (and LICENSES/ when there is one)
            assert info.cost.network_commands == 2 + bool(expected["tags"]) + any(
                p.startswith("LICENSES/") for p in expected["files"]
            )
            commands += info.cost.network_commands
        stats = forge.app.stats.snapshot()["requests"]
    assert commands == 10
    # smart HTTP v2: one GET per git command, one POST each, and, since this server ignores
    # filters, a second POST for a tag fetch that says which head it already has
    gets = sum(n for k, n in stats.items() if " GET " in k)
    posts = sum(n for k, n in stats.items() if " POST " in k)
    assert gets == commands
    assert commands <= posts <= commands + 2


def assert_same_tag_dates(tags: tuple[TagInfo, ...], fixture_tags: list[dict[str, str]]) -> None:
    """Same names and dates as the fixture. The fake forge writes one commit per tagged commit
    and makes most tags of a repository one kind, so lightweight tags sharing a commit share
    its date: such a tag's date is then one of its group's dates."""
    dates_by_commit: dict[str, set[datetime]] = {}
    for tag in fixture_tags:
        dates_by_commit.setdefault(tag["commit"], set()).add(datetime.fromisoformat(tag["date"]))
    assert sorted(t.tag for t in tags) == sorted(t["name"] for t in fixture_tags)
    read = {t.tag: t.date for t in tags}
    for tag in fixture_tags:
        group = dates_by_commit[tag["commit"]]
        if len(group) == 1:
            assert read[tag["name"]] == datetime.fromisoformat(tag["date"]), tag["name"]
        else:
            assert read[tag["name"]] in group, tag["name"]


def test_transient_server_errors_are_retried_and_lasting_ones_reported() -> None:
    with serve([CODEGOUVFR]) as forge:
        url = forge.clone_url("github", "codegouvfr/react-dsfr")
        forge.app.faults.add(status=502, forge="github-git", times=1)
        info = reader().inspect(url)
        assert len(info.tags) == 496 and info.problems == ()
        assert info.cost.network_commands == 4  # ls-remote twice, then two fetches
        forge.app.faults.add(status=500, forge="github-git", times=None)
        forge.app.reset_stats()
        with pytest.raises(GitError, match="500") as caught:
            reader().inspect(url)
        assert type(caught.value) is GitError
        assert forge.app.stats.snapshot()["statuses"] == {"500": 3}


def test_missing_repository_is_not_found() -> None:
    with serve([CODEGOUVFR]) as forge, pytest.raises(GitNotFoundError):
        reader().inspect(forge.clone_url("github", "codegouvfr/no-such-repository"))


def test_empty_repository_has_no_tags_and_no_files(daemon: tuple[Path, str]) -> None:
    served, base = daemon
    git("init", "--quiet", "--bare", str(served / "ville" / "empty.git"), cwd=served)
    info = reader().inspect(f"{base}/ville/empty.git")
    assert (info.head_commit, info.tags, info.files, info.last_commit_at) == (None, (), {}, None)


# -- refused before git runs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% {marker}",
        "ext::sh -c 'touch {marker}'",
        "file://{marker}/../repo.git",
        "{marker}/repo.git",
        "fd::17/repo",
        "https://user:secret@example.org/org/repo.git",
    ],
)
def test_hostile_urls_are_refused_and_run_nothing(tmp_path: Path, url: str) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(URLError):
        reader().inspect(url.format(marker=marker))
    with pytest.raises(URLError):
        reader().ls_remote(url.format(marker=marker))
    assert not marker.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://10.1.2.3/org/repo.git",
        "http://192.168.1.20:3000/org/repo.git",
        "git://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/org/repo.git",
        "ssh://git@127.0.0.1/org/repo.git",
        "git@localhost:org/repo.git",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    strict = GitReader(Settings(allow_loopback=False))
    with pytest.raises(AddressRefusedError):
        strict.inspect(url)


def test_fetch_url_keeps_scheme_and_port_but_drops_a_user_name() -> None:
    assert fetch_target("git+https://git@forge.example:8443/a/b.git")[:3] == (
        "https://forge.example:8443/a/b.git",
        "forge.example",
        8443,
    )
    assert fetch_target("git@forge.example:a/b.git")[0] == "git@forge.example:a/b.git"
    assert fetch_target("forge.example/a/b")[0] == "https://forge.example/a/b"


# -- hooks, size, time -----------------------------------------------------------------------


def test_no_hook_runs_even_when_the_environment_and_the_repository_offer_them(
    daemon: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran"
    script = f"#!/bin/sh\necho ran >> {marker}\n".encode()
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    names = (
        "reference-transaction",
        "post-checkout",
        "post-merge",
        "pre-auto-gc",
        "post-index-change",
    )
    for name in names:
        (hooks / name).write_bytes(script)
        (hooks / name).chmod(0o755)
    # An operator environment that would run hooks: global config, templates with hooks.
    hostile_config = tmp_path / "gitconfig"
    hostile_config.write_text(
        f"[core]\n\thooksPath = {hooks}\n[init]\n\ttemplateDir = {tmp_path}\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile_config))
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(tmp_path))
    served, base = daemon
    # The repository ships hooks of its own, executable, at the root and under .githooks.
    files = {f"hooks/{name}": script for name in names}
    files |= {f".githooks/{name}": script for name in names}
    bare = make_repository(served, "hooked", {"LICENSE": b"MIT\n", **files})
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    # Make sure the hooks would work if anything ran them.
    subprocess.run([str(hooks / "post-checkout")], check=True)
    assert marker.exists()
    marker.unlink()

    info = reader().inspect(f"{base}/ville/hooked.git")

    assert info.files == {"LICENSE": b"MIT\n"}
    assert not marker.exists()


def test_huge_blob_is_not_fetched_when_the_server_filters(daemon: tuple[Path, str]) -> None:
    served, base = daemon
    huge = os.urandom(3 * MIB)
    bare = make_repository(served, "huge", {"LICENSE": huge, "publiccode.yml": b"name: x\n"})
    git("config", "uploadpack.allowFilter", "true", cwd=bare)

    info = reader(max_file_bytes=MIB).inspect(f"{base}/ville/huge.git")

    assert info.files == {"publiccode.yml": b"name: x\n"}
    assert "LICENSE" in info.skipped
    assert info.cost.bytes < MIB // 4
    assert [t.tag for t in info.tags] == ["v1.0.0", "v1.1.0"]


def test_huge_blob_is_never_read_when_the_server_ignores_filters(
    daemon: tuple[Path, str],
) -> None:
    served, base = daemon
    make_repository(served, "unfiltered", {"LICENSE": os.urandom(2 * MIB), "COPYING": b"GPL\n"})

    info = reader(max_file_bytes=MIB, max_fetch_bytes=16 * MIB).inspect(
        f"{base}/ville/unfiltered.git"
    )

    assert info.files == {"COPYING": b"GPL\n"}
    assert "over the" in info.skipped["LICENSE"]
    # the tags fetch said which head it had: the 2 MiB blob came once, not once per fetch
    assert 2 * MIB < info.cost.bytes < 3 * MIB


def test_fetch_growing_past_the_size_limit_is_stopped_and_tags_are_kept(
    daemon: tuple[Path, str],
) -> None:
    served, base = daemon
    make_repository(served, "bloated", {"data.bin": os.urandom(4 * MIB), "LICENSE": b"MIT\n"})

    info = reader(max_fetch_bytes=MIB).inspect(f"{base}/ville/bloated.git")

    assert any("1048576 bytes" in problem for problem in info.problems)
    assert [t.tag for t in info.tags] == ["v1.0.0", "v1.1.0"]
    assert all(t.commit for t in info.tags)
    with pytest.raises(GitSizeLimitError):
        raise GitSizeLimitError(info.problems[0])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("scheme", ["http", "git"])
def test_server_that_never_answers_is_abandoned_within_the_budget(
    silent_server: int, scheme: str
) -> None:
    started = time.monotonic()
    with pytest.raises(GitTimeoutError):
        reader(timeout_s=2).inspect(f"{scheme}://127.0.0.1:{silent_server}/org/repo.git")
    assert time.monotonic() - started < 8


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    """A server may not send git elsewhere (say, to an internal address) with a redirect."""
    import http.server

    hits: list[str] = []

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(301)
            self.send_header("Location", "http://10.0.0.1/internal/repo.git" + self.path[-30:])
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(GitError) as caught:
            reader(timeout_s=10).ls_remote(f"http://127.0.0.1:{server.server_port}/org/repo.git")
    finally:
        server.shutdown()
        server.server_close()
    assert len(hits) == 1 and "refs" in hits[0]
    assert not isinstance(caught.value, GitTimeoutError)


# -- pure helpers ----------------------------------------------------------------------------


def test_ls_remote_output_gives_peeled_commits_and_tag_objects() -> None:
    refs = parse_ls_remote(
        "ref: refs/heads/develop\tHEAD\n"
        "aaa\tHEAD\n"
        "bbb\trefs/tags/v1.0.0\n"
        "ccc\trefs/tags/v1.0.0^{}\n"
        "ddd\trefs/tags/v1.1.0\n"
    )
    assert (refs.default_branch, refs.head_commit) == ("develop", "aaa")
    assert refs.tags == {"v1.0.0": "ccc", "v1.1.0": "ddd"}
    assert refs.tag_objects == {"v1.0.0": "bbb"}


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ("LICENSE", True),
        ("licence.md", True),
        ("COPYING.LESSER", True),
        ("LICENSE-AGPLv3.txt", True),
        ("UNLICENSE", True),
        ("LICENSES/MIT.txt", True),
        ("publiccode.yml", True),
        ("publiccode.yaml", True),
        ("src/LICENSE", False),
        ("LICENSES/sub/MIT.txt", False),
        ("README.md", False),
        ("licenses.py", False),
        ("docs/publiccode.yml", False),
    ],
)
def test_metadata_paths(path: str, wanted: bool) -> None:
    assert is_metadata_path(path) is wanted
