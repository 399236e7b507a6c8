"""People: users, memberships of publishers, API tokens, passwords.

Passwords are stored as scrypt hashes; API tokens are shown once and stored as their
SHA-256 (a token is 256 random bits, so a fast hash is enough and lookups stay
indexed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from registry import db
from registry.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from registry.tables import MEMBER_ROLES, USER_ROLES, ApiToken, Membership, Publisher, User

TOKEN_PREFIX = "cmn_"
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,149}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValidationError("a password needs at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str
    prefix: str


async def create_user(
    username: str,
    *,
    password: str | None = None,
    email: str = "",
    display_name: str = "",
    role: str = "",
) -> int:
    if not _USERNAME.match(username):
        raise ValidationError(
            f"username {username!r}: 2 to 150 letters, digits or . _ @ -, starting with a "
            "letter or digit"
        )
    if role not in USER_ROLES:
        raise ValidationError(f"role {role!r}: expected one of {[r for r in USER_ROLES if r]}")
    if await User.exists().where(User.username == username):
        raise ConflictError(f"user {username!r} already exists")
    rows = await User.insert(
        User(
            username=username,
            email=email,
            display_name=display_name or username,
            password_hash=hash_password(password) if password else "",
            role=role,
        )
    ).returning(User.id)
    return int(rows[0]["id"])


async def user_by_username(username: str) -> dict[str, Any]:
    row = await User.select().where(User.username == username).first()
    if row is None:
        raise NotFoundError(f"no user named {username!r}")
    return row


async def authenticate(username: str, password: str) -> dict[str, Any]:
    row = await User.select().where(User.username == username).first()
    if row is None or not row["active"] or not check_password(password, row["password_hash"]):
        raise AuthenticationError("unknown user name or wrong password")
    return row


async def add_membership(user_id: int, publisher_id: int, role: str = "member") -> None:
    if role not in MEMBER_ROLES:
        raise ValidationError(f"membership role {role!r}: expected one of {list(MEMBER_ROLES)}")
    if not await Publisher.exists().where(Publisher.id == publisher_id):
        raise NotFoundError(f"publisher {publisher_id} does not exist")
    async with db.transaction():
        existing = (
            await Membership.select(Membership.id)
            .where((Membership.user == user_id) & (Membership.publisher == publisher_id))
            .first()
        )
        if existing:
            await Membership.update({Membership.role: role}).where(Membership.id == existing["id"])
        else:
            await Membership.insert(Membership(user=user_id, publisher=publisher_id, role=role))


async def memberships(user_id: int) -> dict[int, str]:
    """publisher id -> role, for one user."""
    rows = await Membership.select(Membership.publisher, Membership.role).where(
        Membership.user == user_id
    )
    return {int(r["publisher"]): r["role"] for r in rows}


async def create_token(user_id: int, name: str = "", *, days: int | None = None) -> NewToken:
    """A new API token; the clear token is in the result and nowhere else."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days) if days else None
    rows = await ApiToken.insert(
        ApiToken(
            user=user_id,
            name=name,
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_token(token),
            expires_at=expires,
        )
    ).returning(ApiToken.id)
    return NewToken(id=int(rows[0]["id"]), token=token, prefix=token[: len(TOKEN_PREFIX) + 6])


async def user_for_token(token: str) -> dict[str, Any]:
    """The active user a bearer token belongs to; :class:`AuthenticationError` otherwise."""
    row = (
        await ApiToken.select(ApiToken.id, ApiToken.user, ApiToken.expires_at, ApiToken.revoked_at)
        .where(ApiToken.token_hash == hash_token(token))
        .first()
    )
    now = dt.datetime.now(dt.UTC)
    if row is None or row["revoked_at"] is not None:
        raise AuthenticationError("invalid or revoked API token")
    if row["expires_at"] is not None and row["expires_at"] < now:
        raise AuthenticationError("expired API token")
    user = await User.select().where(User.id == row["user"]).first()
    if user is None or not user["active"]:
        raise AuthenticationError("the token's user is disabled")
    await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    return user


async def revoke_token(token_id: int, user_id: int) -> None:
    updated = (
        await ApiToken.update({ApiToken.revoked_at: dt.datetime.now(dt.UTC)})
        .where((ApiToken.id == token_id) & (ApiToken.user == user_id))
        .returning(ApiToken.id)
    )
    if not updated:
        raise NotFoundError(f"no token {token_id} for this user")
