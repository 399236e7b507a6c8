"""The web site: server-rendered pages over the same catalogue services as the API.

One router, mounted by :func:`api.app.create_app`. It owns its own concerns so the
JSON API is untouched: CSRF checks on every unsafe request (``before_request``),
security headers on every response including static files (``after_request``), and
HTML error pages for the domain errors its handlers raise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router

from registry.errors import AuthenticationError, CommunsError
from web import security
from web.i18n import N_
from web.templating import TEMPLATES, redirect, render, render_now
from web.views import account, catalogue, dashboard, register, reuse

__all__ = ["STATIC", "TEMPLATES", "web_router"]

STATIC = Path(__file__).parent / "static"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def check_csrf(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Refuse an unsafe request whose CSRF token is missing or wrong (403 page)."""
    if request.method in UNSAFE_METHODS and not await security.csrf_is_valid(request):
        return await render(
            request,
            "error.html",
            {
                "status": 403,
                "message": N_(
                    "This form has expired or did not come from this site. "
                    "Please go back, reload the page and try again."
                ),
            },
            status=403,
        )
    return None


async def add_security_headers(response: Response[Any]) -> Response[Any]:
    for name, value in security.SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def domain_error_page(request: Request[Any, Any, Any], exc: CommunsError) -> Response[Any]:
    if isinstance(exc, AuthenticationError):
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return redirect(request, f"/signin?next={quote(here, safe='/')}")
    return render_now(
        request, "error.html", {"status": exc.status, "message": exc.message}, status=exc.status
    )


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return render_now(
        request,
        "error.html",
        {"status": exc.status_code, "message": str(exc.detail)},
        status=exc.status_code,
    )


web_router = Router(
    path="/",
    route_handlers=[
        *catalogue.ROUTES,
        *account.ROUTES,
        *reuse.ROUTES,
        *register.ROUTES,
        *dashboard.ROUTES,
        create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
    ],
    before_request=check_csrf,
    after_request=add_security_headers,
    exception_handlers={
        CommunsError: domain_error_page,  # type: ignore[dict-item]
        HTTPException: http_error_page,  # type: ignore[dict-item]
    },
    include_in_schema=False,
)
