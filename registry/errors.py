"""The domain error hierarchy.

Every error that Communs raises on purpose is a :class:`CommunsError`. The API maps
them once to RFC 9457 problem details (``api/errors.py``) and the command line maps
them to a message and an exit code, so a caller never has to parse text.
"""

from __future__ import annotations


class CommunsError(Exception):
    """Base class of every deliberate Communs error.

    ``status`` is the HTTP status the API answers with; ``title`` a short, stable
    summary; the message (``str(error)``) the detail a person reads.
    """

    status: int = 400
    title: str = "Bad request"

    def __init__(self, message: str, *, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: field-level details (``{"field": ..., "message": ...}``) when there are any
        self.errors = errors or []


class ValidationError(CommunsError):
    """Input that breaks a rule (a field too long, an unknown enumeration value...)."""

    status = 422
    title = "Invalid input"


class NotFoundError(CommunsError):
    status = 404
    title = "Not found"


class ConflictError(CommunsError):
    """The write would break a uniqueness or integrity rule."""

    status = 409
    title = "Conflict"


class PermissionDeniedError(CommunsError):
    status = 403
    title = "Forbidden"


class AuthenticationError(CommunsError):
    status = 401
    title = "Authentication required"


class InvalidVersionError(ValidationError):
    """A tag or string that is not a version; the message says why."""


class LicenseError(ValidationError):
    """A declared license that cannot be normalised to an SPDX expression."""


class PublicCodeError(ValidationError):
    """A publiccode.yml that cannot even be parsed (too big, not YAML, hostile)."""


class URLError(ValidationError):
    """A repository URL that cannot be made canonical, or that is refused."""


class ImportFileError(ValidationError):
    """A publisher list (or other import file) that is malformed; names file and line."""


class ForgeError(CommunsError):
    """A forge answered wrongly (5xx, garbage, lies) or not at all."""

    status = 502
    title = "Forge error"
