"""One error format: RFC 9457 problem details (``application/problem+json``).

Domain errors (:mod:`registry.errors`), Litestar's HTTP errors and request validation
errors all leave the API in this shape::

    {"type": "about:blank", "title": "Not found", "status": 404,
     "detail": "project 42 does not exist", "instance": "/api/v1/projects/42",
     "errors": [{"field": "name", "message": "..."}]}
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from registry.errors import CommunsError

log = logging.getLogger("communs.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_errors(extra: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict):
                out.append(
                    {
                        "field": str(item.get("key") or item.get("source") or ""),
                        "message": str(item.get("message", "")),
                    }
                )
    return out


def communs_error_handler(request: Request[Any, Any, Any], exc: CommunsError) -> Response[Any]:
    return problem(exc.status, exc.title, exc.message, instance=request.url.path, errors=exc.errors)


#: Paths that belong to programs: their errors are always problem details.
MACHINE_PATHS = ("/api/", "/federation/", "/.well-known/", "/schema")


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A person's browser asking for a page outside the API (an unknown web path)."""
    path = request.url.path
    accept = request.headers.get("accept", "")
    return not path.startswith(MACHINE_PATHS) and "text/html" in accept


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if wants_html(request):
        from web.routes import http_error_page

        return http_error_page(request, exc)
    status = exc.status_code
    errors = _field_errors(exc.extra) if isinstance(exc, ValidationException) else []
    title = {
        400: "Bad request",
        401: "Authentication required",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        413: "Request too large",
        422: "Invalid input",
        429: "Too many requests",
    }.get(status, "Error")
    return problem(
        status,
        title,
        str(exc.detail),
        instance=request.url.path,
        errors=errors,
        headers=exc.headers,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500, "Internal error", "the server failed; the error is logged", instance=request.url.path
    )


EXCEPTION_HANDLERS = {
    CommunsError: communs_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, the one error format of the API."""

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[FieldError] = []


_ERROR_STATUSES = {
    400: "Malformed request or input outside its limits",
    401: "Missing, invalid, expired or revoked API token",
    403: "Signed in, but not allowed",
    404: "No such entry (or not visible to this caller)",
    409: "Conflicts with the current state",
    422: "Input that breaks a rule",
    429: "Too many requests; see Retry-After",
}


def document_problems(*controllers: type[Any]) -> None:
    """Document the problem details answers on every handler of ``controllers``, so the
    OpenAPI schema says what error answers look like (``application/problem+json``)."""
    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.datastructures import ResponseSpec

    responses = {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=description,
            generate_examples=False,
        )
        for status, description in _ERROR_STATUSES.items()
    }
    for controller in controllers:
        for value in vars(controller).values():
            if isinstance(value, HTTPRouteHandler):
                value.responses = {**responses, **(value.responses or {})}
