"""A deadlock or serialization failure runs the unit of work again, from the start."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from support import BORN, MONDAY, NOW, local

from booking.extensions import db
from booking.models import Appointment
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails, rules


def _failing_first(monkeypatch, error: Exception, times: int = 1) -> list[int]:
    calls = []
    real = rules.free_therapist

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("INSERT ...", {}, error)
        return real(*args, **kwargs)

    monkeypatch.setattr(rules, "free_therapist", flaky)
    return calls


REQUEST = BookingRequest(
    service="physio",
    start=local(MONDAY + timedelta(days=1), 9),
    patient=PatientDetails("Dee Lock", "dee@example.com", "604-555-0100", BORN),
)


@pytest.mark.parametrize(
    "error", [psycopg.errors.DeadlockDetected("deadlock"), psycopg.errors.SerializationFailure()]
)
def test_a_deadlock_is_retried_and_the_booking_made_once(ctx, world, monkeypatch, error):
    world.make_therapist()
    calls = _failing_first(monkeypatch, error, times=2)
    booked = booking.book(REQUEST, now=NOW)
    assert len(calls) == 3
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 1
    assert booked.appointment.id is not None


def test_other_operational_errors_are_not_retried(ctx, world, monkeypatch):
    world.make_therapist()
    calls = _failing_first(monkeypatch, psycopg.errors.DiskFull("full"))
    with pytest.raises(OperationalError):
        booking.book(REQUEST, now=NOW)
    assert len(calls) == 1


def test_retries_are_bounded(ctx, world, monkeypatch):
    world.make_therapist()
    calls = _failing_first(monkeypatch, psycopg.errors.DeadlockDetected("deadlock"), times=99)
    with pytest.raises(OperationalError):
        booking.book(REQUEST, now=NOW)
    assert len(calls) == 4
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0
