"""Signing in and out, API tokens, and the language switch."""

from __future__ import annotations

import contextlib
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from registry.errors import AuthenticationError, NotFoundError, ValidationError
from registry.services import accounts
from registry.tables import ApiToken
from web import i18n, security
from web.i18n import N_
from web.templating import current_user, redirect, render, request_language, safe_next
from web.throttle import SignInThrottle


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@get("/signin", name="signin")
async def signin_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The sign-in form; ``next`` is where to go afterwards (a local path only)."""
    return await render(
        request, "signin.html", {"next": safe_next(request.query_params.get("next")), "error": ""}
    )


def signin_throttle(request: Request[Any, Any, Any]) -> SignInThrottle:
    """The app's count of failed sign-ins (made at first use; tests may set their own)."""
    state = request.app.state
    throttle = state.get("signin_throttle")
    if throttle is None:
        throttle = state["signin_throttle"] = SignInThrottle()
    return throttle  # type: ignore[no-any-return]


@post("/signin", name="signin_post", status_code=303)
async def signin(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check the password, unless this account or this address failed too often lately:
    then 429 with ``Retry-After`` and the password is not checked at all."""
    form = await _form(request)
    target = safe_next(form.get("next"))
    username = form.get("username", "")[:150]
    context = {"next": target, "username": username}
    throttle = signin_throttle(request)
    attempt = throttle.attempt(username, request.client.host if request.client else "")
    if isinstance(attempt, int):
        minutes = -(-attempt // 60)
        i18n.use_language(request_language(request))
        response = await render(
            request,
            "signin.html",
            {
                **context,
                "error": i18n.ngettext(
                    "Too many failed sign-in attempts for this account or from your "
                    "network. For your security, please wait %(num)s minute before "
                    "trying again.",
                    "Too many failed sign-in attempts for this account or from your "
                    "network. For your security, please wait %(num)s minutes before "
                    "trying again.",
                    minutes,
                )
                % {"num": i18n.format_number(minutes)},
            },
            status=429,
        )
        response.headers["Retry-After"] = str(attempt)
        return response
    try:
        user = await accounts.authenticate(username, form.get("password", ""))
    except AuthenticationError:
        return await render(
            request,
            "signin.html",
            {**context, "error": N_("Unknown user name or wrong password.")},
            status=400,
        )
    throttle.succeeded(attempt)
    security.sign_in(request, int(user["id"]))
    return redirect(request, target)


@post("/signout", name="signout", status_code=303)
async def signout(request: Request[Any, Any, Any]) -> Response[Any]:
    security.sign_out(request)
    return redirect(request, "/")


async def _require_user(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    return user


async def _tokens_page(
    request: Request[Any, Any, Any], new_token: str = "", error: str = "", status: int = 200
) -> Response[str]:
    user = await _require_user(request)
    tokens = (
        await ApiToken.select(
            ApiToken.id,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.expires_at,
            ApiToken.revoked_at,
        )
        .where(ApiToken.user == user["id"])
        .order_by(ApiToken.id, ascending=False)
    )
    return await render(
        request,
        "tokens.html",
        {"tokens": tokens, "new_token": new_token, "error": error},
        status=status,
    )


@get("/account/tokens", name="tokens")
async def tokens_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The signed-in user's API tokens; a new token is shown once, right after creation."""
    return await _tokens_page(request)


@post("/account/tokens", name="tokens_create", status_code=200)
async def tokens_create(request: Request[Any, Any, Any]) -> Response[str]:
    user = await _require_user(request)
    form = await _form(request)
    name = form.get("name", "").strip()[:200]
    days_raw = form.get("days", "").strip()
    try:
        days = int(days_raw) if days_raw else None
        if days is not None and not 1 <= days <= 3650:
            raise ValueError
    except ValueError:
        return await _tokens_page(
            request,
            error=N_("The validity must be a number of days between 1 and 3650."),
            status=400,
        )
    created = await accounts.create_token(int(user["id"]), name, days=days)
    return await _tokens_page(request, new_token=created.token)


@post("/account/tokens/{token_id:int}/revoke", name="tokens_revoke", status_code=303)
async def tokens_revoke(request: Request[Any, Any, Any], token_id: FromPath[int]) -> Response[Any]:
    user = await _require_user(request)
    with contextlib.suppress(NotFoundError):
        await accounts.revoke_token(token_id, int(user["id"]))
    return redirect(request, "/account/tokens")


@get("/language/{code:str}", name="language")
async def language(request: Request[Any, Any, Any], code: FromPath[str]) -> Response[Any]:
    """Remember the visitor's language and go back to the page they were on."""
    if code not in i18n.LANGUAGES:
        raise ValidationError(f"unknown language {code!r}")
    response = redirect(request, safe_next(request.query_params.get("next")))
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=365 * 86400,
        path="/",
        samesite="lax",
        httponly=True,
        secure=request.app.state.settings.instance_url.startswith("https://"),
    )
    return response


ROUTES = [signin_page, signin, signout, tokens_page, tokens_create, tokens_revoke, language]
