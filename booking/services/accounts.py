"""Staff accounts: creation, sign-in, password changes and resets.

Passwords are hashed with scrypt (Werkzeug's default), each with its own salt; the tests set
PASSWORD_HASH_METHOD to cheap parameters (config.check refuses those elsewhere). Signing in
takes the same time whether or not the account exists, and says the same thing on failure,
so the login form cannot be used to find out who works at the clinic.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from email_validator import EmailNotValidError
from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from booking.database import write_transaction
from booking.extensions import db
from booking.models import AuditEvent, Role, StaffUser, Therapist
from booking.services import staff_sessions
from booking.services.errors import InvalidRequest, NotFound
from booking.services.validation import mail_address, name_problem

log = logging.getLogger(__name__)

MIN_PASSWORD = 12
MAX_PASSWORD = 256


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked when no account matches, so a wrong email costs as long as a wrong password.

    Made on the first sign-in, not at import: scrypt is slow on purpose, and every process
    (web, worker, each CLI command) would pay for it at start-up.
    """
    return generate_password_hash("not a real password, only for timing", method=method)


def normalize(email: str) -> str:
    try:
        return mail_address(email).lower()
    except EmailNotValidError:
        raise InvalidRequest({"email": "Enter an email address like name@example.com."}) from None


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest({"password": f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > MAX_PASSWORD:
        raise InvalidRequest({"password": f"Use at most {MAX_PASSWORD} characters."})


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    therapist_id: int | None = None,
    actor: str,
    now: datetime,
) -> StaffUser:
    """Create a staff account, or raise `InvalidRequest` naming the field at fault."""
    address = normalize(email)
    check_password_rules(password)
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidRequest({"name": "Enter a name of at most 120 characters."})
    if problem := name_problem(name):
        raise InvalidRequest({"name": problem})
    if (role == Role.THERAPIST) != (therapist_id is not None):
        raise InvalidRequest({"therapist": "A therapist account is linked to one therapist."})
    with write_transaction() as session:
        if therapist_id is not None and session.get(Therapist, therapist_id) is None:
            raise InvalidRequest({"therapist": "There is no such therapist."})
        if session.scalar(select(StaffUser.id).where(StaffUser.email == address)):
            raise InvalidRequest({"email": "An account with this email exists already."})
        if therapist_id is not None and session.scalar(
            select(StaffUser.id).where(StaffUser.therapist_id == therapist_id)
        ):
            raise InvalidRequest({"therapist": "This therapist has an account already."})
        user = StaffUser(
            email=address,
            name=name,
            password_hash=_hash(password),
            role=role.value,
            therapist_id=therapist_id,
            active=True,
            created_at=now,
        )
        session.add(user)
        session.flush()
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="account_created",
                entity="staff_user",
                entity_id=user.id,
                after={"role": user.role, "therapist_id": therapist_id},
            )
        )
    log.info("staff account %s created", user.id)
    return user


def authenticate(email: str, password: str) -> StaffUser | None:
    """Return the active account these credentials open, or None (the same way every time)."""
    try:
        address = normalize(email)
    except InvalidRequest:
        address = ""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == address))
    password = password[:MAX_PASSWORD]
    if user is None or not user.active:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user  # staff_sessions.begin records the sign-in


def change_password(user_id: int, current: str, new: str, *, now: datetime) -> StaffUser:
    """Change a password; every session of the account ends (the caller begins a new one)."""
    check_password_rules(new)
    with write_transaction() as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("No such account.")
        if not check_password_hash(user.password_hash, current[:MAX_PASSWORD]):
            raise InvalidRequest({"current": "That is not your current password."})
        ended = _set_password(user, new, actor=f"staff:{user.id}", action="password_changed",
                              now=now)  # fmt: skip
    log.info("password of staff account %s changed, %d sessions ended", user.id, ended)
    return user


def reset_password(user_id: int, new: str, *, actor: str, now: datetime) -> StaffUser:
    """Give someone who lost their password a new one (an admin does, or the CLI).

    Every session of the account is signed out, wherever it is. The old password is not
    asked for: the actor is trusted to have checked who is asking, in person.
    """
    check_password_rules(new)
    with write_transaction() as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("No such account.")
        ended = _set_password(user, new, actor=actor, action="password_reset", now=now)
    log.info("password of staff account %s reset by %s, %d sessions ended", user.id, actor, ended)
    return user


def find(email: str) -> StaffUser:
    """The account with this email, or `NotFound`."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == normalize(email)))
    if user is None:
        raise NotFound("There is no account with this email.")
    return user


def _set_password(user: StaffUser, new: str, *, actor: str, action: str, now: datetime) -> int:
    """Set the password and end every session of the account; return how many ended."""
    user.password_hash = _hash(new)
    db.session.add(
        AuditEvent(at=now, actor=actor, action=action, entity="staff_user", entity_id=user.id)
    )
    return staff_sessions.end_all(user.id)
