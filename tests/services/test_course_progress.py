"""A course's progress ("3 of 8 done"), and its completion when the last session is marked."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, select, text, update
from support import MONDAY, NOW, local, person

from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Course,
    CourseStatus,
    Event,
    OutboxMessage,
    Source,
    Status,
)
from booking.services import booking, checkin
from booking.services.booking import BookingRequest
from booking.services.checkin import Mark
from booking.services.courses.progress import progress, progresses
from booking.services.errors import NotFound

DAY = timedelta(days=1)


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


@pytest.fixture
def ann(world):
    row = person("Ann Gill", "ann@example.com")
    world.add(row)
    return row.id


def course(world, patient_id, therapist_id, *, sessions=4, status=CourseStatus.ACTIVE):
    row = Course(
        patient_id=patient_id,
        therapist_id=therapist_id,
        service_id=world.services["physio"].id,
        sessions=sessions,
        created_by="reception",
        created_at=NOW,
        status=status.value,
        ended_at=None if status == CourseStatus.ACTIVE else NOW,
    )
    world.add(row)
    return row.id


def visit(app, course_id, patient_id, therapist_id, start, *, now=NOW):
    request = BookingRequest(
        "physio",
        start,
        person_id=patient_id,
        therapist_id=therapist_id,
        source=Source.STAFF,
        course_id=course_id,
    )
    with app.app_context():
        return booking.book(request, now=now, actor="reception").appointment.id


def mark(app, visit_id, what, start):
    with app.app_context():
        checkin.mark(visit_id, what, actor="reception", now=start + timedelta(minutes=50))


def cancel(app, visit_id, now):
    with app.app_context():
        booking.cancel(visit_id, now=now, actor="reception", enforce_cutoff=False)


def read(app, course_id, now):
    with app.app_context():
        return progress(course_id, now=now)


def status_of(app, course_id):
    with app.app_context():
        row = db.session.get(Course, course_id)
        return row.status, row.ended_at


def test_progress_counts_each_kind_of_visit_and_what_replaced_a_cancelled_one(
    app, world, maya, ann
):
    c = course(world, ann, maya, sessions=6)
    starts = [local(MONDAY + DAY * n, 9) for n in (1, 3, 5, 8, 10)]
    first, second, third, fourth, _ = [visit(app, c, ann, maya, s) for s in starts]
    mark(app, first, Mark.COMPLETED, starts[0])
    mark(app, second, Mark.NO_SHOW, starts[1])
    cancel(app, third, NOW + 2 * DAY)  # after every visit above was booked
    replacement = visit(app, c, ann, maya, local(MONDAY + DAY * 12, 9), now=NOW + 3 * DAY)
    # At 9:30 on the fourth visit's day: it has begun, and nobody has marked it yet.
    at = starts[3] + timedelta(minutes=30)
    p = read(app, c, at)
    assert (p.planned, p.done, p.no_shows, p.upcoming, p.awaiting, p.cancelled) == (
        6, 1, 1, 2, 1, 1
    )  # fmt: skip
    assert p.remaining == 6 - 1 - 2 - 1
    assert p.label == "1 of 6 done"
    assert p.status == CourseStatus.ACTIVE and p.active
    assert [v.start_at for v in p.visits] == sorted(v.start_at for v in p.visits)
    assert [(v.id, v.status, v.number) for v in p.visits] == [
        (first, Status.COMPLETED, 1),
        (second, Status.NO_SHOW, 2),
        (third, Status.CANCELLED, None),
        (fourth, Status.BOOKED, 3),
        (p.visits[4].id, Status.BOOKED, 4),
        (replacement, Status.BOOKED, 5),
    ]
    # The cancelled visit was replaced by the one booked after it, not by earlier bookings.
    assert p.session(third).replaced_by == replacement
    assert all(v.replaced_by is None for v in p.visits if v.id != third)


def test_a_cancelled_visit_with_nothing_booked_since_has_no_replacement(app, world, maya, ann):
    c = course(world, ann, maya, sessions=2)
    a = visit(app, c, ann, maya, local(MONDAY + DAY, 9))
    b = visit(app, c, ann, maya, local(MONDAY + 2 * DAY, 9))
    cancel(app, a, NOW + timedelta(hours=1))
    cancel(app, b, NOW + timedelta(hours=2))
    again = visit(app, c, ann, maya, local(MONDAY + 3 * DAY, 9), now=NOW + timedelta(hours=3))
    p = read(app, c, NOW + timedelta(hours=3))
    # Two cancelled, one booked since: the first cancelled is replaced, the second not yet.
    assert p.session(a).replaced_by == again
    assert p.session(b).replaced_by is None
    assert (p.upcoming, p.remaining, p.label) == (1, 1, "0 of 2 done")


def test_a_later_write_to_a_cancelled_visit_keeps_its_replacement(app, world, maya, ann):
    c = course(world, ann, maya, sessions=2)
    gone = visit(app, c, ann, maya, local(MONDAY + DAY, 9))
    cancel(app, gone, NOW + timedelta(hours=1))
    again = visit(app, c, ann, maya, local(MONDAY + 2 * DAY, 9), now=NOW + timedelta(hours=2))
    with app.app_context():  # as a merge of two records does: `updated_at` moves on
        db.session.execute(
            update(Appointment).where(Appointment.id == gone).values(updated_at=NOW + 9 * DAY)
        )
        db.session.commit()
    assert read(app, c, NOW).session(gone).replaced_by == again


def test_remaining_is_never_below_zero(app, world, maya, ann):
    c = course(world, ann, maya, sessions=1)
    for n in (1, 2, 3):
        visit(app, c, ann, maya, local(MONDAY + DAY * n, 9))
    p = read(app, c, NOW)
    assert (p.upcoming, p.remaining) == (3, 0)


def test_the_batch_form_agrees_with_one_course_at_a_time_in_two_queries(app, world, maya, ann):
    ben = person("Ben Roy", "ben@example.com")
    world.add(ben)
    one = course(world, ann, maya, sessions=3)
    other = course(world, ben.id, maya, sessions=5)
    empty = course(world, ann, maya, sessions=2)
    visit(app, one, ann, maya, local(MONDAY + DAY, 9))
    visit(app, other, ben.id, maya, local(MONDAY + DAY, 13))
    visit(app, other, ben.id, maya, local(MONDAY + 2 * DAY, 13))
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            many = progresses([one, other, empty, 999], now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.startswith("SELECT")]) == 2
    assert set(many) == {one, other, empty}  # an unknown id is left out
    for c in (one, other, empty):
        assert many[c] == read(app, c, NOW)
    assert (many[other].upcoming, many[empty].visits) == (2, ())
    with app.app_context():
        assert progresses([], now=NOW) == {}
        with pytest.raises(NotFound):
            progress(999, now=NOW)


def completions(app, course_id):
    with app.app_context():
        return [
            (e.action, e.actor, e.after)
            for e in db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity == "course", AuditEvent.entity_id == course_id
                )
            )
        ]


def test_the_last_planned_session_completed_completes_the_course(app, world, maya, ann):
    c = course(world, ann, maya, sessions=2)
    starts = [local(MONDAY + DAY * n, 9) for n in (1, 3, 5)]
    first, second, third = [visit(app, c, ann, maya, s) for s in starts]
    mark(app, first, Mark.COMPLETED, starts[0])
    assert status_of(app, c) == (CourseStatus.ACTIVE, None)
    mark(app, second, Mark.NO_SHOW, starts[1])  # a no-show is not a session done
    assert status_of(app, c) == (CourseStatus.ACTIVE, None)
    assert completions(app, c) == []
    mark(app, third, Mark.COMPLETED, starts[2])
    marked_at = starts[2] + timedelta(minutes=50)
    assert status_of(app, c) == (CourseStatus.COMPLETED, marked_at)
    assert completions(app, c) == [
        ("course_completed", "reception", {"status": "completed", "done": 2, "sessions": 2})
    ]
    assert read(app, c, marked_at).label == "2 of 2 done"
    # No "book your next visit": visits were booked ahead of the first, and the third
    # completed the course.
    assert book_next_for(app) == []


def book_next_for(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.appointment_id).where(
            OutboxMessage.event == Event.BOOK_NEXT.value)))  # fmt: skip


def test_a_session_with_nothing_ahead_asks_for_the_next_but_the_last_does_not(
    app, world, maya, ann
):
    c = course(world, ann, maya, sessions=2)
    starts = [local(MONDAY + DAY * n, 9) for n in (1, 3)]
    first = visit(app, c, ann, maya, starts[0])
    mark(app, first, Mark.COMPLETED, starts[0])
    assert book_next_for(app) == [first]  # a course half done, nothing booked ahead
    second = visit(app, c, ann, maya, starts[1])
    mark(app, second, Mark.COMPLETED, starts[1])
    assert status_of(app, c)[0] == CourseStatus.COMPLETED
    assert book_next_for(app) == [first]  # the course is done: no "book your next visit"


def test_arrival_and_a_visit_outside_any_course_leave_courses_alone(app, world, maya, ann):
    c = course(world, ann, maya, sessions=1)
    start = local(MONDAY + DAY, 9)
    session = visit(app, c, ann, maya, start)
    loose = visit(app, None, ann, maya, local(MONDAY + 2 * DAY, 9))
    with app.app_context():
        checkin.mark(session, Mark.ARRIVED, actor="reception", now=start - timedelta(minutes=5))
    mark(app, loose, Mark.COMPLETED, local(MONDAY + 2 * DAY, 9))
    assert status_of(app, c) == (CourseStatus.ACTIVE, None)


def test_a_course_ended_early_stays_ended_when_its_last_visit_is_marked(app, world, maya, ann):
    c = course(world, ann, maya, sessions=1)
    start = local(MONDAY + DAY, 9)
    session = visit(app, c, ann, maya, start)
    with app.app_context():
        row = db.session.get(Course, c)
        row.status, row.ended_at, row.end_reason = CourseStatus.ENDED.value, NOW, "moved away"
        db.session.commit()
    mark(app, session, Mark.COMPLETED, start)
    assert status_of(app, c) == (CourseStatus.ENDED, NOW)
    assert completions(app, c) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_last_two_sessions_marked_at_once_complete_the_course_once(
    app, world, maya, ann, database_url
):
    """Each mark waits for the course's row lock, so the second one counts the first's visit.

    A third connection holds that lock until both marks wait for it: without the lock each
    would count only its own completed visit, and the course would never complete.
    """
    c = course(world, ann, maya, sessions=2)
    starts = [local(MONDAY + DAY * n, 9) for n in (1, 2)]
    visits = [visit(app, c, ann, maya, s) for s in starts]
    later = starts[1] + timedelta(hours=2)
    engine = create_engine(database_url)
    errors: list[BaseException] = []

    def mark_one(visit_id: int) -> None:
        try:
            with app.app_context():
                checkin.mark(visit_id, Mark.COMPLETED, actor="reception", now=later)
        except BaseException as exc:  # a thread's failure, asserted below
            errors.append(exc)

    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    with engine.connect() as holder, engine.connect() as watcher:
        holder.execute(text("SELECT id FROM course WHERE id = :c FOR UPDATE"), {"c": c})
        threads = [threading.Thread(target=mark_one, args=(v,)) for v in visits]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while watcher.execute(waiting).scalar() < 2:
            assert time.monotonic() < deadline, "the marks never waited for the course's lock"
            time.sleep(0.05)
        holder.rollback()  # let them through, one after the other
        for thread in threads:
            thread.join(timeout=20)
    engine.dispose()
    assert errors == []
    assert status_of(app, c) == (CourseStatus.COMPLETED, later)
    assert [a for a, _, _ in completions(app, c)] == ["course_completed"]
