"""Two needling visits of one person fewer than the clinic's spacing (local days) apart are
refused on every booking path, with the nearest times that keep it; reception may override."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support import ANSWERS, MONDAY, VANCOUVER, details, local

from booking.database import transactional
from booking.extensions import db
from booking.models import Appointment, AuditEvent, Clinic, Source, Status
from booking.services import booking
from booking.services import catalog as catalogs
from booking.services.availability import find_slots
from booking.services.booking import BookingRequest
from booking.services.booking.book import write_booking
from booking.services.errors import InvalidRequest, TooSoon

WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)
FRIDAY = MONDAY + timedelta(days=4)
NEXT_MONDAY = MONDAY + timedelta(days=7)


@pytest.fixture
def person(app, world):
    """A person on record with an assessment on Wednesday at 9:00 (booked by reception)."""
    world.maya = world.make_therapist("Maya Chen")
    booked = _book(app, BookingRequest("assessment", local(WEDNESDAY, 9), details(),
                                       source=Source.STAFF, screening=dict(ANSWERS)))  # fmt: skip
    return booked.appointment.patient_id


def _book(app, wanted, actor="staff:1"):
    with app.app_context():
        return booking.book(wanted, now=app.config["CLOCK"](), actor=actor)


def follow_up(patient_id, start, **extra):
    return BookingRequest("follow-up", start, person_id=patient_id, source=Source.STAFF, **extra)


def settings(app, **values):
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        for name, value in values.items():
            setattr(clinic, name, value)
        db.session.commit()


def set_status(app, appointment_id, status):
    with app.app_context():
        db.session.get(Appointment, appointment_id).status = status.value
        db.session.commit()


def local_days(slots):
    return {s.start.astimezone(VANCOUVER).date() for s in slots}


@pytest.mark.parametrize(
    ("day", "refused"),
    [
        (WEDNESDAY, True),  # the same day, later
        (THURSDAY, True),  # one day apart
        (FRIDAY, False),  # two days apart: Wednesday then Friday is fine
    ],
)
def test_a_needling_visit_closer_than_the_spacing_is_refused(app, person, day, refused):
    wanted = follow_up(person, local(day, 14))
    if not refused:
        assert _book(app, wanted).appointment.start_at == local(day, 14)
        return
    with pytest.raises(TooSoon) as too_soon:
        _book(app, wanted)
    error = too_soon.value
    assert error.code == "too_soon"
    assert "at least 2 days apart" in error.message
    assert "Wednesday, March 3" in error.message  # the other visit's day
    assert error.alternatives, "the nearest times that keep the spacing"
    assert local_days(error.alternatives).isdisjoint({date(2027, 3, 2), WEDNESDAY, THURSDAY})
    assert min(error.alternatives).start == local(FRIDAY, 9)  # the nearest that keeps it
    with app.app_context():
        assert len(db.session.scalars(select(Appointment.id)).all()) == 1  # nothing written


def test_before_the_other_visit_counts_too(app, person):
    with pytest.raises(TooSoon):
        # An earlier needling visit (staff skip the assessment rule, not the spacing).
        early = local(date(2027, 3, 2), 9)
        _book(app, follow_up(person, early, skip_prerequisite=True, override_reason="Elsewhere"))


def test_zero_turns_the_rule_off(app, person):
    settings(app, needling_spacing_days=0)
    _book(app, follow_up(person, local(THURSDAY, 9)))
    _book(app, follow_up(person, local(THURSDAY, 14)))


def test_a_longer_spacing(app, person):
    settings(app, needling_spacing_days=7)
    with pytest.raises(TooSoon) as too_soon:
        _book(app, follow_up(person, local(date(2027, 3, 9), 9)))
    assert "at least 7 days apart" in too_soon.value.message
    _book(app, follow_up(person, local(date(2027, 3, 10), 9)))


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW])
def test_a_cancelled_or_missed_visit_does_not_count(app, person, status):
    first = _book(app, follow_up(person, local(NEXT_MONDAY, 9))).appointment.id
    with pytest.raises(TooSoon):
        _book(app, follow_up(person, local(NEXT_MONDAY + timedelta(days=1), 9)))
    set_status(app, first, status)
    _book(app, follow_up(person, local(NEXT_MONDAY + timedelta(days=1), 9)))


def test_a_completed_visit_counts(app, person):
    first = _book(app, follow_up(person, local(FRIDAY, 9))).appointment.id
    set_status(app, first, Status.COMPLETED)
    with pytest.raises(TooSoon):
        _book(app, follow_up(person, local(FRIDAY + timedelta(days=1), 9)))


def test_a_visit_without_needling_is_not_spaced(app, person):
    _book(app, replace(follow_up(person, local(THURSDAY, 9)), service="physio"))
    _book(app, replace(follow_up(person, local(WEDNESDAY, 14)), service="physio"))


def test_another_person_is_not_spaced(app, person):
    _book(app, BookingRequest("assessment", local(THURSDAY, 9), details(2),
                              source=Source.STAFF, screening=dict(ANSWERS)))  # fmt: skip


def test_reception_overrides_with_a_reason_audited(app, person):
    with pytest.raises(InvalidRequest) as refused:
        _book(app, follow_up(person, local(THURSDAY, 9), skip_spacing=True))
    assert "override_reason" in refused.value.fields
    online = BookingRequest(
        "physio", local(THURSDAY, 9), details(), skip_spacing=True, override_reason="please"
    )
    with pytest.raises(InvalidRequest) as refused:
        _book(app, online, actor="patient")
    assert "override" in refused.value.fields
    booked = _book(
        app,
        follow_up(person, local(THURSDAY, 9), skip_spacing=True, override_reason="Flying out"),
    )
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.entity_id == booked.appointment.id and event.actor == "staff:1"
    assert event.after == {
        "minimum_notice": False,
        "assessment_first": False,
        "needling_spacing": True,
        "reassessment": False,
        "reason": "Flying out",
    }


def test_a_move_one_day_closer_is_refused(app, person):
    visit = _book(app, follow_up(person, local(FRIDAY, 9))).appointment.id
    with app.app_context(), pytest.raises(TooSoon) as too_soon:
        booking.reschedule(visit, local(THURSDAY, 9), now=app.config["CLOCK"]())
    assert too_soon.value.alternatives
    assert local_days(too_soon.value.alternatives).isdisjoint(
        {date(2027, 3, 2), WEDNESDAY, THURSDAY}
    )
    with app.app_context():
        # Its own time does not count against it: later on the same day is fine.
        moved = booking.reschedule(visit, local(FRIDAY, 14), now=app.config["CLOCK"]())
        assert moved.start_at == local(FRIDAY, 14)


def test_reception_moves_closer_with_a_reason_audited(app, person):
    visit = _book(app, follow_up(person, local(FRIDAY, 9))).appointment.id
    with app.app_context():
        with pytest.raises(InvalidRequest):  # the patient's own reschedule cannot skip it
            booking.reschedule(visit, local(THURSDAY, 9), now=app.config["CLOCK"](),
                               skip_spacing=True, override_reason="please")  # fmt: skip
        booking.reschedule(
            visit,
            local(THURSDAY, 9),
            now=app.config["CLOCK"](),
            actor="staff:1",
            enforce_cutoff=False,
            skip_spacing=True,
            override_reason="Only day the patient can come",
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.entity_id == visit
    assert event.after == {"needling_spacing": True, "reason": "Only day the patient can come"}


def test_a_session_written_inside_a_course_transaction_is_spaced(app, person):
    write = transactional(write_booking)
    with app.app_context(), pytest.raises(TooSoon):
        write(follow_up(person, local(THURSDAY, 9)), app.config["CLOCK"](), "staff:1")


def test_availability_for_the_person_leaves_out_the_days(app, person):
    with app.app_context():
        catalog = catalogs.current()
        service = catalog.service("follow-up")
        now = app.config["CLOCK"]()
        everyone = find_slots(catalog, service, MONDAY, FRIDAY, now=now)
        theirs = find_slots(catalog, service, MONDAY, FRIDAY, now=now, patient_id=person)
        physio = find_slots(
            catalog, catalog.service("physio"), MONDAY, FRIDAY, now=now, patient_id=person
        )
    assert local_days(everyone) >= {date(2027, 3, 2), WEDNESDAY, THURSDAY, FRIDAY}
    assert local_days(theirs) == {FRIDAY}  # Monday's times are inside the minimum notice
    assert local_days(physio) >= {WEDNESDAY, THURSDAY}


def test_the_week_daylight_saving_starts_counts_local_dates(app, world):
    """Saturday 13 March 2027 16:30 to Monday 15 March 9:00 is under 48 hours (the clocks
    spring forward on the Sunday), but two local dates apart: allowed. Sunday is not."""
    world.maya = world.make_therapist("Maya Chen")
    saturday = date(2027, 3, 13)
    first = _book(app, BookingRequest("assessment", local(saturday, 15, 30), details(),
                                      source=Source.STAFF, screening=dict(ANSWERS)))  # fmt: skip
    person = first.appointment.patient_id
    with pytest.raises(TooSoon):
        _book(app, follow_up(person, local(saturday + timedelta(days=1), 9)))
    monday = _book(app, follow_up(person, local(saturday + timedelta(days=2), 9)))
    assert monday.appointment.start_at - first.appointment.start_at < timedelta(hours=48)
