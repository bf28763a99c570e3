"""The courses report: started, completed and stopped per therapist and clinic-local month."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from support import VANCOUVER, person

from booking.models import Appointment, Course, CourseStatus, Status
from booking.services.courses import reports
from booking.services.errors import InvalidRequest

JAN, FEB, MAR = date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VANCOUVER)


class Clinic:
    """Courses and their visits written as rows: the report reads only what they hold."""

    def __init__(self, world):
        self.world = world
        self.maya = world.make_therapist("Maya Chen")
        self.daniel = world.make_therapist("Daniel Okafor")
        ann = person("Ann Gill", f"ann-{uuid.uuid4().hex[:6]}@example.com")
        world.add(ann)
        self.patient = ann.id
        self.day = datetime(2026, 1, 5, 17, tzinfo=UTC)  # each visit a day after the last

    def course(self, therapist, created, *, status=CourseStatus.ACTIVE, ended=None, done=0,
               missed=0):  # fmt: skip
        row = Course(
            patient_id=self.patient,
            therapist_id=therapist,
            service_id=self.world.services["physio"].id,
            sessions=8,
            created_by="reception",
            created_at=created,
            status=status.value,
            ended_at=ended,
        )
        self.world.add(row)
        visits = [Status.COMPLETED] * done + [Status.NO_SHOW] * missed + [Status.CANCELLED]
        self.world.add(*(self._visit(row.id, therapist, s) for s in visits))
        return row.id

    def _visit(self, course_id, therapist, status):
        self.day += timedelta(days=1)
        key = uuid.uuid4().hex
        return Appointment(
            reference=key[:10], therapist_id=therapist, patient_id=self.patient,
            service_id=self.world.services["physio"].id, start_at=self.day,
            end_at=self.day + timedelta(minutes=45), occupied_until=self.day + timedelta(hours=1),
            status=status.value, calendar_uid=f"{key}@test", manage_token_hash=key + key[:32],
            course_id=course_id,
        )  # fmt: skip


@pytest.fixture
def clinic(world):
    return Clinic(world)


def run(app, first=JAN, last=MAR, **kw):
    with app.app_context():
        return reports.report(first, last, zone=VANCOUVER, **kw)


def test_the_numbers_of_a_known_set_of_courses(app, clinic):
    maya, daniel = clinic.maya, clinic.daniel
    ended, completed = CourseStatus.ENDED, CourseStatus.COMPLETED
    clinic.course(maya, at(JAN, 10))
    clinic.course(maya, at(JAN, 11), status=completed, ended=at(FEB + timedelta(9), 12), done=8)
    clinic.course(maya, at(JAN, 12), status=ended, ended=at(FEB, 12), done=2, missed=1)
    clinic.course(maya, at(FEB, 10), status=ended, ended=at(FEB + timedelta(3), 9), done=2)
    clinic.course(maya, at(FEB, 11), status=ended, ended=at(MAR, 9), done=0, missed=2)
    clinic.course(daniel, at(MAR, 10), status=ended, ended=at(MAR + timedelta(5), 9), done=5)
    clinic.course(daniel, at(date(2026, 12, 31), 10))  # before the range
    clinic.course(daniel, at(date(2027, 4, 1), 10))  # after it
    report = run(app)
    assert report.months == (JAN, FEB, MAR)
    assert report.names == {maya: "Maya Chen", daniel: "Daniel Okafor"}
    got = [(r.therapist_id, r.month, r.started, r.completed, r.stopped) for r in report.rows]
    assert got == [
        (daniel, MAR, 1, 0, ((5, 1),)),  # "Daniel" sorts before "Maya"
        (maya, JAN, 3, 0, ()),
        (maya, FEB, 2, 1, ((2, 2),)),  # two stopped after their second session
        (maya, MAR, 0, 0, ((0, 1),)),  # no-shows are not sessions done
    ]
    assert [(t.month, t.started, t.completed, t.ended_early) for t in report.totals] == [
        (JAN, 3, 0, 0),
        (FEB, 2, 1, 2),
        (MAR, 1, 0, 2),
    ]
    assert report.stopped == ((0, 1), (2, 2), (5, 1))
    assert report.median_stop == 2
    assert report.rows[2].median_stop == 2 and report.rows[1].median_stop is None
    # A therapist's own numbers only.
    mine = run(app, therapist_ids=[daniel])
    assert [(r.therapist_id, r.started) for r in mine.rows] == [(daniel, 1)]
    assert mine.stopped == ((5, 1),) and mine.median_stop == 5


@pytest.mark.parametrize(
    ("created", "month"),
    [
        (at(date(2027, 1, 31), 23, 30), JAN),  # 07:30 UTC on February 1
        (at(FEB, 0, 0), FEB),  # the month's first instant is its own
        (at(date(2027, 2, 28), 23, 59), FEB),
        (at(MAR, 0, 30), MAR),
        (at(date(2027, 3, 31), 23, 30), MAR),  # PDT since March 14: 06:30 UTC on April 1
    ],
)
def test_months_are_the_clinics(app, clinic, created, month):
    clinic.course(clinic.maya, created)
    [row] = run(app).rows
    assert (row.month, row.started) == (month, 1)


def test_an_even_count_of_stops_has_the_middle_median(app, clinic):
    for done in (1, 2, 4, 7):
        clinic.course(clinic.maya, at(JAN, 9), status=CourseStatus.ENDED, ended=at(JAN, 18),
                      done=done)  # fmt: skip
    assert run(app).median_stop == 3


def test_no_courses_is_an_empty_report_with_every_month(app, clinic):
    report = run(app, date(2026, 4, 1), date(2027, 3, 31))
    assert report.empty and report.rows == () and report.stopped == ()
    assert len(report.months) == len(report.totals) == 12
    assert report.months[0] == date(2026, 4, 1) and report.median_stop is None


def test_the_range_defaults_to_the_last_twelve_months_and_refuses_a_bad_one():
    assert reports.default_range(date(2027, 3, 17)) == (date(2026, 4, 1), MAR)
    assert reports.default_range(date(2027, 12, 1)) == (JAN, date(2027, 12, 1))
    assert len(reports.month_range(date(2024, 4, 1), date(2027, 3, 1))) == reports.MAX_MONTHS
    with pytest.raises(InvalidRequest, match="at most 36"):
        reports.month_range(date(2024, 3, 1), date(2027, 3, 1))
    with pytest.raises(InvalidRequest, match="comes before"):
        reports.month_range(MAR, FEB)
