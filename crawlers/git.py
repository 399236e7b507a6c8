"""Plain Git URLs: tags, dates and the few metadata files, without a checkout.

:class:`GitReader` reads a repository that has no forge API (or whose forge Communs does not
know) with the ``git`` command, through GitPython:

1. ``git ls-remote --symref`` gives the default branch, its head commit and every tag with
   its peeled commit (one round trip);
2. a shallow, filtered fetch of the default branch (``--depth=1
   --filter=combine:tree:2+blob:limit=<max_file_bytes>``) brings the head commit, its root
   tree, the root files up to the file cap and the first-level trees (so ``LICENSES/`` is
   listed), and nothing deeper;
3. a shallow fetch of the tags with ``--filter=tree:0`` brings only tag objects and commits:
   the tag dates (tagger date for an annotated tag, committer date for a lightweight one);
4. the blobs of ``LICENSES/`` (REUSE) are fetched by id when the directory exists.

What a caller may rely on (the safety rules, each tested):

* only ``https``, ``http``, ``git`` and ``ssh`` transports (``GIT_ALLOW_PROTOCOL``,
  ``protocol.ext.allow=never``, ``protocol.file.allow=never``); URLs go through
  :func:`registry.urls.parse_repository_url` first, so ``ext::``, ``file://``, local paths
  and URLs carrying a password are refused before ``git`` runs;
* hosts resolving to private, loopback, link-local or reserved addresses are refused (the
  same rule as :mod:`crawlers.http`), loopback only allowed with ``allow_loopback``; over HTTP
  the checked address is pinned (``http.curloptResolve``) and redirects are not followed, so
  neither DNS rebinding nor a redirect reaches another address;
* no hook ever runs: a fresh bare repository in a temporary directory, created without
  templates, ``core.hooksPath=/dev/null``, never a checkout; the user's and the system's Git
  configuration are ignored (no ``insteadOf`` rewrites, no credential helpers);
* no prompt: ``GIT_TERMINAL_PROMPT=0``, ``GIT_ASKPASS=/bin/true``, ``ssh -o BatchMode=yes``;
* time: every ``git`` process is killed when the repository's time budget
  (:attr:`GitLimits.timeout_s`) is spent (GitPython's ``kill_after_timeout``);
* size: each fetch is one pack file (``fetch.unpackLimit=1``) written under a file-size
  resource limit of :attr:`GitLimits.max_fetch_bytes`, so the kernel stops a fetch that grows
  past it; the total is checked after each fetch; file contents over
  :attr:`GitLimits.max_file_bytes` are never read (and, where the server supports filters,
  never fetched).

After the fetches the promisor remote is removed from the temporary repository, so reading a
missing object fails instead of silently fetching it.

A server that ignores ``--filter`` (``uploadpack.allowFilter`` off) sends whole trees; the
size cap then decides. When a fetch after ``ls-remote`` fails on a limit, the result still
carries what ``ls-remote`` said (tags without dates) and ``problems`` says what is missing.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import git

from crawlers.http import AddressRefusedError, _refusal
from registry.errors import ForgeError, NotFoundError, URLError
from registry.settings import Settings, get_settings
from registry.urls import RepoRef, parse_repository_url
from registry.versions import TagInfo

__all__ = [
    "ALLOWED_PROTOCOLS",
    "GitCost",
    "GitError",
    "GitLimits",
    "GitNotFoundError",
    "GitReader",
    "GitRepository",
    "GitSizeLimitError",
    "GitTimeoutError",
    "RemoteRefs",
    "fetch_target",
    "is_metadata_path",
]

#: The transports ``git`` may use, for every command (``GIT_ALLOW_PROTOCOL``).
ALLOWED_PROTOCOLS = "https:http:git:ssh"

_SCHEME_FOR_GIT = {
    "https": "https",
    "http": "http",
    "git+https": "https",
    "git+http": "http",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git": "git",
}
#: ``git -c`` settings for every command (see the module's safety rules).
_CONFIG = (
    "core.hooksPath=/dev/null",
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.http.allow=always",
    "protocol.git.allow=always",
    "protocol.ssh.allow=always",
    "protocol.ext.allow=never",
    "protocol.file.allow=never",
    "protocol.version=2",
    "http.followRedirects=false",
    "credential.helper=",
    "core.askPass=/bin/true",
    "fetch.unpackLimit=1",
    "transfer.fsckObjects=true",
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.writeCommitGraph=false",
    "submodule.recurse=false",
)
_DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]/]*\]|[^@/:\[\]]+):(?P<path>.*)$", re.S)
_METADATA_NAMES = re.compile(r"(?:licen[sc]e|copying|unlicense)(?:[._-].*)?", re.IGNORECASE)
_PUBLICCODE = frozenset({"publiccode.yml", "publiccode.yaml"})
_SIZE_SIGNALS = ("signal 25", "File size limit exceeded", "invalid index-pack output", "died")
_ATTEMPTS = 3
_TRANSIENT = re.compile(
    r"returned error: (?:5\d\d|429)|early EOF|hung up unexpectedly|Connection reset"
    r"|Empty reply from server|Recv failure",
    re.IGNORECASE,
)
_NOT_FOUND = (
    "not found",
    "does not appear to be a git repository",
    "repository not found",
    "HTTP 404",
    "returned error: 404",
)


class GitError(ForgeError):
    """``git`` could not read the repository (refused by the server, broken, unreachable)."""


class GitTimeoutError(GitError):
    """The repository's time budget ran out; the ``git`` process was killed."""

    status = 504
    title = "Forge timeout"


class GitSizeLimitError(GitError):
    """A fetch grew past :attr:`GitLimits.max_fetch_bytes` and was stopped."""


class _TransientGitError(GitError):
    """A failure worth one more try (a 5xx or 429 answer, a dropped connection)."""


class GitNotFoundError(NotFoundError):
    """The server says there is no repository at this URL (any more)."""


@dataclass(frozen=True, slots=True)
class GitLimits:
    """Budgets for one repository: seconds for all ``git`` commands together, bytes per
    fetch (and for all fetches together), bytes per metadata file read."""

    timeout_s: float = 120.0
    max_fetch_bytes: int = 64 * 1024 * 1024
    max_file_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RemoteRefs:
    """What ``git ls-remote --symref`` says: the default branch (``None`` when the server
    does not say), its head commit, and for every tag the peeled commit and, for an
    annotated tag, the tag object's id."""

    default_branch: str | None
    head_commit: str | None
    tags: dict[str, str]
    tag_objects: dict[str, str]


@dataclass(frozen=True, slots=True)
class GitCost:
    """What reading one repository cost: ``git`` processes that talked to the server,
    bytes of objects written locally (packs and their indexes), seconds of wall time."""

    network_commands: int
    bytes: int
    seconds: float


@dataclass(frozen=True, slots=True)
class GitRepository:
    """A plain Git repository as Communs stores it.

    ``url`` is the canonical URL (:func:`registry.urls.canonical_url`), ``fetch_url`` the URL
    ``git`` used. ``tags`` follow ``ls-remote`` order (by name) and carry the peeled commit and,
    when the objects could be fetched, the date. ``last_commit_at`` is the head commit's
    committer date (the activity figure). ``files`` maps root metadata paths (license files,
    ``LICENSES/*``, ``publiccode.yml``/``.yaml``) to their bytes; ``skipped`` maps metadata
    paths that were not read to the reason. ``problems`` lists what could not be done
    (a limit hit after ``ls-remote``), empty when everything was read.
    """

    url: str
    fetch_url: str
    default_branch: str | None
    head_commit: str | None
    last_commit_at: datetime | None
    tags: tuple[TagInfo, ...]
    files: dict[str, bytes]
    skipped: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    cost: GitCost = GitCost(0, 0, 0.0)


def is_metadata_path(path: str) -> bool:
    """Whether a repository path is one of the files Communs reads: a root license file
    (``LICENSE``, ``LICENCE.md``, ``COPYING.LESSER``, ``UNLICENSE``... any case), a file
    directly in ``LICENSES/``, or a root ``publiccode.yml``/``publiccode.yaml``."""
    if path in _PUBLICCODE:
        return True
    directory, _, name = path.rpartition("/")
    if directory == "LICENSES":
        return bool(name)
    return not directory and bool(_METADATA_NAMES.fullmatch(name))


def fetch_target(url: str) -> tuple[str, str, int, RepoRef]:
    """Check ``url`` and return ``(fetch_url, host, port, ref)``.

    The URL must pass :func:`registry.urls.parse_repository_url` (which refuses ``ext::`` and
    other remote helpers, ``file://``, local paths, credentials, odd hosts); the fetch URL keeps
    the scheme and port as written (``git+https`` becomes ``https``; scp-like ``git@host:path``
    stays as it is, an SSH URL). Raises :class:`~registry.errors.URLError`.
    """
    ref = parse_repository_url(url)
    text = url.strip(" \t\r\n")
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = _SCHEME_FOR_GIT.get(scheme.lower())
        if scheme is None:
            raise URLError(f"{ref.url}: only https, http, git and ssh URLs are read with git")
        parts = urlsplit(f"{scheme}://{rest}")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise URLError(f"{ref.url}: invalid port") from None
        netloc = parts.netloc
        if scheme in ("http", "https") and "@" in netloc:
            netloc = netloc.rsplit("@", 1)[1]  # a user name alone: git would prompt for it
        fetch_url = f"{scheme}://{netloc}{parts.path}"
        return fetch_url, ref.host, port, ref
    if _SCP.match(text):
        return text, ref.host, 22, ref
    # a bare host/owner/repo: https, like the canonical URL
    return ref.url, ref.host, ref.port or 443, ref


def _resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise GitError(f"cannot resolve host {host!r}: {error}") from None
    return sorted({str(info[4][0]) for info in infos})


def _with_file_size_limit(max_bytes: int, command: list[str]) -> list[str]:
    """``command`` run under a file-size limit (``ulimit -f``, in 512-byte blocks) set by
    ``sh`` before it execs ``git``: no Python runs between fork and exec (a ``preexec_fn``
    can deadlock a process that has threads)."""
    blocks = max(1, -(-max_bytes // 512))
    return ["/bin/sh", "-c", f'ulimit -f {blocks} && exec "$0" "$@"', *command]


def _directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _Session:
    """One repository's ``git`` processes: environment, options, time budget, cost."""

    def __init__(self, home: Path, limits: GitLimits, pinned: list[str]) -> None:
        self.home = home
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout_s
        self.network_commands = 0
        #: what the last successful command printed on stderr (warnings)
        self.last_stderr: str | bytes = ""
        self.options = [part for item in _CONFIG for part in ("-c", item)]
        for pin in pinned:
            self.options += ["-c", f"http.curloptResolve={pin}"]
        self.env = {
            "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/true",
            "SSH_ASKPASS": "/bin/true",
            "GIT_SSH_COMMAND": (
                "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new"
                f" -o UserKnownHostsFile=/dev/null -o ConnectTimeout={int(limits.timeout_s)}"
            ),
            "GIT_SSH_VARIANT": "ssh",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home),
            "GIT_TEMPLATE_DIR": "",
            "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
            "GIT_HTTP_LOW_SPEED_TIME": str(max(5, int(min(30, limits.timeout_s)))),
        }

    def run(
        self,
        args: Iterable[str],
        *,
        cwd: Path | None = None,
        network: bool = False,
        stdin: bytes | None = None,
        what: str = "",
    ) -> bytes:
        """Run one ``git`` command; a network command that failed on a transient server
        error (5xx, 429, a dropped connection) is tried again, twice at most, with backoff,
        within the time budget."""
        args = list(args)
        for attempt in range(_ATTEMPTS):
            try:
                return self._run_once(args, cwd=cwd, network=network, stdin=stdin, what=what)
            except _TransientGitError as error:
                wait = 0.5 * 2**attempt
                if attempt + 1 >= _ATTEMPTS or time.monotonic() + wait >= self.deadline:
                    raise GitError(error.message) from None
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_once(
        self,
        args: list[str],
        *,
        cwd: Path | None,
        network: bool,
        stdin: bytes | None,
        what: str,
    ) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise GitTimeoutError(
                f"{what}: the time budget of {self.limits.timeout_s:g} s is spent"
            )
        if network:
            self.network_commands += 1
        command = _with_file_size_limit(self.limits.max_fetch_bytes, ["git", *self.options, *args])
        runner = git.Git(str(cwd) if cwd else str(self.home))
        istream = tempfile.TemporaryFile() if stdin is not None else None  # noqa: SIM115
        if istream is not None and stdin is not None:
            istream.write(stdin)
            istream.seek(0)
        try:
            _status, out, self.last_stderr = runner.execute(
                command,
                env=self.env,
                kill_after_timeout=remaining,
                istream=istream,
                strip_newline_in_stdout=False,
                with_extended_output=True,
            )
        except git.GitCommandError as error:
            stderr = str(error.stderr or "")
            if "Timeout:" in stderr or time.monotonic() >= self.deadline:
                raise GitTimeoutError(
                    f"{what}: no answer within {self.limits.timeout_s:g} s; git was stopped"
                ) from None
            if any(signal in stderr for signal in _SIZE_SIGNALS):
                raise GitSizeLimitError(
                    f"{what}: the fetch grew past {self.limits.max_fetch_bytes} bytes "
                    "and was stopped"
                ) from None
            lowered = stderr.lower()
            if network and any(marker.lower() in lowered for marker in _NOT_FOUND):
                raise GitNotFoundError(
                    f"{what}: no repository there ({_last_line(stderr)})"
                ) from None
            if network and _TRANSIENT.search(stderr):
                raise _TransientGitError(f"{what}: git failed: {_last_line(stderr)}") from None
            raise GitError(f"{what}: git failed: {_last_line(stderr)}") from None
        finally:
            if istream is not None:
                istream.close()
        if isinstance(out, str):
            return out.encode()
        return out  # type: ignore[return-value]


def _last_line(stderr: str) -> str:
    lines = [
        line.strip(" '\"")
        for line in stderr.splitlines()
        if line.strip(" '\"") and not line.strip().startswith(("cmdline:", "stdout:"))
    ]
    text = lines[-1] if lines else "no message"
    return text.removeprefix("stderr: ").strip(" '\"")[:300]


def parse_ls_remote(output: str) -> RemoteRefs:
    """Read ``git ls-remote --symref`` output (HEAD's symref line, ``refs/tags/x`` and
    ``refs/tags/x^{}`` lines); other refs are ignored."""
    default_branch: str | None = None
    head: str | None = None
    direct: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in output.splitlines():
        left, _, name = line.partition("\t")
        if left.startswith("ref: ") and name == "HEAD":
            target = left[5:].strip()
            if target.startswith("refs/heads/"):
                default_branch = target.removeprefix("refs/heads/")
            continue
        sha = left.strip()
        if name == "HEAD":
            head = sha
        elif name.startswith("refs/tags/"):
            tag = name.removeprefix("refs/tags/")
            if tag.endswith("^{}"):
                peeled[tag[:-3]] = sha
            else:
                direct[tag] = sha
    tags = {tag: peeled.get(tag, sha) for tag, sha in direct.items()}
    tag_objects = {tag: sha for tag, sha in direct.items() if tag in peeled}
    return RemoteRefs(default_branch, head, tags, tag_objects)


class GitReader:
    """Reads plain Git repositories under the safety rules of this module.

    ``allow_loopback`` defaults to ``settings.allow_loopback``; ``workdir`` is where temporary
    repositories are made (default: the system's temporary directory); each is removed when
    the read ends, successful or not. Blocking: call it from a thread in async code.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        limits: GitLimits | None = None,
        allow_loopback: bool | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.limits = limits or GitLimits()
        self.allow_loopback = (
            self.settings.allow_loopback if allow_loopback is None else allow_loopback
        )
        self.workdir = workdir

    # -- checks --------------------------------------------------------------------------

    def check(self, url: str) -> tuple[str, list[str], RepoRef]:
        """``(fetch_url, curl pins, ref)`` for ``url``, or raise :class:`URLError` (refused
        URL) / :class:`~crawlers.http.AddressRefusedError` (refused address)."""
        fetch_url, host, port, ref = fetch_target(url)
        addresses = _resolve(host, port)
        for address in addresses:
            reason = _refusal(address, self.allow_loopback)
            if reason:
                raise AddressRefusedError(
                    f"refused to read {ref.url}: {host} resolves to {address}, {reason}"
                )
        pins: list[str] = []
        if fetch_url.startswith(("http://", "https://")) and not ref.ip_literal:
            shown = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
            pins.append(f"{host}:{port}:{shown}")
        return fetch_url, pins, ref

    # -- reading -------------------------------------------------------------------------

    def ls_remote(self, url: str) -> RemoteRefs:
        """Default branch, head commit and tags (with peeled commits) of ``url``."""
        fetch_url, pins, ref = self.check(url)
        with tempfile.TemporaryDirectory(prefix="communs-git-", dir=self.workdir) as home:
            session = _Session(Path(home), self.limits, pins)
            return self._ls_remote(session, fetch_url, ref.url)

    def _ls_remote(self, session: _Session, fetch_url: str, shown: str) -> RemoteRefs:
        out = session.run(
            ["ls-remote", "--symref", fetch_url, "HEAD", "refs/tags/*"],
            network=True,
            what=f"ls-remote {shown}",
        )
        return parse_ls_remote(out.decode("utf-8", "replace"))

    def inspect(self, url: str) -> GitRepository:
        """Everything Communs reads from a plain Git repository (see the module)."""
        started = time.monotonic()
        fetch_url, pins, ref = self.check(url)
        home = Path(tempfile.mkdtemp(prefix="communs-git-", dir=self.workdir))
        try:
            session = _Session(home, self.limits, pins)
            refs = self._ls_remote(session, fetch_url, ref.url)
            repo = home / "repo.git"
            problems: list[str] = []
            if refs.head_commit is not None:
                self._fetch_all(session, repo, fetch_url, refs, problems, ref.url)
            tags = _tag_infos(session, repo, refs) if repo.exists() else _undated(refs)
            last_commit_at = _commit_date(session, repo, refs.head_commit)
            files, skipped = ({}, {})
            if last_commit_at is not None:
                files, skipped = _read_metadata(session, repo, refs.head_commit, self.limits)
            objects = repo / "objects"
            size = _directory_bytes(objects) if objects.exists() else 0
            return GitRepository(
                url=ref.url,
                fetch_url=fetch_url,
                default_branch=refs.default_branch,
                head_commit=refs.head_commit,
                last_commit_at=last_commit_at,
                tags=tags,
                files=files,
                skipped=skipped,
                problems=tuple(problems),
                cost=GitCost(session.network_commands, size, time.monotonic() - started),
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def _fetch_all(
        self,
        session: _Session,
        repo: Path,
        fetch_url: str,
        refs: RemoteRefs,
        problems: list[str],
        shown: str,
    ) -> None:
        session.run(["init", "--quiet", "--bare", "--template=", str(repo)], what="git init")
        config = [
            ("remote.origin.url", fetch_url),
            ("remote.origin.promisor", "true"),
            ("remote.origin.partialclonefilter", "blob:none"),
            ("extensions.partialClone", "origin"),
        ]
        for key, value in config:
            session.run(["config", key, value], cwd=repo, what="git config")
        cap = self.limits.max_file_bytes
        # Wants by object id: git then skips the ref listing (one request less per fetch).
        steps: list[tuple[str, str, list[str]]] = [
            ("default branch", f"combine:tree:2+blob:limit={cap}", [refs.head_commit or "HEAD"]),
        ]
        tag_ids = sorted({refs.tag_objects.get(name, sha) for name, sha in refs.tags.items()})
        if tag_ids:
            steps.append(("tags", "tree:0", tag_ids))
        try:
            for label, spec, wants in steps:
                self._fetch(session, repo, spec, wants, f"fetch {label} of {shown}")
                ignored = "filtering not recognized" in str(session.last_stderr)
                if label == "default branch" and refs.head_commit and ignored:
                    # The server ignores filters: a local ref lets the next fetch say what it
                    # has, so the head's whole tree is not sent a second time.
                    session.run(
                        ["update-ref", "refs/communs/head", refs.head_commit],
                        cwd=repo,
                        what="update-ref",
                    )
            licenses = _reuse_blobs(session, repo, refs.head_commit)
            if licenses:
                # Blobs under a commit we have: only a fetch that claims nothing gets them.
                self._fetch(
                    session,
                    repo,
                    f"blob:limit={cap}",
                    licenses,
                    f"fetch LICENSES/ of {shown}",
                    negotiate=False,
                )
        except (GitSizeLimitError, GitTimeoutError) as error:
            problems.append(str(error))
        finally:
            # From here on a missing object is an error, never a silent lazy fetch.
            session.run(["config", "--unset", "extensions.partialClone"], cwd=repo, what="config")
            session.run(["config", "--remove-section", "remote.origin"], cwd=repo, what="config")

    def _fetch(
        self,
        session: _Session,
        repo: Path,
        spec: str,
        wants: list[str],
        what: str,
        *,
        negotiate: bool = True,
    ) -> None:
        session.run(
            [
                *(() if negotiate else ("-c", "fetch.negotiationAlgorithm=noop")),
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                "--depth=1",
                f"--filter={spec}",
                "--stdin",
                "origin",
            ],
            cwd=repo,
            network=True,
            stdin=("\n".join(wants) + "\n").encode(),
            what=what,
        )
        total = _directory_bytes(repo / "objects")
        if total > self.limits.max_fetch_bytes:
            raise GitSizeLimitError(
                f"{what}: {total} bytes fetched, over the limit of {self.limits.max_fetch_bytes}"
            )


def _undated(refs: RemoteRefs) -> tuple[TagInfo, ...]:
    return tuple(TagInfo(name, None, commit) for name, commit in sorted(refs.tags.items()))


def _tag_infos(session: _Session, repo: Path, refs: RemoteRefs) -> tuple[TagInfo, ...]:
    """Tags with dates from the fetched objects: ``creatordate`` is the tagger date of an
    annotated tag and the committer date of a lightweight one."""
    if not refs.tags:
        return ()
    ids = [refs.tag_objects.get(name, commit) for name, commit in sorted(refs.tags.items())]
    dates = _object_dates(session, repo, ids)
    return tuple(
        TagInfo(name, dates.get(refs.tag_objects.get(name, commit)), commit)
        for name, commit in sorted(refs.tags.items())
    )


def _object_dates(session: _Session, repo: Path, ids: list[str]) -> dict[str, datetime]:
    """Dates of the commits and tag objects among ``ids`` that are present locally."""
    if not ids or not repo.exists():
        return {}
    out = session.run(
        ["cat-file", "--batch"],
        cwd=repo,
        stdin=("\n".join(ids) + "\n").encode(),
        what="cat-file",
    )
    dates: dict[str, datetime] = {}
    for oid, kind, body in _batch_objects(out):
        if kind not in ("commit", "tag"):
            continue
        header = body.split(b"\n\n", 1)[0].decode("utf-8", "replace")
        wanted = "committer " if kind == "commit" else "tagger "
        for line in header.splitlines():
            if line.startswith(wanted):
                when = _signature_date(line)
                if when is not None:
                    dates[oid] = when
                break
    return dates


def _signature_date(line: str) -> datetime | None:
    """The date of a ``committer``/``tagger`` header line (``Name <mail> 1700000000 +0100``)."""
    parts = line.rsplit(" ", 2)
    if len(parts) != 3 or not parts[1].lstrip("-").isdigit():
        return None
    offset = parts[2]
    minutes = 0
    if re.fullmatch(r"[+-][0-9]{4}", offset):
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        minutes = -minutes if offset[0] == "-" else minutes
    try:
        return datetime.fromtimestamp(int(parts[1]), timezone(timedelta(minutes=minutes)))
    except (ValueError, OverflowError, OSError):
        return None


def _batch_objects(out: bytes) -> Iterable[tuple[str, str, bytes]]:
    """Parse ``git cat-file --batch`` output; missing objects are skipped."""
    position = 0
    while position < len(out):
        end = out.index(b"\n", position)
        header = out[position:end].decode("utf-8", "replace").split()
        position = end + 1
        if len(header) != 3:
            continue  # "<id> missing"
        oid, kind, size_text = header
        size = int(size_text)
        yield oid, kind, out[position : position + size]
        position += size + 1


def _commit_date(session: _Session, repo: Path, commit: str | None) -> datetime | None:
    if commit is None:
        return None
    return _object_dates(session, repo, [commit]).get(commit)


def _tree_entries(session: _Session, repo: Path, treeish: str) -> list[tuple[str, str, str, str]]:
    """``(mode, type, id, path)`` of a tree present locally; empty when it is missing."""
    try:
        out = session.run(["ls-tree", "-z", treeish], cwd=repo, what="ls-tree")
    except GitError:
        return []
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        entries.append((mode, kind, oid, path.decode("utf-8", "replace")))
    return entries


def _reuse_blobs(session: _Session, repo: Path, head: str | None) -> list[str]:
    if head is None:
        return []
    for _mode, kind, oid, path in _tree_entries(session, repo, head):
        if kind == "tree" and path == "LICENSES":
            return [
                blob
                for mode, sub_kind, blob, _name in _tree_entries(session, repo, oid)
                if sub_kind == "blob" and mode in ("100644", "100755")
            ]
    return []


def _read_metadata(
    session: _Session, repo: Path, head: str | None, limits: GitLimits
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Root metadata files of ``head``: contents up to the file cap, and what was skipped."""
    if head is None:
        return {}, {}
    wanted: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for mode, kind, oid, path in _tree_entries(session, repo, head):
        if kind == "tree" and path == "LICENSES":
            for sub_mode, sub_kind, sub_oid, name in _tree_entries(session, repo, oid):
                full = f"LICENSES/{name}"
                if sub_kind == "blob" and sub_mode in ("100644", "100755"):
                    wanted[full] = sub_oid
        elif kind == "blob" and is_metadata_path(path):
            if mode in ("100644", "100755"):
                wanted[path] = oid
            else:
                skipped[path] = "a symbolic link, not read"
    if not wanted:
        return {}, skipped
    check = session.run(
        ["cat-file", "--batch-check"],
        cwd=repo,
        stdin=("\n".join(wanted.values()) + "\n").encode(),
        what="cat-file",
    )
    sizes: dict[str, int] = {}
    for line in check.decode().splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] == "blob":
            sizes[fields[0]] = int(fields[2])
    readable: dict[str, str] = {}
    for path, oid in wanted.items():
        if oid not in sizes:
            skipped[path] = f"not fetched (over {limits.max_file_bytes} bytes, or a limit hit)"
        elif sizes[oid] > limits.max_file_bytes:
            skipped[path] = f"{sizes[oid]} bytes, over the {limits.max_file_bytes}-byte cap"
        else:
            readable[path] = oid
    contents: dict[str, bytes] = {}
    if readable:
        out = session.run(
            ["cat-file", "--batch"],
            cwd=repo,
            stdin=("\n".join(readable.values()) + "\n").encode(),
            what="cat-file",
        )
        by_id = {oid: body for oid, _kind, body in _batch_objects(out)}
        contents = {path: by_id[oid] for path, oid in sorted(readable.items()) if oid in by_id}
    return contents, skipped
