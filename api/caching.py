"""Conditional reads: every ``GET`` answer of the API carries an ``ETag`` (a hash of
its body) and answers ``304 Not Modified`` when the client's ``If-None-Match`` matches,
or when its ``If-Modified-Since`` is not older than the ``Last-Modified`` a handler set.

Streamed answers (several body messages, such as the JSON Lines dump) pass unchanged.
"""

from __future__ import annotations

import email.utils
import hashlib
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _not_modified_since(since: bytes, modified: bytes) -> bool:
    try:
        a = email.utils.parsedate_to_datetime(since.decode("latin-1"))
        b = email.utils.parsedate_to_datetime(modified.decode("latin-1"))
    except (TypeError, ValueError):
        return False
    return b <= a


def conditional_get_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/api/")
        ):
            await app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        start: dict[str, Any] | None = None
        streaming = False

        async def buffered(message: Message) -> None:
            nonlocal start, streaming
            if streaming:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = dict(message)
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            if message.get("more_body", False):
                streaming = True
                await send(start)
                await send(message)
                return
            body: bytes = message.get("body", b"")
            headers = list(start.get("headers", []))
            if start["status"] != 200:
                await send(start)
                await send(message)
                return
            etag = _header(headers, b"etag")
            if etag is None:
                etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
                headers.append((b"etag", etag))
            if _header(headers, b"cache-control") is None:
                headers.append((b"cache-control", b"no-cache"))
            match = request_headers.get(b"if-none-match")
            modified = _header(headers, b"last-modified")
            since = request_headers.get(b"if-modified-since")
            fresh = False
            if match is not None:
                tags = {t.strip().removeprefix(b"W/") for t in match.split(b",")}
                fresh = b"*" in tags or etag.removeprefix(b"W/") in tags
            elif since is not None and modified is not None:
                fresh = _not_modified_since(since, modified)
            if fresh:
                keep = {b"etag", b"last-modified", b"cache-control", b"vary"}
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [(k, v) for k, v in headers if k.lower() in keep],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            start["headers"] = headers
            await send(start)
            await send(message)

        await app(scope, receive, buffered)

    return middleware
