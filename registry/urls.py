"""Canonical repository URLs: one repository is one row, whatever spelling reached it.

Pure functions, no network. :func:`canonical_url` turns any clone or browser URL of a
repository into one ``https://host/path`` string; :func:`parse_repository_url` gives the
parts a crawler needs. Both raise :class:`~registry.errors.URLError` (and nothing else)
with a message a person can act on.

Rules, documented once:

* Accepted spellings: ``https://``, ``http://``, ``ssh://``, ``git://``, ``git+https://``
  and ``git+ssh://`` URLs, scp-like ``[user@]host:path`` (``git@github.com:org/repo``),
  and a bare ``host/owner/repo`` whose host has a dot. The canonical scheme is always
  ``https``: this is an identity, not the URL a fetcher must use.
* The host is lower-cased, IDNA-encoded (``xn--``), its trailing dot dropped. ``www.``
  is dropped only for the well-known forges (:data:`KNOWN_FORGES`): elsewhere
  ``www.forge.example`` and ``forge.example`` may be different servers.
* Default ports (443, 80, 22, 9418) are dropped, and 443 whatever the scheme written.
  An SSH or ``git://`` port says nothing about the web address, so it is dropped too;
  any other HTTP(S) port is kept.
* Query and fragment are dropped; empty segments and trailing slashes collapse; a
  final ``.git`` is removed. Browser URLs are cut back to the repository: after two
  segments on GitHub, Bitbucket and Codeberg, and before ``/-/`` (GitLab's marker) on
  any host. GitLab subgroups are kept.
* Case: github.com, gitlab.com, bitbucket.org and codeberg.org treat owner and name
  case-insensitively (they redirect other spellings), so their paths are lower-cased.
  Self-hosted paths are kept exactly as written.
* Credentials: a user name alone (``git@``, ``https://user@bitbucket.org/...``) is
  stripped; a password or token is refused, so that a secret is never stored or shown
  again (the message does not repeat it).
* Refused: empty input, over :data:`MAX_URL_LENGTH` characters, control or space
  characters, ``file://`` and local paths, remote-helper transports (``ext::``,
  ``fd::``, any ``name::``), other schemes, missing host or repository path, ``.`` and
  ``..`` segments, characters a repository path cannot hold, ambiguous numeric hosts
  (``127.1``, ``0x7f.0.0.1``, ``2130706433``).
* IP-literal hosts (``192.0.2.7``, ``[2001:db8::1]``) are accepted here: address policy
  belongs to the HTTP layer. :func:`is_ip_literal` and ``RepoRef.ip_literal`` report them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote

from registry.errors import URLError

__all__ = [
    "KNOWN_FORGES",
    "MAX_URL_LENGTH",
    "RepoRef",
    "canonical_url",
    "forge_kind_hint",
    "is_ip_literal",
    "parse_repository_url",
]

MAX_URL_LENGTH = 2048

#: Well-known public forges: kind, and whether owner and name are case-insensitive.
KNOWN_FORGES: dict[str, str] = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "codeberg.org": "gitea",
    "bitbucket.org": "bitbucket",
}
_CASE_INSENSITIVE = frozenset(KNOWN_FORGES)
#: Forges where a repository is exactly ``owner/name`` (no subgroups).
_TWO_SEGMENTS = frozenset({"github.com", "bitbucket.org", "codeberg.org"})

_DEFAULT_PORTS = {"https": 443, "http": 80}
_SCHEMES = {
    "https": "https",
    "http": "http",
    "git+https": "https",
    "git+http": "http",
    "ssh": "ssh",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git": "git",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)
_TRANSPORT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*::", re.ASCII)
# [user@]host:path, as git understands it: no slash before the first colon.
_SCP = re.compile(r"(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]/]*\]|[^@/:\[\]]+):(?P<path>.*)", re.S)
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\\]")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_SEGMENT = re.compile(r"[A-Za-z0-9._~+-]+", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
_USERINFO = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*://)?)[^/?#@]*@")
_WINDOWS_PATH = re.compile(r"[A-Za-z]:[\\/]")


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A repository URL taken apart.

    ``host`` is normalised (lower case, IDNA, IPv6 without brackets); ``port`` is
    ``None`` for the default; ``path`` is the canonical path without leading slash
    (``group/sub/repo``); ``namespace`` everything before the name (``group/sub``),
    ``owner`` its first segment; ``forge`` the :func:`forge_kind_hint`; ``url`` the
    :func:`canonical_url`; ``ip_literal`` whether the host is an IP address.
    """

    host: str
    port: int | None
    path: str
    namespace: str
    owner: str
    name: str
    forge: str | None
    url: str
    ip_literal: bool

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))


def _refuse(message: str) -> URLError:
    return URLError(message, errors=[{"field": "url", "message": message}])


def _show(url: str) -> str:
    """The URL as an error message may quote it: shortened, user information hidden."""
    url = _USERINFO.sub(r"\1***@", url, count=1)
    return repr(url if len(url) <= 80 else url[:77] + "...")


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` (``192.0.2.7``, ``[2001:db8::1]``, ``2001:db8::1``) is an IP address."""
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def forge_kind_hint(host: str) -> str | None:
    """The forge kind of a well-known host (``github``, ``gitlab``, ``gitea``,
    ``bitbucket``), or ``None`` for any other host, which a crawler must probe."""
    host = host.strip().lower().rstrip(".")
    host = host.removeprefix("www.")
    return KNOWN_FORGES.get(host)


def _normalise_host(raw: str, url: str) -> tuple[str, bool]:
    if not raw:
        raise _refuse(f"{_show(url)} has no host")
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise _refuse(f"{_show(url)} has an unclosed IPv6 bracket")
        try:
            address = ipaddress.IPv6Address(raw[1:-1])
        except ValueError:
            raise _refuse(f"{_show(url)} has an invalid IPv6 address") from None
        return address.compressed, True
    host = raw.rstrip(".").lower()
    if not host:
        raise _refuse(f"{_show(url)} has no host")
    try:
        return str(ipaddress.IPv4Address(host)), True
    except ValueError:
        pass
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _refuse(f"{_show(url)} has a host name that is not valid") from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refuse(f"{_show(url)} has a host name that is not valid")
    if labels[-1].isdigit() or labels[-1].startswith("0x"):
        # 127.1, 2130706433, 0x7f.0.0.1: resolvers read these as addresses; refuse the
        # ambiguity rather than let it slip past the address policy.
        raise _refuse(f"{_show(url)} has an ambiguous numeric host; write the IP address in full")
    return host, False


def _split(url: str) -> tuple[str, str, str, str | None, str]:
    """(scheme, userinfo, host, port, path) of an accepted spelling."""
    scheme_match = _SCHEME.match(url)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        if scheme == "file":
            raise _refuse(f"{_show(url)} is a local file URL, not a repository on a forge")
        if scheme not in _SCHEMES:
            raise _refuse(f"{_show(url)} uses the scheme {scheme!r}; use https, ssh or git")
        rest = url[scheme_match.end() :]
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, path = rest[:cut], rest[cut:]
        userinfo, _, hostport = authority.rpartition("@")
        if hostport.startswith("["):
            close = hostport.find("]")
            host, after = hostport[: close + 1], hostport[close + 1 :]
            if close < 0 or (after and not after.startswith(":")):
                raise _refuse(f"{_show(url)} has an invalid IPv6 address")
            port = after[1:] if after else None
        else:
            host, colon, port_text = hostport.partition(":")
            port = port_text if colon else None
        return _SCHEMES[scheme], userinfo, host, port, path
    if url.startswith(("/", ".", "~")) or _WINDOWS_PATH.match(url):
        raise _refuse(f"{_show(url)} is a local path, not a repository on a forge")
    scp = _SCP.fullmatch(url)
    if (
        scp
        and not scp["path"].startswith("//")
        # a dotless name before the colon is an SSH alias or a scheme (javascript:),
        # neither of which names a forge
        and ("." in scp["host"] or scp["host"].startswith("[") or scp["host"] == "localhost")
    ):
        return "ssh", scp["user"] or "", scp["host"], None, "/" + scp["path"]
    first, slash, path = url.partition("/")
    if slash and "." in first and "@" not in first and ":" not in first:
        return "https", "", first, None, "/" + path
    raise _refuse(f"{_show(url)} is not a repository URL (expected https://host/owner/name)")


def _path_segments(path: str, host: str, url: str) -> list[str]:
    for mark in ("?", "#"):
        path = path.split(mark, 1)[0]
    raw = [s for s in path.split("/") if s]
    if "-" in raw:
        raw = raw[: raw.index("-")]
    segments = []
    for segment in raw:
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded:
            raise _refuse(f"{_show(url)} has a path segment {segment!r} that is not allowed")
        if not _SEGMENT.fullmatch(decoded):
            raise _refuse(
                f"{_show(url)} has a path segment with characters a repository path cannot contain"
            )
        segments.append(decoded)
    if host in _TWO_SEGMENTS:
        segments = segments[:2]
    if segments and segments[-1].lower().endswith(".git"):
        segments[-1] = segments[-1][:-4]
        if not segments[-1]:
            segments.pop()
    if len(segments) < 2:
        raise _refuse(f"{_show(url)} does not name a repository (expected host/owner/name)")
    if host in _CASE_INSENSITIVE:
        segments = [s.lower() for s in segments]
    return segments


def parse_repository_url(url: str) -> RepoRef:
    """Take a repository URL apart (see the module's rules); raise :class:`URLError`."""
    if not isinstance(url, str):
        raise _refuse(f"a repository URL must be text, not {type(url).__name__}")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"the URL is longer than {MAX_URL_LENGTH} characters")
    url = url.strip(" \t\r\n")
    if not url:
        raise _refuse("the URL is empty")
    if _TRANSPORT.match(url):
        raise _refuse(
            f"{_show(url)} uses a Git remote-helper transport (such as ext:: or fd::), "
            "which is refused"
        )
    if _BAD_CHARS.search(url):
        raise _refuse(
            f"{_show(url)} contains spaces, control or invisible characters or a backslash"
        )
    scheme, userinfo, raw_host, port_text, path = _split(url)
    if ":" in userinfo:
        raise _refuse(
            "the URL carries a password or token; remove the credentials (they are never stored)"
        )
    host, ip_literal = _normalise_host(raw_host, url)
    if not ip_literal and host.startswith("www.") and host[4:] in KNOWN_FORGES:
        host = host[4:]

    port: int | None = None
    if port_text:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
            raise _refuse(f"{_show(url)} has an invalid port")
        port = int(port_text)
    # 443 goes too, whatever the scheme written: the canonical URL is https.
    if scheme in ("ssh", "git") or port in (_DEFAULT_PORTS.get(scheme), 443):
        port = None

    segments = _path_segments(path, host, url)
    shown_host = f"[{host}]" if ":" in host else host
    authority = shown_host if port is None else f"{shown_host}:{port}"
    canonical_path = "/".join(segments)
    return RepoRef(
        host=host,
        port=port,
        path=canonical_path,
        namespace="/".join(segments[:-1]),
        owner=segments[0],
        name=segments[-1],
        forge=forge_kind_hint(host),
        url=f"https://{authority}/{canonical_path}",
        ip_literal=ip_literal,
    )


def canonical_url(url: str) -> str:
    """The one canonical ``https://host[:port]/path`` of a repository URL.

    Two spellings of the same repository give the same string; the result is itself
    accepted and returned unchanged. Raises :class:`URLError` saying why a URL is refused.
    """
    return parse_repository_url(url).url
