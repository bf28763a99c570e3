"""A course of care: proposed on real availability, booked whole or not at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select
from support import ANSWERS, MONDAY, NOW, VANCOUVER, details, local

from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Clinic,
    Course,
    Event,
    OutboxMessage,
    Recipient,
    Source,
    Status,
)
from booking.services import booking
from booking.services import catalog as catalogs
from booking.services.booking import BookingRequest
from booking.services.courses.book import Pick, SessionRefused, book_course
from booking.services.courses.plan import Plan, propose
from booking.services.errors import InvalidRequest, NotFound

TUESDAY = MONDAY + timedelta(days=1)


@pytest.fixture
def assessed(app, world):
    """Maya, and a patient whose assessment is on Tuesday at 9:00."""
    world.maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    with app.app_context():
        booked = booking.book(
            BookingRequest("assessment", local(TUESDAY, 9), details(1), screening=dict(ANSWERS)),
            now=NOW,
        )
    world.person = booked.appointment.patient_id
    return world


def plan_for(world, **given) -> Plan:
    values = {
        "person_id": world.person,
        "service": "follow-up",
        "therapist_id": world.maya,
        "first_on": TUESDAY + timedelta(days=7),
    } | given
    return Plan(**values)


def proposed(app, plan):
    with app.app_context():
        return propose(catalogs.current(), plan, now=NOW)


def picks(proposal):
    return [Pick(v.number, v.start, v.therapist_id) for v in proposal.visits if v.placed]


def book_all(app, plan, proposal=None, **given):
    proposal = proposal or proposed(app, plan)
    with app.app_context():
        return book_course(plan, picks(proposal), now=NOW, actor="staff:1", **given)


def counts(app):
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Course, Appointment, OutboxMessage, AuditEvent)
        }


def test_eight_weekly_sessions_same_weekday_and_time(app, assessed):
    proposal = proposed(app, plan_for(assessed))
    assert proposal.placed_count == 8
    starts = [v.start.astimezone(VANCOUVER) for v in proposal.visits]
    assert [s.date() for s in starts] == [TUESDAY + timedelta(days=7 * k) for k in range(1, 9)]
    assert {s.time() for s in starts} == {time(9)}  # across the DST change of 14 March
    assert {s.utcoffset() for s in starts} == {timedelta(hours=-8), timedelta(hours=-7)}


def test_the_course_and_every_visit_are_booked_each_an_ordinary_appointment(app, assessed):
    plan = plan_for(assessed)
    booked = book_all(app, plan)
    assert len(booked.visits) == 8
    with app.app_context():
        course = db.session.get_one(Course, booked.course_id)
        assert (course.sessions, course.cadence_days, course.status) == (8, 7, "active")
        visits = db.session.scalars(
            select(Appointment).where(Appointment.course_id == course.id)
        ).all()
        assert len(visits) == 8
        assert len({v.calendar_uid for v in visits}) == 8  # each its own invite
        assert len({v.manage_token_hash for v in visits}) == 8  # and manage link
        assert {v.source for v in visits} == {Source.STAFF.value}
        rows = db.session.execute(
            select(OutboxMessage.event, OutboxMessage.recipient).where(
                OutboxMessage.appointment_id.in_([v.id for v in visits])
            )
        ).all()
        patient_invites = [r for r in rows if r == (Event.BOOKED.value, Recipient.PATIENT.value)]
        assert len(patient_invites) == 8
        assert rows.count((Event.COURSE_BOOKED.value, Recipient.PATIENT.value)) == 1
        summary = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.event == Event.COURSE_BOOKED.value)
        ).one()
        invites = db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.event == Event.BOOKED.value)
        ).all()
        assert summary.id > max(invites)  # sent after the invites
        trail = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "course")).one()
        assert trail.action == "course_planned"
        assert trail.after["visits"] == sorted(v.id for v in visits)


def test_a_time_taken_meanwhile_refuses_the_whole_course(app, assessed):
    plan = plan_for(assessed)
    proposal = proposed(app, plan)
    fifth = proposal.visits[4]
    with app.app_context():  # someone books the fifth session's time before staff confirm
        booking.book(
            BookingRequest("physio", fifth.start, details(2), therapist_id=assessed.maya),
            now=NOW,
        )
    before = counts(app)
    with pytest.raises(SessionRefused) as refused:
        book_all(app, plan, proposal)
    assert refused.value.number == 5
    assert "Nothing was booked" in refused.value.message
    assert counts(app) == before  # no course, no visit, no message, no audit row
    # Proposed again, the fifth session moves to the nearest free time that day.
    again = proposed(app, plan)
    assert again.placed_count == 8
    assert again.visits[4].start != fifth.start
    assert (
        again.visits[4].start.astimezone(VANCOUVER).date()
        == fifth.start.astimezone(VANCOUVER).date()
    )


def test_sessions_beyond_the_horizon_are_left_to_book_later(app, assessed):
    plan = plan_for(assessed, sessions=20)
    proposal = proposed(app, plan)
    horizon = (NOW + timedelta(days=90)).astimezone(VANCOUVER).date()
    late = [v for v in proposal.visits if v.target > horizon]
    assert late and all(not v.placed and "horizon" in v.problem for v in late)
    assert all(v.placed for v in proposal.visits if v.target <= horizon)
    booked = book_all(app, plan, proposal)
    assert len(booked.visits) == proposal.placed_count < 20
    # The rest fit in the same course later, never more than its sessions.
    with app.app_context(), pytest.raises(InvalidRequest) as full:
        book_course(plan, [Pick(21, local(horizon, 9), assessed.maya)] * 14, now=NOW,
                    actor="staff:1", course_id=booked.course_id)  # fmt: skip
    assert "room for" in full.value.fields["visits"]


def test_a_closure_moves_a_session_to_the_nearest_open_day(app, assessed):
    third = TUESDAY + timedelta(days=21)
    assessed.closure(third, third)
    proposal = proposed(app, plan_for(assessed))
    day = proposal.visits[2].start.astimezone(VANCOUVER).date()
    assert day == third + timedelta(days=1)


def test_a_long_closure_leaves_the_session_unplaced_saying_why(app, assessed):
    third = TUESDAY + timedelta(days=21)
    assessed.closure(third - timedelta(days=3), third + timedelta(days=3))
    visit = proposed(app, plan_for(assessed)).visits[2]
    assert not visit.placed and visit.problem == "The clinic is closed then."


def test_weekdays_and_window_are_kept(app, assessed):
    plan = plan_for(assessed, weekdays=frozenset({3}), window=(time(13), time(15)))
    proposal = proposed(app, plan)
    starts = [v.start.astimezone(VANCOUVER) for v in proposal.visits]
    assert {s.weekday() for s in starts} == {3}
    assert all(time(13) <= s.time() and (s + timedelta(minutes=30)).time() <= time(15)
               for s in starts)  # fmt: skip


def test_every_n_days_with_the_spacing_between_needling_visits(app, assessed):
    with app.app_context():
        db.session.get_one(Clinic, 1).needling_spacing_days = 3
        db.session.commit()
    proposal = proposed(app, plan_for(assessed, cadence_days=2, sessions=5))
    assert proposal.placed_count == 5
    days = [v.start.astimezone(VANCOUVER).date() for v in proposal.visits]
    assert [(b - a).days for a, b in pairwise(days)] == [3, 3, 3, 3]


def test_a_certification_lapsing_mid_course_offers_another_certified_therapist(app, assessed):
    lapse = TUESDAY + timedelta(days=30)
    with app.app_context():
        from booking.models import Therapist

        db.session.get_one(Therapist, assessed.maya).ims_certification_expires = lapse
        db.session.commit()
    daniel = assessed.make_therapist("Daniel Okafor")
    proposal = proposed(app, plan_for(assessed))
    before = [v for v in proposal.visits if v.target <= lapse]
    after = [v for v in proposal.visits if v.target > lapse]
    assert before and all(v.placed for v in before)
    assert after and all(not v.placed and "certification ends" in v.problem for v in after)
    assert all(v.alternatives and {a.therapist_id for a in v.alternatives} == {daniel}
               for v in after)  # fmt: skip
    # Staff pick Daniel for those: the course books whole.
    plan = plan_for(assessed)
    chosen = picks(proposal) + [Pick(v.number, v.alternatives[0].start, daniel) for v in after]
    with app.app_context():
        booked = book_course(plan, chosen, now=NOW, actor="staff:1")
    assert len(booked.visits) == 8


def test_the_session_with_maya_after_her_lapse_is_refused_by_the_booking_rules(app, assessed):
    lapse = TUESDAY + timedelta(days=30)
    with app.app_context():
        from booking.models import Therapist

        db.session.get_one(Therapist, assessed.maya).ims_certification_expires = lapse
        db.session.commit()
    plan = plan_for(assessed)
    late = local(lapse + timedelta(days=6), 9)
    with app.app_context(), pytest.raises(SessionRefused, match="Session 8"):
        book_course(plan, [Pick(1, local(TUESDAY + timedelta(days=7), 9), assessed.maya),
                           Pick(8, late, assessed.maya)], now=NOW, actor="staff:1")  # fmt: skip
    assert counts(app)["course"] == 0


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"sessions": 0}, "sessions"),
        ({"sessions": 21}, "sessions"),
        ({"cadence_days": 0}, "cadence_days"),
        ({"weekdays": frozenset()}, "weekdays"),
        ({"weekdays": frozenset({7})}, "weekdays"),
        ({"window": (time(15), time(13))}, "window"),
        ({"first_on": MONDAY - timedelta(days=1)}, "first_on"),
        ({"end_by": TUESDAY}, "end_by"),
        ({"service": "assessment"}, "service"),
        ({"service": "nope"}, "service"),
        ({"therapist_id": 999}, "therapist_id"),
        ({"person_id": 999}, "person"),
    ],
)
def test_a_plan_that_cannot_be_a_course_is_refused(app, assessed, given, field):
    with pytest.raises(InvalidRequest) as refused:
        proposed(app, plan_for(assessed, **given))
    assert field in refused.value.fields
    before = counts(app)
    with app.app_context(), pytest.raises(InvalidRequest):
        book_course(plan_for(assessed, **given), [Pick(1, local(TUESDAY, 15), assessed.maya)],
                    now=NOW, actor="staff:1")  # fmt: skip
    assert counts(app) == before


def test_sessions_after_the_end_by_date_are_not_proposed(app, assessed):
    end_by = TUESDAY + timedelta(days=30)
    proposal = proposed(app, plan_for(assessed, end_by=end_by))
    assert proposal.placed_count == 4
    assert all("end-by" in v.problem for v in proposal.visits if not v.placed)


def test_bad_picks_are_refused_and_change_nothing(app, assessed):
    plan = plan_for(assessed)
    start = local(TUESDAY + timedelta(days=7), 9)
    before = counts(app)
    with app.app_context():
        for chosen in ([], [Pick(1, start, assessed.maya), Pick(1, start, assessed.maya)],
                       [Pick(1, start, assessed.maya), Pick(2, start, assessed.maya)],
                       [Pick(n, start + timedelta(days=7 * n), assessed.maya)
                        for n in range(9)]):  # fmt: skip
            with pytest.raises(InvalidRequest):
                book_course(plan, chosen, now=NOW, actor="staff:1")
    assert counts(app) == before


def test_a_course_visit_in_the_past_or_without_an_assessment_is_refused(app, assessed):
    plan = plan_for(assessed)
    with app.app_context():
        with pytest.raises(SessionRefused, match="Session 1"):
            book_course(plan, [Pick(1, local(MONDAY, 7), assessed.maya)], now=NOW,
                        actor="staff:1")  # fmt: skip
        other = booking.book(
            BookingRequest("physio", local(TUESDAY, 13), details(3)), now=NOW
        ).appointment.patient_id
        with pytest.raises(SessionRefused, match="assessment"):
            book_course(replace(plan, person_id=other),
                        [Pick(1, local(TUESDAY + timedelta(days=7), 9), assessed.maya)],
                        now=NOW, actor="staff:1")  # fmt: skip
    assert counts(app)["course"] == 0


def test_more_sessions_join_the_course_and_only_an_active_one(app, assessed):
    plan = plan_for(assessed, sessions=10)
    proposal = proposed(app, replace(plan, sessions=8))
    booked = book_all(app, plan, proposal)
    more = proposed(app, replace(plan, sessions=2, first_number=9,
                                 first_on=TUESDAY + timedelta(days=63)))  # fmt: skip
    with app.app_context():
        added = book_course(plan, picks(more), now=NOW, actor="staff:1",
                            course_id=booked.course_id)  # fmt: skip
        assert added.course_id == booked.course_id
        assert (
            db.session.scalar(select(func.count()).where(Appointment.course_id == booked.course_id))
            == 10
        )
        trail = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "course")
        ).all()
        assert trail == ["course_planned", "sessions_booked"]
        course = db.session.get_one(Course, booked.course_id)
        course.status, course.ended_at, course.end_reason = "ended", NOW, "moved away"
        db.session.commit()
        with pytest.raises(InvalidRequest, match="fields"):
            book_course(plan, [Pick(11, local(TUESDAY + timedelta(days=80), 9), assessed.maya)],
                        now=NOW, actor="staff:1", course_id=booked.course_id)  # fmt: skip
        with pytest.raises(NotFound):
            book_course(replace(plan, person_id=999), picks(more), now=NOW, actor="staff:1",
                        course_id=booked.course_id)  # fmt: skip


def test_a_booking_cannot_join_another_persons_course(app, assessed):
    booked = book_all(app, plan_for(assessed, sessions=1))
    with app.app_context(), pytest.raises(InvalidRequest) as refused:
        booking.book(
            BookingRequest("physio", local(TUESDAY, 15), details(4), source=Source.STAFF,
                           course_id=booked.course_id),
            now=NOW,
        )  # fmt: skip
    assert "course" in refused.value.fields


def test_a_course_visit_moved_one_at_a_time_stays_in_the_course(app, assessed):
    booked = book_all(app, plan_for(assessed, sessions=3))
    second = booked.visits[1].appointment
    with app.app_context():
        moved = booking.reschedule(second.id, second.start_at + timedelta(hours=2), now=NOW,
                                   actor="staff:1", enforce_cutoff=False)  # fmt: skip
        assert moved.course_id == booked.course_id and moved.sequence == 1
        cancelled = booking.cancel(booked.visits[2].appointment.id, now=NOW, actor="staff:1",
                                   enforce_cutoff=False)  # fmt: skip
        assert cancelled.status == Status.CANCELLED.value
        assert cancelled.course_id == booked.course_id


def test_the_first_visit_ahead_date_is_kept_in_the_course_row(app, assessed):
    plan = plan_for(assessed, weekdays=frozenset({1, 3}), window=(time(9), time(12)),
                    end_by=date(2027, 6, 1))  # fmt: skip
    booked = book_all(app, plan)
    with app.app_context():
        course = db.session.get_one(Course, booked.course_id)
        assert course.weekdays == 0b1010
        assert (course.window_start, course.window_end) == (time(9), time(12))
        assert course.end_by == date(2027, 6, 1)
