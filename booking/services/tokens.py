"""Secrets and identifiers handed to patients: manage tokens, references, calendar UIDs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

# No 0/O, 1/I/L, 5/S, 2/Z: a reference is read out over the phone.
REFERENCE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"


def manage_token(secret: str, calendar_uid: str) -> str:
    """Return the appointment's manage token: derived, so every later email can carry it.

    Only its hash is stored, so a copy of the database alone opens nothing; with the app
    secret, the clinic's own worker can put the link into a reminder or a reschedule notice.
    """
    return _encode(_pad(secret, f"manage:{calendar_uid}"))


def access_token(secret: str, nonce: str) -> str:
    """Return the token of a one-time access link (`models.AccessLink`): derived, hashed."""
    return _encode(_pad(secret, f"access:{nonce}"))


def feed_token(secret: str, therapist_id: int, feed_secret: str) -> str:
    """Return the token in a therapist's calendar-feed URL; a new `feed_secret` kills the old."""
    return _encode(_pad(secret, f"feed:{therapist_id}:{feed_secret}"))


def new_secret() -> str:
    return secrets.token_hex(16)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hash_token(token: str) -> str:
    """Return what the database stores for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


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
