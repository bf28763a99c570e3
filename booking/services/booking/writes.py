"""The booking's writes: statements built once at import, and what a refusal of one means.

A booking's rows go in as Core statements on the transaction's connection
(`database.execute`): nothing is added to the session, whose unit of work cost several times
the INSERTs themselves (docs/benchmarks.md, 7).
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from booking.database import execute, violated
from booking.extensions import db
from booking.models import (
    PATIENT_OVERLAP,
    THERAPIST_OVERLAP,
    Appointment,
    IdempotencyKey,
    Screening,
)
from booking.services.errors import SlotUnavailable
from booking.statements import Rows


class ReferenceTaken(Exception):
    """Two bookings drew the same random reference; the booking is tried again."""


class KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


_APPOINTMENT = Appointment.__table__
_APPOINTMENT_COLUMNS = tuple(c.key for c in _APPOINTMENT.c if c.key != "id")
_KEYS = IdempotencyKey.__table__
INSERT_APPOINTMENT = insert(_APPOINTMENT).returning(_APPOINTMENT.c.id)
INSERT_SCREENING = insert(Screening.__table__)
INSERT_KEY = insert(_KEYS)
KEY_USED = select(_KEYS.c.key).where(_KEYS.c.key == bindparam("key"))


def appointment_row(values: dict[str, Any]) -> dict[str, Any]:
    """The row to INSERT: the columns given; an unset column keeps its default."""
    return {column: values[column] for column in _APPOINTMENT_COLUMNS if column in values}


def write(statement: Executable, params: dict[str, Any]) -> Rows:
    try:
        return execute(statement, params)
    except IntegrityError as exc:
        refuse(exc)


def flush() -> None:
    """Flush the session's changes (a move, a cancellation), answering a refusal."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        refuse(exc)


def refuse(exc: IntegrityError) -> NoReturn:
    """Turn the database's refusal of a write into the answer it means."""
    # One answer for both overlaps: naming the patient's own clash would tell anyone who
    # knows an email address when that person has an appointment.
    if violated(exc, THERAPIST_OVERLAP, PATIENT_OVERLAP):
        raise SlotUnavailable() from exc
    if violated(exc, "uq_appointment_reference", "appointment.reference"):
        raise ReferenceTaken() from exc
    if violated(exc, "pk_idempotency_key", "idempotency_key.key"):
        raise KeyTaken() from exc
    raise exc
