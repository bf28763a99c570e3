"""The change cut-off never traps a patient: a grace period after every booking and move."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support import BORN, MONDAY, local, patient

from booking.extensions import db
from booking.models import Appointment, Clinic
from booking.services import booking, changes
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import InsideCutoff

TUESDAY = MONDAY + timedelta(days=1)
TEN = local(MONDAY, 10)  # the clock of these tests: Monday 10:00, so Tuesday 09:00 is 23 h off
GRACE = timedelta(minutes=15)


@pytest.fixture
def clinic(world, clock):
    world.maya = world.make_therapist("Maya Chen")
    clock.now = TEN
    return world


def book(ctx, start, *, now=TEN, n=1):
    details = PatientDetails(**patient(n, date_of_birth=BORN))
    return booking.book(BookingRequest("physio", start, details), now=now).appointment.id


def load(appointment_id) -> Appointment:
    return db.session.get(Appointment, appointment_id)


@pytest.mark.parametrize(
    ("before_visit", "inside"),
    [
        (timedelta(hours=24), False),  # exactly the cut-off: still changeable online
        (timedelta(hours=24) - timedelta(seconds=1), True),
        (timedelta(hours=23), True),
        (timedelta(hours=25), False),
    ],
)
def test_inside_the_cutoff_is_strictly_less_than_the_cutoff_away(ctx, clinic, before_visit, inside):
    settings = db.session.get(Clinic, 1)
    assert changes.inside_cutoff(TEN + before_visit, settings, TEN) is inside


@pytest.mark.parametrize(
    ("later", "changeable"),
    [
        (timedelta(0), True),
        (GRACE - timedelta(seconds=1), True),
        (GRACE, True),  # the grace end is the deadline, inclusive like the cut-off
        (GRACE + timedelta(seconds=1), False),
        (timedelta(hours=2), False),
    ],
)
def test_a_booking_inside_the_cutoff_can_be_changed_during_the_grace(
    ctx, clinic, later, changeable
):
    appointment = load(book(ctx, local(TUESDAY, 9)))
    settings = db.session.get(Clinic, 1)
    assert booking.change_deadline(appointment, settings) == TEN + GRACE
    assert booking.changeable_online(appointment, settings, TEN + later) is changeable


def test_outside_the_cutoff_the_deadline_is_the_cutoff(ctx, clinic):
    start = local(TUESDAY, 11)  # 25 hours away
    appointment = load(book(ctx, start))
    assert booking.change_deadline(appointment, db.session.get(Clinic, 1)) == start - timedelta(
        hours=24
    )


def test_the_service_cancels_inside_the_grace_and_refuses_after(ctx, clinic):
    first = book(ctx, local(TUESDAY, 9))
    second = book(ctx, local(TUESDAY, 11), n=2)  # 25 h away when booked: open until 11:00
    cancelled = booking.cancel(first, now=TEN + timedelta(minutes=10))
    assert cancelled.status == "cancelled"
    late = TEN + timedelta(hours=1, minutes=1)  # past the cut-off, long past its grace
    with pytest.raises(InsideCutoff):
        booking.cancel(second, now=late)


def test_a_move_inside_the_cutoff_starts_a_new_grace_from_the_move(ctx, clinic):
    appointment_id = book(ctx, local(TUESDAY + timedelta(days=1), 9))  # Wednesday, far off
    moved_at = TEN + timedelta(hours=2)  # Monday 12:00
    booking.reschedule(appointment_id, local(TUESDAY, 9), now=moved_at)
    appointment = load(appointment_id)
    settings = db.session.get(Clinic, 1)
    assert changes.placed_at(appointment) == moved_at
    assert booking.change_deadline(appointment, settings) == moved_at + GRACE
    assert booking.changeable_online(appointment, settings, moved_at + GRACE)
    assert not booking.changeable_online(appointment, settings, moved_at + GRACE * 2)
    booking.reschedule(appointment_id, local(TUESDAY, 10), now=moved_at + timedelta(minutes=5))
    with pytest.raises(InsideCutoff):
        booking.reschedule(appointment_id, local(TUESDAY, 13), now=moved_at + timedelta(hours=1))


def test_no_grace_means_a_booking_inside_the_cutoff_is_locked_at_once(ctx, clinic):
    db.session.get(Clinic, 1).change_grace_minutes = 0
    db.session.commit()
    appointment = load(book(ctx, local(TUESDAY, 9)))
    settings = db.session.get(Clinic, 1)
    assert not booking.changeable_online(appointment, settings, TEN + timedelta(seconds=1))


def test_the_grace_never_reaches_past_the_start(ctx, clinic):
    db.session.get(Clinic, 1).min_notice_minutes = 0
    db.session.commit()
    start = local(MONDAY, 10, 15)
    now = start - timedelta(minutes=5)
    appointment = load(book(ctx, start, now=now))
    settings = db.session.get(Clinic, 1)
    assert booking.change_deadline(appointment, settings) == start
    assert booking.changeable_online(appointment, settings, start - timedelta(seconds=1))
    assert not booking.changeable_online(appointment, settings, start)
