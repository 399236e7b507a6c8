"""Who is calling: bearer API tokens, site roles and publisher memberships.

The API is authenticated by ``Authorization: Bearer <token>`` only (a browser never
sends one by itself, so the API needs no CSRF protection). Anonymous callers read
everything public. Handlers take the ``principal`` dependency (``None`` when anonymous)
and ask it questions (:meth:`Principal.can_act_for`...) or call :func:`require_user`.

A request with a bad token is refused (401) even on public reads: a caller who believes
they are signed in must learn that they are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.di import Provide

from registry.errors import AuthenticationError, PermissionDeniedError
from registry.services import accounts

ADMIN = "admin"
COMMUNITY_MANAGER = "community_manager"


@dataclass(frozen=True)
class Principal:
    """A signed-in user: site ``role`` and ``memberships`` (publisher id -> role)."""

    user_id: int
    username: str
    role: str = ""
    memberships: dict[int, str] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_staff(self) -> bool:
        """Admins and community managers: they read statistics and crawl runs."""
        return self.role in (ADMIN, COMMUNITY_MANAGER)

    def can_act_for(self, publisher_id: int) -> bool:
        """Members (any role) of the publisher, and admins, may declare reuse for it."""
        return self.is_admin or publisher_id in self.memberships

    def can_maintain(self, publisher_id: int) -> bool:
        """Maintainers of the publisher, and admins, may register repositories for it."""
        return self.is_admin or self.memberships.get(publisher_id) == "maintainer"

    @property
    def actor(self) -> str:
        """How the change log names this caller."""
        return f"user:{self.username}"


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("use 'Authorization: Bearer <API token>'")
    return token.strip()


async def current_user(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller, or ``None`` when anonymous; 401 on a bad, expired or revoked token.

    Cached on the request, so several dependencies may ask.
    """
    state = request.scope.setdefault("state", {})
    if "api_principal" in state:
        return state["api_principal"]  # type: ignore[no-any-return]
    token = bearer_token(request)
    principal = None
    if token is not None:
        if len(token) > 200:
            raise AuthenticationError("invalid or revoked API token")
        user = await accounts.user_for_token(token)
        principal = Principal(
            user_id=int(user["id"]),
            username=user["username"],
            role=user["role"] or "",
            memberships=await accounts.memberships(int(user["id"])),
        )
    state["api_principal"] = principal
    return principal


def require_user(principal: Principal | None) -> Principal:
    """The principal, or :class:`AuthenticationError` (401) for anonymous callers."""
    if principal is None:
        raise AuthenticationError("this action needs an API token (Authorization: Bearer ...)")
    return principal


def require_staff(principal: Principal | None) -> Principal:
    """Admins and community managers; 401 when anonymous, 403 otherwise."""
    user = require_user(principal)
    if not user.is_staff:
        raise PermissionDeniedError("reserved to administrators and community managers")
    return user


def require_admin(principal: Principal | None) -> Principal:
    user = require_user(principal)
    if not user.is_admin:
        raise PermissionDeniedError("reserved to administrators")
    return user


DEPENDENCIES = {"principal": Provide(current_user)}


async def authenticate_request(request: Request[Any, Any, Any]) -> None:
    """``before_request`` hook of the API controllers: a bad token is a 401 everywhere."""
    await current_user(request)
