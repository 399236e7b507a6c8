"""Refuse requests whose ``Host`` is not one this instance answers for.

Litestar's own middleware compares the whole header, port included, so
``127.0.0.1:8000`` would not match ``127.0.0.1``; this one compares the host name
alone (IPv6 literals in brackets too) and answers in the one error format.
"""

from __future__ import annotations

import json

from litestar.types import ASGIApp, Receive, Scope, Send


def host_name(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts_middleware(allowed: tuple[str, ...]):  # type: ignore[no-untyped-def]
    exact = {h.lower() for h in allowed if not h.startswith("*.")}
    suffixes = tuple(h[1:].lower() for h in allowed if h.startswith("*."))
    any_host = "*" in exact

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if any_host or scope["type"] not in ("http", "websocket"):
                await app(scope, receive, send)
                return
            raw = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host_name(raw)
            if name in exact or (suffixes and name.endswith(suffixes)):
                await app(scope, receive, send)
                return
            body = json.dumps(
                {
                    "type": "about:blank",
                    "title": "Bad request",
                    "status": 400,
                    "detail": f"host {name!r} is not served here (COMMUNS_ALLOWED_HOSTS)",
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return guarded

    return middleware
