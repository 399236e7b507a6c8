"""The fake forge ASGI application: one port, every forge shape under its own path prefix.

``create_app()`` builds a :class:`FakeForge`; it is a plain ASGI callable, usable with
``httpx.ASGITransport`` in-process or served by uvicorn (``python -m fakeforge``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fakeforge.core import (
    Faults,
    RateLimiter,
    Request,
    Response,
    Route,
    Stats,
    compile_template,
    dumps,
    etag_matches,
    etag_of,
    http_date,
    json_response,
)
from fakeforge.model import World, load_fixture, synthetic_account

__all__ = ["PREFIXES", "FakeForge", "create_app"]

#: where each forge's API lives on the fake forge's single port
PREFIXES = {
    "github": "/github/api/v3",
    "github-graphql": "/github/api",
    "gitlab": "/gitlab/api/v4",
    "gitea": "/gitea/api/v1",
    "forgejo": "/forgejo/api/v1",
    "bitbucket": "/bitbucket/2.0",
}


class FakeForge:
    """An ASGI app serving ``world`` as GitHub, GitLab, Gitea and Forgejo at once.

    Attributes a test may use: ``world`` (the data), ``stats`` (request counts; also
    ``GET /_fakeforge/stats``), ``faults`` (fault injection rules), ``latency_ms`` (added to
    every request), ``limiter`` (per-forge rate-limit windows), ``git`` (the lazily built Git
    repositories).
    """

    def __init__(
        self,
        world: World,
        *,
        latency_ms: float = 0,
        rate_limit: int = 5000,
        git_root: str | Path | None = None,
    ) -> None:
        from fakeforge import bitbucket, gitea, github, gitlab, graphql, moves
        from fakeforge.git import GitRepos

        self.world = world
        self.latency_ms = latency_ms
        self.stats = Stats()
        self.faults = Faults()
        self.limiter = RateLimiter(rate_limit)
        self.routes: list[Route] = []
        #: rendered JSON items, keyed by (shape, base URL, object id): list pages are slices
        self.cache: dict[tuple[Any, ...], bytes] = {}
        #: repository orderings of list endpoints, keyed by (account, size, sort, direction)
        self.orderings: dict[tuple[Any, ...], list[Any]] = {}
        self.git = GitRepos(git_root)
        github.register(self)
        graphql.register(self)
        gitlab.register(self)
        gitea.register(self, "gitea")
        gitea.register(self, "forgejo")
        bitbucket.register(self)
        moves.register(self)
        self.git.register(self)
        #: the last response of each listing, for ``kind="repeat"`` faults
        self._last: dict[tuple[Any, ...], Response] = {}

    # -- Python API -------------------------------------------------------------------------

    def route(
        self,
        forge: str,
        method: str,
        template: str,
        handler: Any,
        *,
        prefix: str | None = None,
        git: bool = False,
    ) -> None:
        prefix = PREFIXES.get(forge, "") if prefix is None else prefix
        self.routes.append(
            Route(forge, method, template, compile_template(prefix, template), handler, git)
        )

    def reset_stats(self) -> None:
        """Zero the request counts and the rate-limit windows."""
        self.stats.reset()
        self.limiter.reset()

    def add_fixture(self, source: str | Path | dict[str, Any], under: str | None = None) -> None:
        load_fixture(self.world, source, under)
        self.cache.clear()
        self.orderings.clear()

    def add_synthetic(self, spec: str) -> None:
        """``KIND:OWNER:N``: N generated repositories for OWNER (a group path may nest)."""
        _kind, owner, count = parse_synthetic(spec)
        synthetic_account(self.world, owner, count)
        self.cache.clear()
        self.orderings.clear()

    def _repository(self, path: str) -> Any:
        owner, _, name = path.strip("/").rpartition("/")
        repo = self.world.repo(owner, name)
        if repo is None:
            raise KeyError(f"no repository {path!r}")
        return repo

    def rename_repository(self, path: str, new_name: str) -> None:
        """Rename ``owner/name`` (or ``group/sub/name``) to ``new_name``, keeping its id; the
        old name is redirected as each forge documents it (see :mod:`fakeforge.moves`)."""
        self.world.rename_repo(self._repository(path), new_name)
        self.cache.clear()
        self.orderings.clear()

    def delete_repository(self, path: str) -> None:
        """Delete ``owner/name``: 404 everywhere from now on, gone from listings."""
        self.world.delete_repo(self._repository(path))
        self.cache.clear()
        self.orderings.clear()

    def cached(self, key: tuple[Any, ...], render: Any) -> bytes:
        body = self.cache.get(key)
        if body is None:
            body = self.cache[key] = dumps(render())
        return body

    # -- errors in each forge's own shape ----------------------------------------------------

    def error(self, forge: str, status: int, message: str | None = None) -> Response:
        if forge.startswith("github"):
            text = message or {404: "Not Found", 304: ""}.get(status, "Error")
            return json_response(
                {
                    "message": text,
                    "documentation_url": "https://docs.github.com/rest",
                    "status": str(status),
                },
                status,
            )
        if forge == "gitlab":
            text = message or {404: "404 Not Found", 400: "400 Bad request"}.get(status, "Error")
            return json_response({"message": text}, status)
        if forge in ("gitea", "forgejo"):
            text = message or {404: "The target couldn't be found."}.get(status, "Error")
            return json_response({"errors": [], "message": text, "url": ""}, status)
        return Response(status=status, body=(message or "").encode(), content_type="text/plain")

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        response = await self.handle(scope, body)
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if response.content_type:
            headers.append((b"content-type", response.content_type.encode()))
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        payload = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": payload})

    async def handle(self, scope: dict[str, Any], body: bytes) -> Response:
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_path = raw_path.split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query_string = scope.get("query_string", b"").decode("latin-1")
        query: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=True):
            query.setdefault(key, value)
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
        request = Request(
            method=method,
            raw_path=raw_path,
            query=query,
            query_string=query_string,
            headers=headers,
            base_url=f"{scope.get('scheme', 'http')}://{host}",
            body=body,
        )
        if raw_path.startswith("/_fakeforge/"):
            return self.control(request)
        for route in self.routes:
            params = route.match(method, raw_path)
            if params is not None:
                break
        else:
            self.stats.requests[f"unmatched {method}"] += 1
            self.stats.statuses[404] += 1
            forge = raw_path.strip("/").split("/", 1)[0]
            return self.error(forge, 404)
        request.params = params
        request.forge = route.forge
        self.stats.requests[f"{route.forge} {method} {route.template}"] += 1
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        response = await self.dispatch(route, request)
        self.stats.statuses[response.status] += 1
        return response

    async def dispatch(self, route: Route, request: Request) -> Response:
        forge = route.forge
        fault = self.faults.pick(forge, request.raw_path)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault is not None and fault.kind == "status":
            response = self.error(forge, fault.status, f"Injected fault {fault.status}")
            if fault.retry_after is not None:
                response.header("Retry-After", str(fault.retry_after))
            return response
        if fault is not None and fault.kind == "ratelimit":
            return self._rate_limit_fault(forge, fault)
        replay_key = (forge, route.template, request.method, _query_text(request))
        if fault is not None and fault.kind == "repeat":
            previous = self._last.get(replay_key)
            if previous is not None:
                return Response(
                    previous.status, previous.body, list(previous.headers), previous.content_type
                )
            fault.fired -= 1  # nothing served yet on this route: the next one repeats
        if route.git:
            result = route.handler(self, request)
            return await result if inspect.isawaitable(result) else result
        bucket = _bucket(forge)
        if bucket and not self.limiter.take(bucket):
            return self._rate_limited(forge, bucket)
        result = route.handler(self, request)
        response: Response = await result if inspect.isawaitable(result) else result
        if request.method in ("GET", "HEAD") and response.status == 200 and response.cacheable:
            etag = etag_of(response.body)
            response.header("ETag", etag)
            if etag_matches(request.headers.get("if-none-match"), etag):
                self.stats.not_modified += 1
                if forge.startswith("github") and bucket:
                    self.limiter.refund(bucket)
                response = Response(status=304, headers=[("ETag", etag)], content_type="")
        if bucket:
            self._rate_headers(forge, bucket, response)
        if fault is not None and fault.kind == "truncate":
            response.body = response.body[: len(response.body) // 2]
        if response.status == 200 and any(r.kind == "repeat" for r in self.faults.rules):
            self._last[replay_key] = response
        return response

    def _rate_limit_fault(self, forge: str, fault: Any) -> Response:
        """The forge's own "rate limit used up" answer, resetting ``retry_after`` seconds
        from now (60 by default): GitHub 403 (or 429) with ``x-ratelimit-remaining: 0`` and
        the reset epoch, GraphQL 200 with a ``RATE_LIMITED`` error and the same headers,
        GitLab 429 with ``RateLimit-*``, ``RateLimit-ResetTime`` and ``Retry-After``; Gitea
        and Forgejo document no limit headers: 429 with ``Retry-After``."""
        wait = 60 if fault.retry_after is None else int(fault.retry_after)
        reset = int(time.time()) + wait
        limit = self.limiter.limit
        if forge.startswith("github"):
            if forge == "github-graphql":
                response = json_response(
                    {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
                )
            else:
                status = fault.status if fault.status in (403, 429) else 403
                response = self.error(forge, status, "API rate limit exceeded for 127.0.0.1.")
            response.headers += [
                ("x-ratelimit-limit", str(limit)),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", str(limit)),
                ("x-ratelimit-reset", str(reset)),
                ("x-ratelimit-resource", "graphql" if forge == "github-graphql" else "core"),
            ]
        else:
            response = Response(status=429, body=b"Retry later", content_type="text/plain")
            if forge == "gitlab":
                response.headers += [
                    ("RateLimit-Limit", str(limit)),
                    ("RateLimit-Name", "throttle_unauthenticated_api"),
                    ("RateLimit-Observed", str(limit)),
                    ("RateLimit-Remaining", "0"),
                    ("RateLimit-Reset", str(reset)),
                    ("RateLimit-ResetTime", http_date(reset)),
                ]
            response.header("Retry-After", str(wait))
        response.cacheable = False
        return response

    def _rate_headers(self, forge: str, bucket: str, response: Response) -> None:
        limit = self.limiter.limit
        remaining = self.limiter.remaining(bucket)
        reset = self.limiter.reset_epoch(bucket)
        if forge.startswith("github"):
            response.headers += [
                ("x-ratelimit-limit", str(limit)),
                ("x-ratelimit-remaining", str(remaining)),
                ("x-ratelimit-used", str(limit - remaining)),
                ("x-ratelimit-reset", str(reset)),
                ("x-ratelimit-resource", bucket.split(":", 1)[1]),
            ]
        elif forge == "gitlab":
            response.headers += [
                ("RateLimit-Limit", str(limit)),
                ("RateLimit-Name", "throttle_unauthenticated_api"),
                ("RateLimit-Observed", str(limit - remaining)),
                ("RateLimit-Remaining", str(remaining)),
                ("RateLimit-Reset", str(reset)),
            ]

    def _rate_limited(self, forge: str, bucket: str) -> Response:
        reset = self.limiter.reset_epoch(bucket)
        wait = max(1, reset - int(time.time()))
        if forge == "github-graphql":
            response = json_response(
                {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
            )
        elif forge == "github":
            response = self.error(forge, 403, "API rate limit exceeded for 127.0.0.1.")
        else:
            response = Response(status=429, body=b"Retry later", content_type="text/plain")
            response.header("RateLimit-ResetTime", http_date(reset))
            response.header("Retry-After", str(wait))
        self._rate_headers(forge, bucket, response)
        return response

    # -- control endpoints --------------------------------------------------------------------

    def control(self, request: Request) -> Response:
        """``GET /_fakeforge/stats``, ``POST /_fakeforge/reset``, ``POST /_fakeforge/faults``
        (JSON body: one rule's fields, or ``{"clear": true}``), ``POST /_fakeforge/rename``
        (``{"path": "owner/name", "name": "new"}``), ``POST /_fakeforge/delete``
        (``{"path": "owner/name"}``), ``GET /_fakeforge/accounts``."""
        path = request.raw_path
        if path == "/_fakeforge/stats" and request.method == "GET":
            return json_response(self.stats.snapshot())
        if path == "/_fakeforge/reset" and request.method == "POST":
            self.reset_stats()
            return json_response({"ok": True})
        if path == "/_fakeforge/faults" and request.method == "POST":
            rule = json.loads(request.body or b"{}")
            if rule.pop("clear", False):
                self.faults.clear()
            if rule:
                try:
                    self.faults.add(**rule)
                except (TypeError, ValueError) as exc:
                    return json_response({"error": str(exc)}, 400)
            return json_response({"rules": len(self.faults.rules)})
        if path in ("/_fakeforge/rename", "/_fakeforge/delete") and request.method == "POST":
            change = json.loads(request.body or b"{}")
            try:
                if path.endswith("rename"):
                    self.rename_repository(change["path"], change["name"])
                else:
                    self.delete_repository(change["path"])
            except KeyError as exc:
                return json_response({"error": str(exc)}, 404)
            return json_response({"ok": True})
        if path == "/_fakeforge/accounts" and request.method == "GET":
            return json_response(
                [
                    {"path": a.full_path, "login": a.login, "repos": len(a.repositories)}
                    for a in self.world.accounts.values()
                ]
            )
        return Response(status=404, body=b"unknown control endpoint", content_type="text/plain")


def _query_text(request: Request) -> str:
    """What tells two requests of one route apart beyond their page: a GraphQL query's text
    (its variables, the page cursor among them, left out)."""
    if request.method != "POST" or not request.body:
        return ""
    try:
        return str(json.loads(request.body).get("query", ""))
    except (ValueError, AttributeError):
        return ""


def _bucket(forge: str) -> str | None:
    if forge == "github":
        return "github:core"
    if forge == "github-graphql":
        return "github:graphql"
    if forge == "gitlab":
        return "gitlab:api"
    return None


def parse_synthetic(spec: str) -> tuple[str, str, int]:
    """``github:bigorg:10000`` -> ("github", "bigorg", 10000); the owner may be ``a/b``."""
    kind, owner, count = spec.split(":")
    return kind, owner, int(count)


def parse_fixture_arg(arg: str) -> tuple[str, str | None]:
    """``FILE`` or ``FILE=group/path`` (place the account as a nested group)."""
    path, sep, under = arg.partition("=")
    return path, (under if sep else None)


def create_app(
    fixtures: Iterable[str | Path | dict[str, Any]] = (),
    synthetic: Sequence[str] = (),
    *,
    latency_ms: float = 0,
    rate_limit: int = 5000,
    git_root: str | Path | None = None,
) -> FakeForge:
    """Build the fake forge.

    ``fixtures``: paths (optionally ``PATH=group/sub`` to nest the account as a GitLab
    subgroup) or parsed documents in the real-forges format. ``synthetic``: ``KIND:OWNER:N``
    specs. ``rate_limit``: requests per hour per forge bucket before GitHub answers 403 and
    GitLab 429 (raise it for benchmarks). ``git_root``: where Git repositories are built
    (a temporary directory by default).
    """
    world = World()
    app = FakeForge(world, latency_ms=latency_ms, rate_limit=rate_limit, git_root=git_root)
    for fixture in fixtures:
        if isinstance(fixture, dict):
            app.add_fixture(fixture)
        else:
            path, under = parse_fixture_arg(str(fixture))
            app.add_fixture(path, under)
    for spec in synthetic:
        app.add_synthetic(spec)
    return app
