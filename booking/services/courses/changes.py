"""Staff change a course: more sessions, or the end of it (each audited, checked at COMMIT)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from booking.database import transactional
from booking.extensions import db
from booking.models import Course, CourseStatus
from booking.models.course import SESSIONS_MAX
from booking.services import audit
from booking.services.errors import InvalidRequest, NotFound, Stale


@transactional
def add_sessions(course_id: int, more: int, *, actor: str, now: datetime) -> Course:
    """Plan `more` sessions beyond the course's, up to its maximum."""
    course = _active(course_id)
    if not 1 <= more <= SESSIONS_MAX - course.sessions:
        room = SESSIONS_MAX - course.sessions
        raise InvalidRequest({"more": f"At most {SESSIONS_MAX} sessions: {room} more."})
    before = course.sessions
    _conditional(course, sessions=before + more)
    trail = audit.row(actor, "sessions_added", course.id, entity="course", now=now,
                      before={"sessions": before}, after={"sessions": before + more})  # fmt: skip
    audit.record([trail])
    return course


@transactional
def end(course_id: int, reason: str, *, actor: str, now: datetime) -> Course:
    """End the course early; its visits already booked stay booked (staff cancel them)."""
    course = _active(course_id)
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidRequest({"reason": "Say why (at most 200 characters)."})
    _conditional(course, status=CourseStatus.ENDED.value, ended_at=now, end_reason=reason)
    trail = audit.row(actor, "course_ended", course.id, entity="course", now=now,
                      before={"status": "active"}, after={"status": "ended"})  # fmt: skip
    audit.record([trail])
    return course


def _active(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound("No such course.")
    if course.status != CourseStatus.ACTIVE:
        raise InvalidRequest({"course": "This course has already ended."})
    return course


def _conditional(course: Course, **values: object) -> None:
    """Change the row only as it was read: two desks deciding at once, one wins."""
    changed = db.session.execute(
        update(Course)
        .where(Course.id == course.id, Course.status == CourseStatus.ACTIVE.value,
               Course.sessions == course.sessions)
        .values(**values),
        execution_options={"synchronize_session": False},
    )  # fmt: skip
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Stale("This course was changed a moment ago: please look at it again.")
    db.session.refresh(course)
