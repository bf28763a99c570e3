"""After N follow-ups since the last assessment, or a gap of more than X weeks, a follow-up is
refused for a re-assessment (the service the clinic marks as such); reception may override."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from support import ANSWERS, MONDAY, details, local

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Clinic, Service, Source, Status
from booking.services import booking
from booking.services.booking import BookingRequest
from booking.services.courses.book import Pick, SessionRefused, book_course
from booking.services.courses.plan import Plan
from booking.services.errors import AssessmentRequired, ReassessmentRequired

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def clinic(app, world):
    """A re-assessment service, Maya offering everything, sessions rule at 3, no spacing."""
    with app.app_context():
        assessment = db.session.get(Service, world.services["assessment"].id)
        again = Service(slug="reassessment", name="IMS re-assessment", duration_minutes=45,
                        requires_ims=True, prerequisite=assessment, reassessment=True)  # fmt: skip
        db.session.add(again)
        clinic = db.session.get(Clinic, 1)
        clinic.needling_spacing_days, clinic.reassess_after_sessions = 0, 3
        db.session.commit()
        db.session.refresh(again)
        db.session.expunge_all()
    world.services["reassessment"] = again
    services = ("assessment", "follow-up", "physio", "reassessment")
    world.maya = world.make_therapist("Maya Chen", services=services)
    return world


def _book(app, wanted):
    with app.app_context():
        return booking.book(wanted, now=app.config["CLOCK"](), actor="staff:1").appointment


def assessed(app) -> int:
    """A person with an assessment on Tuesday, taken place; their id."""
    visit = _book(app, BookingRequest("assessment", local(TUESDAY, 9), details(),
                                      source=Source.STAFF, screening=dict(ANSWERS)))  # fmt: skip
    complete(app, visit.id)
    return visit.patient_id


def complete(app, appointment_id, status=Status.COMPLETED):
    with app.app_context():
        db.session.get_one(Appointment, appointment_id).status = status.value
        db.session.commit()


def visit(service, person, day, hour=9, **extra):
    return BookingRequest(service, local(day, hour), person_id=person, source=Source.STAFF, **extra)


def sessions(app, person, count, status=Status.COMPLETED):
    for n in range(count):
        complete(app, _book(app, visit("follow-up", person, TUESDAY + timedelta(days=1 + n))).id,
                 status)  # fmt: skip


def settings(app, **values):
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        for name, value in values.items():
            setattr(clinic, name, value)
        db.session.commit()


def test_after_n_completed_sessions_the_next_is_a_re_assessment(app, clinic):
    person = assessed(app)
    sessions(app, person, 2)
    later = TUESDAY + timedelta(days=10)
    _book(app, visit("follow-up", person, later))  # the third session: 2 done
    with app.app_context():
        third = db.session.scalars(select(Appointment.id).order_by(Appointment.id.desc())).first()
    complete(app, third)
    with pytest.raises(ReassessmentRequired) as due:
        _book(app, visit("follow-up", person, later + timedelta(days=1)))
    assert due.value.code == "reassessment_required"
    assert due.value.details["required_service"] == "reassessment"
    assert "3 sessions since the last assessment" in due.value.message
    # The re-assessment itself is bookable, and counts as the assessment after it.
    _book(app, visit("reassessment", person, later + timedelta(days=1)))
    _book(app, visit("follow-up", person, later + timedelta(days=2)))


def test_cancelled_and_missed_sessions_do_not_count(app, clinic):
    person = assessed(app)
    sessions(app, person, 3, Status.NO_SHOW)
    _book(app, visit("follow-up", person, TUESDAY + timedelta(days=10)))


def test_zero_sessions_turns_that_half_off(app, clinic):
    settings(app, reassess_after_sessions=0)
    person = assessed(app)
    sessions(app, person, 4)
    _book(app, visit("follow-up", person, TUESDAY + timedelta(days=10)))


@pytest.mark.parametrize(("weeks", "refused"), [(8, True), (9, False), (0, False)])
def test_a_gap_longer_than_x_weeks(app, clinic, weeks, refused):
    settings(app, reassess_after_weeks=weeks)
    person = assessed(app)
    # The assessment was Tuesday at 9:00; 8 weeks and a day later.
    wanted = visit("follow-up", person, TUESDAY + timedelta(weeks=8, days=1))
    if not refused:
        _book(app, wanted)
        return
    with pytest.raises(ReassessmentRequired) as due:
        _book(app, wanted)
    assert "more than 8 weeks since the last visit" in due.value.message


def test_a_booked_re_assessment_closes_the_gap(app, clinic):
    person = assessed(app)
    day = TUESDAY + timedelta(weeks=9)
    _book(app, visit("reassessment", person, day))
    _book(app, visit("follow-up", person, day + timedelta(days=1)))


def test_a_course_booked_ahead_is_not_a_gap(app, clinic):
    settings(app, reassess_after_sessions=0)
    person = assessed(app)
    for week in range(1, 11):  # ten weekly sessions booked at once, none taken place yet
        _book(app, visit("follow-up", person, TUESDAY + timedelta(weeks=week)))


def test_no_active_re_assessment_service_turns_the_rule_off(app, clinic):
    with app.app_context():
        db.session.get_one(Service, clinic.services["reassessment"].id).active = False
        db.session.commit()
    person = assessed(app)
    sessions(app, person, 3)
    _book(app, visit("follow-up", person, TUESDAY + timedelta(weeks=9)))


def test_reception_overrides_with_a_reason_audited(app, clinic):
    person = assessed(app)
    later = TUESDAY + timedelta(weeks=9)
    with pytest.raises(ReassessmentRequired):
        _book(app, visit("follow-up", person, later))
    booked = _book(app, visit("follow-up", person, later, skip_reassessment=True,
                              override_reason="Re-assessed by phone"))  # fmt: skip
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.entity_id == booked.id
    assert event.after["reassessment"] is True and event.after["reason"] == "Re-assessed by phone"


def test_a_re_assessment_counts_as_the_assessment_a_follow_up_needs(app, clinic):
    first = _book(app, BookingRequest("assessment", local(TUESDAY, 9), details(),
                                      source=Source.STAFF, screening=dict(ANSWERS)))  # fmt: skip
    with app.app_context():
        # Only a re-assessment on record (the first assessment was cancelled).
        booking.cancel(first.id, now=app.config["CLOCK"](), enforce_cutoff=False)
    with pytest.raises(AssessmentRequired):
        _book(app, visit("follow-up", first.patient_id, TUESDAY + timedelta(days=2)))
    _book(app, visit("reassessment", first.patient_id, TUESDAY + timedelta(days=2),
                     skip_prerequisite=True, override_reason="Assessed elsewhere"))  # fmt: skip
    _book(app, visit("follow-up", first.patient_id, TUESDAY + timedelta(days=3)))


def _course(app, person, maya, *days):
    """Book a course's sessions at 9:00 on `days` through the course service (the batch)."""
    picks = [Pick(n, local(day, 9), maya) for n, day in enumerate(days, start=1)]
    plan = Plan(person, "follow-up", maya, days[0], sessions=len(days))
    with app.app_context():
        return book_course(plan, picks, now=app.config["CLOCK"](), actor="staff:1")


def _visits(app, person) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Appointment.id).where(
            Appointment.patient_id == person)).all())  # fmt: skip


def test_a_course_meets_the_sessions_rule_as_one_booking_does(app, clinic):
    person = assessed(app)
    sessions(app, person, 3)
    before = _visits(app, person)
    with pytest.raises(ReassessmentRequired):  # one booking
        _book(app, visit("follow-up", person, TUESDAY + timedelta(days=7)))
    week = TUESDAY + timedelta(days=7)
    with pytest.raises(SessionRefused) as refused:  # the same visit as a course's first
        _course(app, person, clinic.maya, week, week + timedelta(days=7))
    assert isinstance(refused.value.cause, ReassessmentRequired)
    assert refused.value.number == 1
    assert refused.value.cause.details == {"required_service": "reassessment"}
    assert _visits(app, person) == before  # nothing booked


def test_a_gap_inside_a_course_names_the_session_after_it(app, clinic):
    settings(app, reassess_after_sessions=0, reassess_after_weeks=2)
    person = assessed(app)  # Tuesday
    first, second = TUESDAY + timedelta(days=7), TUESDAY + timedelta(days=28)
    _book(app, visit("follow-up", person, first))
    with pytest.raises(ReassessmentRequired):  # one booking three weeks after that one
        _book(app, visit("follow-up", person, second))
    before = _visits(app, person)
    with pytest.raises(SessionRefused) as refused:
        _course(app, person, clinic.maya, first + timedelta(days=1), second)
    assert isinstance(refused.value.cause, ReassessmentRequired)
    assert refused.value.number == 2  # the first is a week after the assessment: fine
    assert "more than 2 weeks since the last visit" in refused.value.message
    assert _visits(app, person) == before
    _course(app, person, clinic.maya, first + timedelta(days=1), first + timedelta(days=8))
