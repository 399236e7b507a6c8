"""This instance's identity: an Ed25519 key pair and the signed form of feed entries.

The private key is created on first use and kept in the data directory
(``federation_ed25519.pem``, mode 0600); it never leaves it. Public keys travel as
``ed25519:<base64url of the 32 raw bytes>``; a fingerprint is the SHA-256 of those raw
bytes, shown as 16 groups of 4 hex digits so that two admins can compare it aloud.

A signed entry (an *envelope*) is ``{"payload": {...}, "signature": "<base64url>"}``
where the signature is Ed25519 over :func:`canonical_json` of the payload: keys
sorted, no insignificant white space, UTF-8, no NaN. Whoever holds the payload and the
origin's public key can check it, whichever instance relayed it.

A feed page is signed too, over the digests of its envelopes (see
:mod:`registry.federation.feed`): :meth:`Identity.sign_bytes` and
:meth:`Verifier.verify_bytes` sign and check such messages, which start with a prefix
no canonical JSON object can start with, so neither kind of signature can pass for
the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from registry.errors import ValidationError
from registry.settings import Settings

KEY_FILE = "federation_ed25519.pem"
KEY_PREFIX = "ed25519:"


class InvalidKeyError(ValidationError):
    """A public key that is not an ``ed25519:`` key of 32 bytes."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_json(value: Any) -> bytes:
    """The one byte form that is signed: sorted keys, compact, UTF-8, finite numbers."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def envelope_bytes(payload_bytes: bytes, signature: str) -> bytes:
    """:func:`canonical_json` of ``{"payload": P, "signature": S}`` from P's canonical
    bytes (keys sorted: ``payload`` comes first; a base64url signature needs no escape)."""
    return b'{"payload":' + payload_bytes + b',"signature":"' + signature.encode("ascii") + b'"}'


def encode_public_key(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + _b64(raw)


def decode_public_key(text: str) -> Ed25519PublicKey:
    """Parse ``ed25519:<base64url>``; raises :class:`InvalidKeyError` otherwise."""
    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        raise InvalidKeyError(f"not an Ed25519 public key: {text!r:.80}")
    try:
        raw = _unb64(text[len(KEY_PREFIX) :])
        if len(raw) != 32:
            raise ValueError("wrong length")
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise InvalidKeyError(f"not an Ed25519 public key: {text!r:.80} ({error})") from None


def fingerprint(public_key: str) -> str:
    """SHA-256 of the raw key, as ``abcd:ef01:...`` (16 groups of 4 hex digits)."""
    decode_public_key(public_key)
    digest = hashlib.sha256(_unb64(public_key[len(KEY_PREFIX) :])).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, 64, 4))


@dataclass(frozen=True)
class Identity:
    """The key pair of this instance and the URL it is known by."""

    url: str
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return encode_public_key(self.private_key.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The envelope of ``payload``: the payload itself and its detached signature."""
        return self.sign_with_bytes(payload)[0]

    def sign_with_bytes(self, payload: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The envelope of ``payload`` and its :func:`canonical_json` bytes, built from the
        payload's canonical bytes without serialising it a second time."""
        payload_bytes = canonical_json(payload)
        signature = _b64(self.private_key.sign(payload_bytes))
        return {"payload": payload, "signature": signature}, envelope_bytes(
            payload_bytes, signature
        )

    def sign_bytes(self, message: bytes) -> str:
        """A detached signature (base64url) of ``message``."""
        return _b64(self.private_key.sign(message))


def load_identity(settings: Settings) -> Identity:
    """This instance's identity; the key pair is created on first call and kept.

    Creation is atomic (written to a temporary file, then linked into place), so two
    processes starting together end up with the same key.
    """
    directory = settings.ensure_data_dir()
    path = directory / KEY_FILE
    if not path.exists():
        _create_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKeyError(f"{path} does not hold an Ed25519 private key")
    return Identity(
        url=normalise_instance_url(settings.instance_url),
        name=settings.instance_name,
        private_key=key,
    )


def _create_key(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def normalise_instance_url(url: str) -> str:
    """An instance URL as it is compared and stored: no trailing slash."""
    return url.strip().rstrip("/")


class Verifier:
    """Checks envelopes against known public keys; caches the parsed keys."""

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}

    def verify(self, envelope: Any, public_key: str) -> bool:
        """True when ``envelope`` is well formed and signed by ``public_key``."""
        if not isinstance(envelope, dict) or set(envelope) != {"payload", "signature"}:
            return False
        payload, signature = envelope["payload"], envelope["signature"]
        if not isinstance(payload, dict) or not isinstance(signature, str):
            return False
        try:
            return self.verify_bytes(canonical_json(payload), signature, public_key)
        except ValueError:  # NaN and friends have no canonical form
            return False

    def verify_bytes(self, message: bytes, signature: Any, public_key: str) -> bool:
        """True when ``signature`` (base64url) is ``public_key``'s signature of ``message``."""
        if not isinstance(signature, str):
            return False
        key = self._keys.get(public_key)
        if key is None:
            key = self._keys[public_key] = decode_public_key(public_key)
        try:
            key.verify(_unb64(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True
