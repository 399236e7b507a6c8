"""Real Git repositories over smart HTTP, built lazily from the fixture data.

On the first request for a repository's clone URL the repository is written with
``git fast-import`` into a bare repository: one commit per distinct tagged commit (committer
date = the tag's date, oldest first), then the default-branch head (dated ``pushed_at``), every
commit carrying the fixture's ``files``. Tags are annotated (tagger date = the tag's date) or
lightweight as the fixture says. Commit ids therefore differ from the fixture's ``commit``
values (they depend on content we do not have); tag names, dates and files match. The
repository is then served by ``git http-backend`` (CGI) for ``git ls-remote``/``clone``/``fetch``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fakeforge.core import Request, Response
from fakeforge.model import Repository

if TYPE_CHECKING:
    from fakeforge.app import FakeForge

__all__ = ["GitRepos"]


def _git_date(value: object) -> str:
    from datetime import datetime

    assert isinstance(value, datetime)
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{int(value.timestamp())} {sign}{minutes // 60:02d}{minutes % 60:02d}"


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_stream(repo: Repository) -> bytes:
    """The ``git fast-import`` input that writes ``repo`` (see the module docstring)."""
    account = repo.account
    name = (account.name if account else "Fake Forge").replace("<", "").replace(">", "")
    ident = f"{name} <noreply@{repo.owner_login}.example>".encode()
    out: list[bytes] = []
    marks: dict[str, int] = {}
    mark = 0
    for path, text in sorted(repo.files.items()):
        mark += 1
        marks[path] = mark
        out.append(b"blob\nmark :%d\n" % mark + _data(text.encode()))
    branch = f"refs/heads/{repo.default_branch}".encode()
    commits: dict[str, int] = {}
    first = True
    dated = sorted({t.commit: t.date for t in reversed(repo.tags)}.items(), key=lambda kv: kv[1])
    for sha, date in [*dated, (repo.head_commit, repo.pushed_at)]:
        if sha in commits:
            continue
        mark += 1
        commits[sha] = mark
        message = f"Fixture commit {sha[:12]}\n".encode()
        out.append(b"commit " + branch + b"\nmark :%d\n" % mark)
        out.append(b"author " + ident + b" " + _git_date(date).encode() + b"\n")
        out.append(b"committer " + ident + b" " + _git_date(date).encode() + b"\n")
        out.append(_data(message))
        if first:
            for path, blob in marks.items():
                out.append(b"M 100644 :%d " % blob + path.encode() + b"\n")
            first = False
        out.append(b"\n")
    # make sure the branch ends at the head commit even if it is older than a tag
    out.append(b"reset " + branch + b"\nfrom :%d\n\n" % commits[repo.head_commit])
    for tag in repo.tags:
        target = commits[tag.commit]
        if tag.annotated:
            out.append(b"tag " + tag.name.encode() + b"\nfrom :%d\n" % target)
            out.append(b"tagger " + ident + b" " + _git_date(tag.date).encode() + b"\n")
            out.append(_data((tag.message or tag.name).encode() + b"\n"))
        else:
            out.append(b"reset refs/tags/" + tag.name.encode() + b"\nfrom :%d\n\n" % target)
    out.append(b"done\n")
    return b"".join(out)


class GitRepos:
    """Bare repositories under ``root`` (a temporary directory unless given), one per repo id."""

    def __init__(self, root: str | Path | None = None) -> None:
        self._owned = root is None
        self._root = Path(root) if root else None
        self._locks: dict[int, asyncio.Lock] = {}
        self.built = 0

    @property
    def root(self) -> Path:
        """The directory of the bare repositories, created on first use (nothing is written
        until a repository is cloned or built)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="fakeforge-git-"))
        self._root.mkdir(parents=True, exist_ok=True)
        return self._root

    def path(self, repo: Repository) -> Path:
        return self.root / f"{repo.id}.git"

    def build(self, repo: Repository) -> Path:
        """Write the repository now (idempotent); returns its bare directory."""
        target = self.path(repo)
        if target.exists():
            return target
        staging = self.root / f".{repo.id}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.root)}
        subprocess.run(
            [
                "git",
                "init",
                "--quiet",
                "--bare",
                f"--initial-branch={repo.default_branch}",
                str(staging),
            ],
            check=True,
            env=env,
        )
        subprocess.run(
            ["git", "fast-import", "--quiet", "--done"],
            input=fast_import_stream(repo),
            cwd=staging,
            check=True,
            env=env,
            capture_output=True,
        )
        staging.rename(target)
        self.built += 1
        return target

    async def ensure(self, repo: Repository) -> Path:
        lock = self._locks.setdefault(repo.id, asyncio.Lock())
        async with lock:
            return await asyncio.to_thread(self.build, repo)

    def cleanup(self) -> None:
        """Remove the temporary directory (never a ``git_root`` the caller gave)."""
        if self._owned and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def serve(self, app: FakeForge, req: Request, repo: Repository | None) -> Response:
        if repo is None:
            return Response(status=404, body=b"Repository not found\n", content_type="text/plain")
        await self.ensure(repo)
        rest = req.params.get("rest", "")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.id}.git/{rest}",
            "REQUEST_METHOD": req.method,
            "QUERY_STRING": req.query_string,
            "CONTENT_TYPE": req.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(req.body)),
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if "git-protocol" in req.headers:
            env["GIT_PROTOCOL"] = req.headers["git-protocol"]
        if "content-encoding" in req.headers:
            env["HTTP_CONTENT_ENCODING"] = req.headers["content-encoding"]
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        stdout, _stderr = await proc.communicate(req.body)
        head, _, body = stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, body = stdout.partition(b"\n\n")
        response = Response(body=body, content_type="", cacheable=False)
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            value = value.strip()
            if name.lower() == "status":
                response.status = int(value.split()[0])
            elif name.lower() == "content-type":
                response.content_type = value
            elif name and name.lower() != "content-length":
                response.header(name, value)
        return response

    def register(self, app: FakeForge) -> None:
        def by_owner(app: FakeForge, req: Request) -> object:
            return self.serve(app, req, app.world.repo(req.params["owner"], req.params["repo"]))

        def by_path(app: FakeForge, req: Request) -> object:
            return self.serve(app, req, app.world.repo_by_path(req.params["path"]))

        for forge in ("github", "gitea", "forgejo"):
            for method in ("GET", "POST"):
                app.route(
                    f"{forge}-git",
                    method,
                    f"/{forge}/{{owner}}/{{repo}}.git/{{rest*}}",
                    by_owner,
                    prefix="",
                    git=True,
                )
        for method in ("GET", "POST"):
            app.route(
                "gitlab-git", method, "/gitlab/{path*}.git/{rest*}", by_path, prefix="", git=True
            )
