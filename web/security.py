"""Sessions, CSRF tokens and the security headers of the web site.

The session is a signed cookie (HMAC-SHA256 with the instance secret) holding a random
session id, the signed-in user id and an expiry; it is ``HttpOnly``, ``SameSite=Lax``
and ``Secure`` whenever the instance is served over HTTPS. Signing in replaces the
session id, so a session fixed before sign-in is worth nothing after it.

CSRF: every form carries a token derived from the session id (HMAC with the secret);
a POST to the web site whose token does not match is refused with 403 before its
handler runs. The JSON API is a separate router authenticated by bearer tokens and
is not concerned: a browser never sends a bearer token by itself.

Every web response carries a strict Content-Security-Policy (scripts and styles from
this origin only, no inline code, no plugins, no framing), ``nosniff``, a referrer
policy and ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from registry.settings import Settings

SESSION_COOKIE = "communs_session"
SESSION_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass
class Session:
    """What the session cookie says. ``changed`` asks for the cookie to be (re)sent."""

    sid: str
    user_id: int | None = None
    expires: int = 0
    changed: bool = False


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _secret(request: Request[Any, Any, Any]) -> bytes:
    cached = getattr(request.app.state, "_web_secret", None)
    if cached is None:
        cached = _settings(request).effective_secret_key().encode()
        request.app.state._web_secret = cached
    return cached  # type: ignore[no-any-return]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, b"session|" + payload.encode(), hashlib.sha256).digest())


def encode_session(secret: bytes, session: Session) -> str:
    payload = _b64(
        json.dumps({"s": session.sid, "u": session.user_id, "e": session.expires}).encode()
    )
    return f"{payload}.{_sign(secret, payload)}"


def decode_session(secret: bytes, cookie: str | None, now: float | None = None) -> Session | None:
    """The session in a cookie, or None when it is missing, forged or expired."""
    if not cookie or "." not in cookie:
        return None
    payload, _, signature = cookie.partition(".")
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(sid=str(data["s"]), user_id=data["u"], expires=int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires < (now or time.time()) or len(session.sid) < 16:
        return None
    return session


def _fresh(user_id: int | None = None) -> Session:
    return Session(
        sid=secrets.token_urlsafe(24),
        user_id=user_id,
        expires=int(time.time()) + SESSION_SECONDS,
        changed=True,
    )


def session(request: Request[Any, Any, Any]) -> Session:
    """This request's session; a new anonymous one when the cookie is absent or bad."""
    current = request.scope.get("state", {}).get("web_session")
    if current is None:
        current = decode_session(_secret(request), request.cookies.get(SESSION_COOKIE)) or _fresh()
        request.scope.setdefault("state", {})["web_session"] = current
    return current  # type: ignore[no-any-return]


def sign_in(request: Request[Any, Any, Any], user_id: int) -> None:
    """Start a new session (new id, new CSRF token) for ``user_id``."""
    request.scope.setdefault("state", {})["web_session"] = _fresh(user_id)


def sign_out(request: Request[Any, Any, Any]) -> None:
    request.scope.setdefault("state", {})["web_session"] = _fresh(None)


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The CSRF token that this session's forms must send back."""
    sid = session(request).sid
    return _b64(hmac.new(_secret(request), b"csrf|" + sid.encode(), hashlib.sha256).digest())


async def csrf_is_valid(request: Request[Any, Any, Any]) -> bool:
    """True when the form field or the ``X-CSRF-Token`` header carries this session's token."""
    if request.cookies.get(SESSION_COOKIE) is None:
        return False
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    return bool(sent) and hmac.compare_digest(str(sent), csrf_token(request))


def finish(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    """Attach the session cookie when it changed, and the security headers."""
    current = request.scope.get("state", {}).get("web_session")
    if current is not None and current.changed:
        response.set_cookie(
            SESSION_COOKIE,
            encode_session(_secret(request), current),
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            secure=_settings(request).instance_url.startswith("https://"),
            samesite="lax",
        )
    response.headers.update(SECURITY_HEADERS)
    return response
