"""The one HTTP client every crawler uses.

:class:`ForgeClient` wraps an ``httpx.AsyncClient`` and owns everything a forge expects
from a polite client, so adapters only build URLs and read JSON:

* a user agent naming Communs and the instance URL (``settings.user_agent``);
* timeouts (``settings.http_timeout``), retries with exponential backoff on 5xx answers and
  connection errors, ``Retry-After`` honoured on 429/503;
* rate limits: when a forge says the window is used up (GitHub ``x-ratelimit-*``, GitLab
  ``RateLimit-*``), the client rotates to another token if it has one, otherwise waits for
  the reset (up to ``max_wait``) instead of failing;
* redirects of a ``GET`` (a renamed repository's ``301``, as GitHub and GitLab document)
  followed, at most five, each new address checked like the first;
* conditional requests: a ``GET`` whose URL has a cached ETag is sent with
  ``If-None-Match``; a 304 is answered from the cache (and still counted as a request);
* request accounting (:class:`RequestStats`), which crawl runs record;
* address policy: hosts resolving to private, loopback, link-local, reserved or multicast
  addresses are refused, except loopback when ``allow_loopback`` (tests, the fake forge, an
  operator's command line).

The transport is pluggable (``transport=httpx.ASGITransport(app=...)``), and so are
``sleep`` and the address ``resolver``: tests reach the fake forge in-process and never wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import json
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import httpx

from registry.errors import ForgeError, URLError
from registry.settings import Settings, get_settings

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "AddressRefusedError",
    "CachedResponse",
    "ETagCache",
    "ForgeClient",
    "ForgeHTTPError",
    "MemoryETagCache",
    "RateLimitedError",
    "RequestStats",
]

DEFAULT_MAX_RETRIES = 4
#: Longest single wait for a rate-limit reset before the request fails instead (a
#: GitHub or GitLab window is one hour, plus margin).
DEFAULT_MAX_WAIT_S = 3660.0
#: Connection pools and connections per pool: at most this many requests in flight
#: (adapters ask fewer: :data:`crawlers.forges.base.DETAIL_CONCURRENCY`)
POOL_SHARDS = 16
CONNECTIONS_PER_SHARD = 4
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 307, 308})
_MAX_REDIRECTS = 5

Resolver = Callable[[str], Awaitable[list[str]]]
Sleep = Callable[[float], Awaitable[None]]


class AddressRefusedError(URLError):
    """A URL whose host resolves to an address crawlers must not reach."""


class ForgeHTTPError(ForgeError):
    """A forge answered with an error status after retries; ``status_code`` says which."""

    def __init__(self, message: str, *, status_code: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.url = url


class RateLimitedError(ForgeHTTPError):
    """The rate limit is used up and its reset is further away than the client may wait."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """What the ETag cache keeps of a ``GET``: enough to answer a 304 without the forge."""

    etag: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ETagCache(Protocol):
    """Where ETags and bodies are kept between requests (memory, or a crawl's state)."""

    def get(self, url: str) -> CachedResponse | None: ...

    def put(self, url: str, entry: CachedResponse) -> None: ...


class MemoryETagCache:
    """An in-process ETag cache, bounded by entry count and by the bytes of the bodies it
    keeps (oldest entries go first), so a crawl's memory does not grow with the account."""

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 2 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: dict[str, CachedResponse] = {}
        self._bytes = 0

    def get(self, url: str) -> CachedResponse | None:
        return self._entries.get(url)

    def put(self, url: str, entry: CachedResponse) -> None:
        old = self._entries.pop(url, None)
        if old is not None:
            self._bytes -= len(old.body)
        if len(entry.body) > self.max_bytes:
            return
        self._entries[url] = entry
        self._bytes += len(entry.body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._bytes -= len(self._entries.pop(next(iter(self._entries))).body)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass
class RequestStats:
    """Requests made through one client: the figure a crawl run records.

    ``requests`` counts every request sent over the network, retries and 304s included;
    ``by_host`` splits it by host; ``not_modified`` counts 304s; ``retries`` requests sent
    again after a fault; ``waited_s`` the time spent waiting for rate limits and backoff.
    """

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    waited_s: float = 0.0
    by_host: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "not_modified": self.not_modified,
            "retries": self.retries,
            "waited_s": round(self.waited_s, 3),
            "by_host": dict(self.by_host),
        }


async def _system_resolver(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ForgeHTTPError(f"cannot resolve host {host!r}: {error}") from None
    return sorted({str(info[4][0]) for info in infos})


def _refusal(address: str, allow_loopback: bool) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    return None


def _retry_after_s(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _reset_wait_s(headers: httpx.Headers, now: float) -> float | None:
    """Seconds until the rate-limit window resets, from GitHub's or GitLab's headers."""
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        raw = headers.get(name)
        if raw and raw.strip().isdigit():
            reset = float(raw)
            # GitHub and GitLab send an epoch; some servers send seconds from now.
            return max(0.0, reset - now) if reset > 1_000_000_000 else reset
    return None


def _exhausted(response: httpx.Response) -> bool:
    remaining = response.headers.get("x-ratelimit-remaining") or response.headers.get(
        "ratelimit-remaining"
    )
    return remaining is not None and remaining.strip() == "0"


class ForgeClient:
    """An async HTTP client for forge APIs; use as ``async with ForgeClient(...) as c``.

    ``tokens`` maps a host to its tokens (GitHub's may be several; they rotate when one's
    limit is used up); by default they come from the settings (``github_tokens`` for
    ``api.github.com`` and ``github.com``, ``forge_tokens`` for other hosts).
    ``auth_scheme`` decides the header: ``bearer`` (GitHub, Gitea) or ``private-token``
    (GitLab) per host, set by adapters with :meth:`set_auth_scheme`.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_loopback: bool | None = None,
        cache: ETagCache | None = None,
        sleep: Sleep | None = None,
        resolver: Resolver | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        backoff_s: float = 0.5,
        tokens: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.allow_loopback = (
            self.settings.allow_loopback if allow_loopback is None else allow_loopback
        )
        self.cache: ETagCache = cache if cache is not None else MemoryETagCache()
        self.stats = RequestStats()
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self._sleep: Sleep = sleep or asyncio.sleep
        self._resolver: Resolver = resolver or _system_resolver
        self._checked_hosts: dict[str, str | None] = {}
        self._tokens: dict[str, list[str]] = {k.lower(): list(v) for k, v in (tokens or {}).items()}
        self._token_index: dict[str, int] = {}
        self._auth_scheme: dict[str, str] = {}
        # several small connection pools rather than one large one: httpcore scans every
        # connection of a pool on each request, which costs more CPU than the request
        # itself once some thirty are open (a transport given for tests gets one client)
        shards = 1 if transport is not None else POOL_SHARDS
        # one TLS context for every pool: loading the CA certificates costs ~50 ms each
        tls = httpx.create_ssl_context()
        self._clients = [
            httpx.AsyncClient(
                transport=transport,
                verify=tls,
                timeout=httpx.Timeout(float(self.settings.http_timeout)),
                headers={"User-Agent": self.settings.user_agent},
                follow_redirects=False,
                limits=httpx.Limits(
                    max_connections=CONNECTIONS_PER_SHARD,
                    max_keepalive_connections=CONNECTIONS_PER_SHARD,
                ),
            )
            for _ in range(shards)
        ]
        self._next_client = 0

    async def __aenter__(self) -> ForgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _client(self) -> httpx.AsyncClient:
        """The next connection pool, in turn."""
        self._next_client = (self._next_client + 1) % len(self._clients)
        return self._clients[self._next_client]

    # -- tokens -----------------------------------------------------------------------------

    def set_auth_scheme(self, host: str, scheme: str) -> None:
        """``bearer`` or ``private-token`` for requests to ``host``."""
        self._auth_scheme[host.lower()] = scheme

    def _tokens_for(self, host: str) -> list[str]:
        host = host.lower()
        if host not in self._tokens:
            found: list[str] = []
            if host in ("api.github.com", "github.com"):
                found = list(self.settings.github_tokens)
            else:
                token = self.settings.token_for_host(host)
                found = [token] if token else []
            self._tokens[host] = found
        return self._tokens[host]

    def _auth_headers(self, host: str) -> dict[str, str]:
        tokens = self._tokens_for(host)
        if not tokens:
            return {}
        token = tokens[self._token_index.get(host.lower(), 0) % len(tokens)]
        if self._auth_scheme.get(host.lower()) == "private-token":
            return {"PRIVATE-TOKEN": token}
        return {"Authorization": f"Bearer {token}"}

    def _rotate(self, host: str) -> bool:
        """Switch to the next token of ``host``; False when there is no other one."""
        tokens = self._tokens_for(host)
        used = self._token_index.get(host.lower(), 0)
        if len(tokens) < 2 or used + 1 >= len(tokens):
            return False
        self._token_index[host.lower()] = used + 1
        return True

    # -- address policy ---------------------------------------------------------------------

    async def check_url(self, url: str) -> None:
        """Raise :class:`AddressRefusedError` when ``url`` may not be fetched."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise AddressRefusedError(f"{url!r}: only http and https URLs are fetched")
        host = (parts.hostname or "").lower()
        if not host:
            raise AddressRefusedError(f"{url!r} has no host")
        if host not in self._checked_hosts:
            try:
                addresses = [str(ipaddress.ip_address(host))]
            except ValueError:
                addresses = await self._resolver(host)
            reason = None
            for address in addresses:
                reason = _refusal(address, self.allow_loopback)
                if reason:
                    reason = f"{host} resolves to {address}, {reason}"
                    break
            self._checked_hosts[host] = reason
        reason = self._checked_hosts[host]
        if reason:
            raise AddressRefusedError(f"refused to fetch {url}: {reason}")

    # -- requests ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        conditional: bool = True,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """Send one request with retries, rate-limit waits and the ETag cache.

        Returns the response when its status is in ``ok`` (a 304 is turned into a 200
        built from the cache, with ``response.extensions["from_cache"] = True``); raises
        :class:`ForgeHTTPError` otherwise, :class:`RateLimitedError` when the limit would
        need a longer wait than ``max_wait_s``.
        """
        await self.check_url(url)
        host = (urlsplit(url).hostname or "").lower()
        request_headers = dict(headers or {})
        full_url = _with_params(url, params) if params else url
        cached = self.cache.get(full_url) if (method == "GET" and conditional) else None
        attempt = redirects = 0
        while True:
            sent = {**request_headers, **self._auth_headers(host)}
            if cached is not None:
                sent["If-None-Match"] = cached.etag
            self.stats.requests += 1
            self.stats.by_host[host] += 1
            try:
                response = await self._client().request(
                    method, full_url, json=json_body, headers=sent
                )
            except (httpx.TransportError, httpx.TimeoutException) as error:
                if attempt >= self.max_retries:
                    raise ForgeHTTPError(
                        f"{method} {full_url}: {type(error).__name__}: {error}", url=full_url
                    ) from None
                attempt += 1
                await self._wait(self.backoff_s * 2 ** (attempt - 1))
                continue
            now = time.time()
            if response.status_code == 304 and cached is not None:
                self.stats.not_modified += 1
                return self._from_cache(response, cached)
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and method == "GET" and location:
                # a renamed or moved repository: GitHub and GitLab answer 301 + Location
                await response.aread()
                if redirects >= _MAX_REDIRECTS:
                    raise ForgeHTTPError(f"{method} {url}: too many redirects", url=full_url)
                redirects += 1
                full_url = str(httpx.URL(full_url).join(location))
                await self.check_url(full_url)
                host = (urlsplit(full_url).hostname or "").lower()
                cached = self.cache.get(full_url) if conditional else None
                continue
            if response.status_code in (403, 429) and (
                _exhausted(response) or response.headers.get("retry-after")
            ):
                await response.aread()
                if self._rotate(host):
                    continue
                wait = _retry_after_s(response.headers.get("retry-after"), now)
                if wait is None:
                    reset = _reset_wait_s(response.headers, now)
                    # a second of margin: the reset instant is rounded down
                    wait = 60.0 if reset is None else reset + 1.0
                if wait > self.max_wait_s or attempt >= self.max_retries * 4:
                    raise RateLimitedError(
                        f"{host}: rate limit used up; resets in {wait:.0f} s",
                        status_code=response.status_code,
                        url=full_url,
                    )
                attempt += 1
                await self._wait(wait)
                continue
            if response.status_code in _RETRY_STATUSES and attempt < self.max_retries:
                await response.aread()
                wait = _retry_after_s(response.headers.get("retry-after"), now)
                attempt += 1
                await self._wait(wait if wait is not None else self.backoff_s * 2 ** (attempt - 1))
                continue
            await response.aread()
            if response.status_code not in ok:
                raise ForgeHTTPError(
                    f"{method} {full_url}: HTTP {response.status_code}",
                    status_code=response.status_code,
                    url=full_url,
                )
            etag = response.headers.get("etag")
            if method == "GET" and etag and response.status_code == 200:
                self.cache.put(
                    full_url,
                    CachedResponse(etag, response.content, _kept_headers(response.headers)),
                )
            return response

    async def get(
        self, url: str, *, params: Mapping[str, Any] | None = None, ok: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        return await self.request("GET", url, params=params, ok=ok)

    async def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """``GET`` and decode JSON. A body that is not JSON (cut short, garbage) is asked for
        again like a server error; when it stays broken, :class:`ForgeHTTPError`."""
        response = await self.get(url, params=params)
        return await self.json_of(response)

    async def post_json(self, url: str, body: Any) -> Any:
        response = await self.request("POST", url, json_body=body, conditional=False)
        return await self.json_of(response, body=body)

    async def json_of(self, response: httpx.Response, *, body: Any = None) -> Any:
        """The JSON of ``response``, re-requesting it (with backoff) while it does not parse."""
        attempt = 0
        while True:
            try:
                return decode_json(response)
            except ForgeHTTPError:
                if attempt >= self.max_retries:
                    raise
            attempt += 1
            await self._wait(self.backoff_s * 2 ** (attempt - 1))
            request = response.request
            response = await self.request(
                request.method,
                str(request.url),
                json_body=body,
                conditional=False,
                ok=(response.status_code,),
            )

    async def wait_for_reset(self, response: httpx.Response) -> None:
        """Wait until the rate-limit window of ``response`` resets (for limits a forge
        reports in a 200 body, such as GitHub GraphQL's ``RATE_LIMITED``); raise
        :class:`RateLimitedError` when that is further than ``max_wait_s``."""
        now = time.time()
        wait = _retry_after_s(response.headers.get("retry-after"), now)
        if wait is None:
            reset = _reset_wait_s(response.headers, now)
            wait = 60.0 if reset is None else reset + 1.0
        if wait > self.max_wait_s:
            raise RateLimitedError(
                f"{response.request.url.host}: rate limit used up; resets in {wait:.0f} s",
                status_code=response.status_code,
                url=str(response.request.url),
            )
        await self._wait(wait)

    async def _wait(self, seconds: float) -> None:
        self.stats.retries += 1
        self.stats.waited_s += seconds
        await self._sleep(seconds)

    def _from_cache(self, response: httpx.Response, cached: CachedResponse) -> httpx.Response:
        headers = dict(cached.headers)
        headers.update({k: v for k, v in response.headers.items() if k.lower() != "content-length"})
        rebuilt = httpx.Response(
            200,
            headers=headers,
            content=cached.body,
            request=response.request,
            extensions={"from_cache": True},
        )
        return rebuilt


def _with_params(url: str, params: Mapping[str, Any]) -> str:
    """``url`` with ``params`` in its query (they replace parameters of the same name);
    a URL without a query only gets them appended, without parsing it."""
    if "?" in url or "#" in url or any(isinstance(v, list | tuple) for v in params.values()):
        return str(httpx.URL(url).copy_merge_params(dict(params)))
    text = {True: "true", False: "false", None: ""}
    return (
        url
        + "?"
        + urlencode(
            {k: text[v] if v is None or isinstance(v, bool) else str(v) for k, v in params.items()},
            quote_via=quote,
        )
    )


def _kept_headers(headers: httpx.Headers) -> dict[str, str]:
    keep = ("content-type", "link", "x-total", "x-total-pages", "x-next-page", "x-total-count")
    return {name: headers[name] for name in keep if name in headers}


def decode_json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise ForgeHTTPError(
            f"{response.request.url}: the forge answered with a body that is not JSON "
            f"({len(response.content)} bytes)",
            status_code=response.status_code,
            url=str(response.request.url),
        ) from None


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (GitHub, GitLab, Gitea), if any."""
    link = response.headers.get("link")
    if not link:
        return None
    for part in link.split(","):
        url, _, rest = part.strip().partition(";")
        if 'rel="next"' in rest.replace(" ", ""):
            return url.strip().strip("<>")
    return None
