"""Secrets and identifiers handed to patients: manage tokens, references, calendar UIDs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

# No 0/O, 1/I/L, 5/S, 2/Z: a reference is read out over the phone.
REFERENCE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"
TOKEN_BYTES = 32


def new_token() -> str:
    """Return a fresh manage token: 256 random bits, URL-safe."""
    return _encode(secrets.token_bytes(TOKEN_BYTES))


def hash_token(token: str) -> str:
    """Return what the database stores for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def seal(token: str, secret: str, context: str) -> str:
    """Encrypt a token under the app secret, bound to `context` (one-time pad from HMAC)."""
    return bytes(a ^ b for a, b in zip(_decode(token), _pad(secret, context), strict=True)).hex()


def unseal(sealed: str, secret: str, context: str) -> str:
    """Reverse `seal`."""
    return _encode(
        bytes(a ^ b for a, b in zip(bytes.fromhex(sealed), _pad(secret, context), strict=True))
    )


def new_reference() -> str:
    """Return a short reference such as `K7MA-4QXD` to read out on the phone."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def new_calendar_uid(domain: str) -> str:
    """Return a globally unique iCalendar UID for a new appointment."""
    return f"{uuid.uuid4()}@{domain}"


def _pad(secret: str, context: str) -> bytes:
    return hmac.new(secret.encode(), context.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
