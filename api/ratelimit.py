"""Rate limits on writes and on full-text searches, per client address.

Reads of sheets and lists without a query are not limited: they are cheap and cached
by ETag. Over the limit, the API answers 429 (problem details) with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig

#: requests per client per unit for writes and searches
WRITE_AND_SEARCH_LIMIT: tuple[str, int] = ("minute", 120)


def throttled(request: Request[Any, Any, Any]) -> bool:
    """Writes to the API, and project searches with a query, count against the limit."""
    path = request.url.path
    if not path.startswith("/api/"):
        return False
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    return path.rstrip("/") == "/api/v1/projects" and bool(request.query_params.get("q"))


def rate_limit_config(limit: tuple[str, int]) -> RateLimitConfig:
    unit: Literal["second", "minute", "hour", "day"] = limit[0]  # type: ignore[assignment]
    return RateLimitConfig(
        rate_limit=(unit, limit[1]),
        check_throttle_handler=throttled,
        set_rate_limit_headers=True,
    )
