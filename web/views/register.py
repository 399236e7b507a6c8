"""Registering a project: a maintainer gives a repository URL, watches the crawl, gets
the new sheet. The crawl itself belongs to the crawlers' registration flow."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from registry.errors import AuthenticationError, PermissionDeniedError
from web.templating import current_user, render


async def _maintainer(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = await current_user(request)
    if user is None:
        raise AuthenticationError("sign in first")
    if "maintainer" not in user["memberships"].values() and user["role"] != "admin":
        raise PermissionDeniedError("only maintainers of a publisher can register projects")
    return user


@get("/register", name="register_form")
async def register_form(request: Request[Any, Any, Any]) -> Response[str]:
    """The registration form."""
    await _maintainer(request)
    return await render(request, "register.html", {"errors": [], "url": "", "available": False})


ROUTES = [register_form]
