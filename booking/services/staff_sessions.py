"""Staff sessions kept on the server, so that signing out really ends one.

Each sign-in is a `StaffSession` row; the browser's session cookie carries its random token
(the cookie is signed, not hidden from whoever holds it) and the row only the token's SHA-256.
A request is signed in while its row exists, is younger than STAFF_SESSION_MAX_HOURS and
belongs to an active account. Signing out deletes the row; a password change or reset, or
an admin switching the account off, deletes every row of the account.

Reading a session writes nothing: the staff pages are read-heavy, and Flask's signed cookie
already ends a session idle for longer than STAFF_IDLE_MINUTES. Rows too old to be used are
deleted at each sign-in, so they never pile up.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, cast

from sqlalchemy import CursorResult, bindparam, delete, select

from booking.database import execute, write_transaction
from booking.extensions import db
from booking.models import StaffSession, StaffUser, UTCDateTime
from booking.models.staff import Permissions
from booking.services.errors import NotFound

log = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def begin(user_id: int, *, now: datetime, max_age: timedelta) -> str:
    """Record a sign-in of the account and return its token, for the session cookie."""
    token = secrets.token_urlsafe(32)
    with write_transaction() as session:
        expired = delete(StaffSession).where(StaffSession.created_at < now - max_age)
        session.execute(expired)
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("There is no such staff account.")
        user.last_login_at = now
        record = StaffSession(token_hash=_digest(token), staff_user_id=user_id, created_at=now)
        session.add(record)
    log.info("staff session %s of account %s began", record.id, user_id)
    return token


@dataclass(frozen=True, slots=True)
class SignedIn(Permissions):
    """The account of a live session, as every staff request asks about it (Flask-Login's
    user): read with one statement on the fast path, not loaded as an ORM row."""

    id: int
    name: str
    role: str
    therapist_id: int | None

    is_authenticated: ClassVar[bool] = True
    is_active: ClassVar[bool] = True  # only an active account's session is live
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        return str(self.id)


_LIVE = (
    select(StaffUser.id, StaffUser.name, StaffUser.role, StaffUser.therapist_id)
    .join(StaffSession, StaffSession.staff_user_id == StaffUser.id)
    .where(
        StaffSession.token_hash == bindparam("token_hash"),
        StaffSession.created_at >= bindparam("since", type_=UTCDateTime()),
        StaffUser.id == bindparam("user_id"),
        StaffUser.active,
    )
)


def load(token: str, user_id: str, *, now: datetime, max_age: timedelta) -> SignedIn | None:
    """Return the account of this live session, or None if it ended, expired or never was."""
    if not user_id.isdigit() or len(user_id) > 9:
        return None
    params = {"token_hash": _digest(token), "since": now - max_age, "user_id": int(user_id)}
    row = execute(_LIVE, params).first()
    return SignedIn(*row) if row is not None else None


def end(token: str) -> None:
    """End the session with this token (signing out); one that already ended stays ended."""
    with write_transaction() as session:
        record_id = session.scalar(
            delete(StaffSession)
            .where(StaffSession.token_hash == _digest(token))
            .returning(StaffSession.id)
        )
    if record_id is not None:
        log.info("staff session %s ended: signed out", record_id)


def end_all(user_id: int) -> int:
    """End every session of the account, inside the caller's transaction; return how many."""
    # A DML statement's result is a CursorResult; Session.execute's types say only Result.
    ended = cast(
        CursorResult[Any],
        db.session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user_id)),
    )
    return ended.rowcount
