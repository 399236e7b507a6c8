"""The raw ASGI machinery shared by every forge shape: requests, responses, routing helpers,
pagination, ETags, request counting, latency, rate limits and fault injection."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode

import msgspec

__all__ = [
    "FaultRule",
    "Faults",
    "RateLimiter",
    "Request",
    "Response",
    "Route",
    "Stats",
    "json_response",
]

_encoder = msgspec.json.Encoder()


def dumps(value: Any) -> bytes:
    return _encoder.encode(value)


@dataclass
class Request:
    """What a handler sees: decoded path parameters, first query values, lower-case headers."""

    method: str
    raw_path: str
    query: dict[str, str]
    query_string: str
    headers: dict[str, str]
    base_url: str  # scheme://host[:port], no trailing slash
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    forge: str = ""

    def url_with(self, **changes: object) -> str:
        """This request's URL with query parameters replaced (``None`` removes one)."""
        pairs = [(k, v) for k, v in parse_qsl(self.query_string, keep_blank_values=True)]
        current = dict(pairs)
        for key, value in changes.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = str(value)
        query = urlencode(list(current.items()))
        return f"{self.base_url}{self.raw_path}" + (f"?{query}" if query else "")

    def int_arg(self, name: str, default: int, *, low: int = 1, high: int | None = None) -> int:
        """Integer query parameter, clamped to ``[low, high]``; a malformed value is the default."""
        try:
            value = int(self.query.get(name, default))
        except ValueError:
            value = default
        value = max(low, value)
        return min(value, high) if high is not None else value


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"
    #: set by list handlers: the response may carry an ETag and be answered with 304
    cacheable: bool = True

    def header(self, name: str, value: str) -> Response:
        self.headers.append((name, value))
        return self


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status=status, body=dumps(value))


def raw_json_response(body: bytes, status: int = 200) -> Response:
    return Response(status=status, body=body)


Handler = Callable[[Any, Request], "Response | Awaitable[Response]"]


@dataclass
class Route:
    """``template`` is what request counts are keyed by, e.g. ``/repos/{owner}/{repo}/tags``."""

    forge: str
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    #: git smart-HTTP routes stream bodies from a CGI and skip ETags and rate limits
    git: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method and not (self.method == "GET" and method == "HEAD"):
            return None
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        return {k: unquote(v) for k, v in m.groupdict().items() if v is not None}


def compile_template(prefix: str, template: str) -> re.Pattern[str]:
    """``/repos/{owner}/{repo}/contents/{path*}`` -> a regex; ``{x*}`` spans slashes."""
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{"):
            name = part[1:-1]
            if name.endswith("*"):
                pattern += f"(?P<{name[:-1]}>.*)"
            else:
                pattern += f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(re.escape(prefix) + pattern)


class Stats:
    """Request counts by ``"<forge> <METHOD> <template>"``; also status counts and 304s."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.not_modified = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": sum(self.requests.values()),
            "requests": dict(sorted(self.requests.items())),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "not_modified": self.not_modified,
        }

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.not_modified = 0

    def count(self, forge: str, template: str | None = None, method: str | None = None) -> int:
        """Requests counted for a forge (``github``, ``github-graphql``, ``gitlab-git``...),
        optionally for one route template and one method."""
        total = 0
        for key, value in self.requests.items():
            k_forge, _, rest = key.partition(" ")
            k_method, _, k_template = rest.partition(" ")
            if k_forge != forge:
                continue
            if template is not None and k_template != template:
                continue
            if method is not None and k_method != method:
                continue
            total += value
        return total


@dataclass
class FaultRule:
    """One injected failure.

    ``status`` 500/502/503 answers an error; 429 (or 403 for GitHub's rate-limit style) adds
    ``Retry-After`` when ``retry_after`` is set. ``kind="delay"`` waits ``delay_ms`` more before
    answering normally (for client timeouts). ``kind="truncate"`` serves the real response
    with its body cut in half (broken JSON). ``kind="ratelimit"`` answers as the forge does
    when its rate limit is used up, with reset headers ``retry_after`` seconds ahead (60 by
    default). ``kind="repeat"`` serves the previous 200 answer of the same route again (same
    body, same ``Link``: a listing page served twice). The rule applies to requests whose
    path contains
    ``path`` (and whose forge is ``forge`` when set), to every ``every``-th such request, at
    most ``times`` times (None: forever).
    """

    status: int = 500
    path: str = ""
    forge: str | None = None
    times: int | None = 1
    every: int = 1
    retry_after: int | None = None
    kind: str = "status"
    delay_ms: float = 0
    seen: int = 0
    fired: int = 0

    def applies(self, forge: str, path: str) -> bool:
        if self.forge and self.forge != forge:
            return False
        if self.path and self.path not in path:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        if self.seen % self.every:
            return False
        self.fired += 1
        return True


class Faults:
    """The mutable fault configuration of an app: ``app.faults.add(status=500, path="/tags")``."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, **rule: Any) -> FaultRule:
        """Add a rule (see :class:`FaultRule` for the fields); unknown kinds are refused."""
        fault = FaultRule(**rule)
        if fault.kind not in ("status", "delay", "truncate", "ratelimit", "repeat"):
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, forge: str, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.applies(forge, path):
                return rule
        return None


class RateLimiter:
    """A fixed window per forge (GitHub: one hour and 5,000 requests by default).

    ``used`` counts requests answered in the window; 304 answers are refunded, as GitHub does.
    """

    def __init__(self, limit: int, window_s: int = 3600) -> None:
        self.limit = limit
        self.window_s = window_s
        self.used: Counter[str] = Counter()
        self.reset_at: dict[str, int] = {}

    def _roll(self, bucket: str) -> None:
        now = int(time.time())
        if self.reset_at.get(bucket, 0) <= now:
            self.reset_at[bucket] = now + self.window_s
            self.used[bucket] = 0

    def take(self, bucket: str) -> bool:
        """Count one request; False when the window is exhausted (the request is refused)."""
        self._roll(bucket)
        if self.used[bucket] >= self.limit:
            return False
        self.used[bucket] += 1
        return True

    def refund(self, bucket: str) -> None:
        self.used[bucket] = max(0, self.used[bucket] - 1)

    def remaining(self, bucket: str) -> int:
        self._roll(bucket)
        return max(0, self.limit - self.used[bucket])

    def reset_epoch(self, bucket: str) -> int:
        self._roll(bucket)
        return self.reset_at[bucket]

    def reset(self) -> None:
        self.used.clear()
        self.reset_at.clear()


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def iso_z(value: datetime) -> str:
    """GitHub's timestamp style: UTC, seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms_z(value: datetime) -> str:
    """GitLab's timestamp style: UTC with milliseconds and ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_offset(value: datetime) -> str:
    """Timestamp with its own offset (GitLab commit dates, Gitea dates)."""
    return value.isoformat(timespec="seconds")


def page_slice(total: int, page: int, per_page: int) -> tuple[int, int, int]:
    """(start, stop, last_page) for 1-based ``page``; last_page is at least 1."""
    last = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    return start, min(total, start + per_page), last


def link_header(entries: list[tuple[str, str]], separator: str = ", ") -> str:
    return separator.join(f'<{url}>; rel="{rel}"' for rel, url in entries)


def encode_path(path: str) -> str:
    return quote(path, safe="")


def join_json_items(items: list[bytes]) -> bytes:
    return b"[" + b",".join(items) + b"]"
