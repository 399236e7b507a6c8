"""The one settings object.

Every setting is read here, from ``COMMUNS_*`` environment variables, once. Nothing
else in Communs reads ``os.environ``. With no variable set at all, Communs runs on an
SQLite file in its data directory and executes tasks in-process: that is the embedded
default of the README's quick start.

Call :func:`get_settings` for the process-wide object; build one explicitly with
:meth:`Settings.from_env` (tests pass a plain dict) and hand it to the app factory.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from registry.errors import ValidationError

PREFIX = "COMMUNS_"
TEST_PREFIX = "COMMUNS_TEST_"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValidationError(f"{PREFIX}{name}: expected true or false, got {value!r}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{PREFIX}{name}: expected a whole number, got {value!r}") from None


@dataclass(frozen=True)
class Settings:
    """All of Communs' configuration. Field ``x`` is read from ``COMMUNS_X``.

    The documentation of each field is the operator's documentation too: a test checks
    that every field is listed in ``docs/configuration.md``.
    """

    #: Where the SQLite database, the instance key and crawl scratch space live.
    data_dir: Path = Path("communs-data")
    #: ``sqlite:///path`` or ``postgresql://user@host:port/db``; empty means an SQLite
    #: file ``communs.sqlite3`` in the data directory.
    database_url: str = ""
    #: Celery broker (``redis://...``, ``amqp://...``); empty runs tasks in-process.
    broker_url: str = ""
    #: Celery result backend; empty uses the broker URL when it is Redis, else none.
    result_backend: str = ""
    #: Secret for sessions and CSRF tokens; empty creates one, kept in the data directory.
    secret_key: str = ""
    #: Host names the server answers for (``*`` for any).
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    #: Human name of this instance, shown on pages and in federation.
    instance_name: str = "Communs"
    #: Public URL of this instance; its identity in federation and in user agents.
    instance_url: str = "http://127.0.0.1:8000"
    #: GitHub API tokens, comma-separated; rotated when one's rate limit is exhausted.
    github_tokens: tuple[str, ...] = ()
    #: Tokens for other forges as ``host=token`` pairs, comma-separated.
    forge_tokens: tuple[str, ...] = ()
    #: Let crawls reach loopback addresses (tests and the fake forge only).
    allow_loopback: bool = False
    #: Seconds before an HTTP request to a forge is abandoned.
    http_timeout: int = 20
    #: Hours between two crawls of a forge account, unless the account says otherwise.
    crawl_interval_hours: int = 24
    #: Entries a peer relays from an origin this instance does not trust: ``refuse``
    #: them, or keep them marked ``unverified``.
    federation_relay_policy: str = "refuse"
    #: Log level: DEBUG, INFO, WARNING or ERROR.
    log_level: str = "INFO"
    #: Extra values not known to this version; kept only so that they can be reported.
    unknown: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: the process environment).

        Unknown ``COMMUNS_*`` names are kept in ``unknown`` so the command line can warn
        about a typo instead of silently ignoring it. ``COMMUNS_TEST_*`` names belong to
        the test suite (what it must find present), not to the registry, and are not
        reported.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        known = {f.name for f in fields(cls) if f.name != "unknown"}
        for f in fields(cls):
            if f.name == "unknown":
                continue
            raw = env.get(PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.type == "Path":
                values[f.name] = Path(raw)
            elif f.type == "bool":
                values[f.name] = _bool(f.name.upper(), raw)
            elif f.type == "int":
                values[f.name] = _int(f.name.upper(), raw)
            elif f.type.startswith("tuple"):
                values[f.name] = _split(raw)
            else:
                values[f.name] = raw
        values["unknown"] = tuple(
            sorted(
                name
                for name in env
                if name.startswith(PREFIX)
                and not name.startswith(TEST_PREFIX)
                and name[len(PREFIX) :].lower() not in known
            )
        )
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def names(cls) -> list[str]:
        """Every environment variable Communs reads."""
        return [PREFIX + f.name.upper() for f in fields(cls) if f.name != "unknown"]

    # Derived values -----------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'communs.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite:")

    @property
    def tasks_in_process(self) -> bool:
        """True when no broker is configured: work runs inside the serving process."""
        return not self.broker_url

    @property
    def effective_result_backend(self) -> str | None:
        if self.result_backend:
            return self.result_backend
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def effective_secret_key(self) -> str:
        """The configured secret, or one created once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def token_for_host(self, host: str) -> str | None:
        """The configured token for a forge host (``host=token`` pairs), if any."""
        for pair in self.forge_tokens:
            name, _, token = pair.partition("=")
            if name.strip().lower() == host.lower() and token:
                return token.strip()
        return None

    @property
    def user_agent(self) -> str:
        return f"Communs/0.1 (+{self.instance_url})"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
