"""The next visit after a person's latest one: what one-tap rebooking offers.

Patients in IMS care rebook again and again, mostly with the same therapist at the same
time of the week. From the person's latest held visit (booked or completed) the suggestion is
the same therapist, the same weekday and clinic-local time one cadence step on (the course's,
or a week), else the nearest free time with that therapist, else nothing within the booking
horizon. The wall clock is kept across a DST change: the local time is built first, then
turned into UTC. Pure reads: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, func, select

from booking.availability import Slot
from booking.database import execute
from booking.models import Appointment, Course, CourseStatus, Patient, Status
from booking.services.availability import closest, find_slots, near_days
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo

WEEK = 7  # days between visits that belong to no course
HELD = (Status.BOOKED.value, Status.COMPLETED.value)
TIMES = 3  # how many times "send next times" lists
SEARCH_DAYS = 31  # the stretch of days searched at a time past the nearest week

_LATEST = (
    select(
        Appointment.id,
        Appointment.therapist_id,
        Appointment.service_id,
        Appointment.start_at,
        Appointment.course_id,
        Patient.contact_id,
    )
    .join(Patient, Patient.id == Appointment.patient_id)
    .where(Appointment.patient_id == bindparam("person"), Appointment.status.in_(HELD))
    .order_by(Appointment.start_at.desc(), Appointment.id.desc())
    .limit(1)
)
_COMING = (
    select(Appointment.start_at)
    .where(
        Appointment.patient_id == bindparam("person"),
        Appointment.status == Status.BOOKED.value,
        Appointment.start_at > bindparam("now"),
    )
    .order_by(Appointment.start_at)
    .limit(1)
)
_COURSE = (
    select(Course.id, Course.service_id, Course.cadence_days, Course.sessions, func.count())
    .select_from(Course)
    .outerjoin(Appointment, and_(Appointment.course_id == Course.id, Appointment.status.in_(HELD)))
    .where(Course.id == bindparam("course"), Course.status == CourseStatus.ACTIVE.value)
    .group_by(Course.id, Course.service_id, Course.cadence_days, Course.sessions)
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The visit one tap books, or (no `start`) why none can be offered."""

    after_id: int  # the latest held visit it follows
    person_id: int
    contact_id: int
    therapist: TherapistInfo
    service: ServiceInfo
    course_id: int | None  # the active course the visit would be a session of
    wanted: datetime  # same weekday and wall-clock time, one cadence step on
    times: tuple[datetime, ...]  # free times with the therapist, nearest to `wanted` first

    @property
    def start(self) -> datetime | None:
        return self.times[0] if self.times else None

    @property
    def exact(self) -> bool:
        return self.start == self.wanted


def coming_visit(person_id: int, now: datetime) -> datetime | None:
    """The start of the person's next booked visit, if one is booked."""
    rows = execute(_COMING, {"person": person_id, "now": now})
    start: datetime | None = rows.scalar()
    return start


def suggest(
    catalog: Catalog, person_id: int, *, now: datetime, count: int = 1
) -> Suggestion | None:
    """The next visit for this person, or None when nothing should be offered.

    Nothing is offered to a person with no held visit, or whose course has every session
    booked or held; a visit outside a course is offered only while nothing is booked ahead
    (a patient in a course books session by session, so a booked one does not stop that).
    """
    latest = execute(_LATEST, {"person": person_id}).first()
    if latest is None:
        return None
    visit_id, therapist_id, service_id, last_start, course_id, contact_id = latest
    cadence, service = WEEK, _next_service(catalog, service_id)
    if course_id is not None:
        course = execute(_COURSE, {"course": course_id}).first()
        if course is None:  # ended or completed: an ordinary visit now
            course_id = None
        else:
            _, course_service, cadence, sessions, held = course
            if held >= sessions:
                return None
            service = catalog.services.get(course_service, service)
    if course_id is None and coming_visit(person_id, now) is not None:
        return None
    if service is None or not service.active:
        return None
    therapist = catalog.therapists.get(therapist_id)
    if therapist is None or therapist not in catalog.therapists_for(service):
        return None  # their therapist left or no longer offers it: the ordinary booking
    wanted = step_on(catalog, last_start, cadence, now)
    times = free_times(catalog, service, therapist, wanted, now=now, count=count)
    return Suggestion(
        after_id=visit_id,
        person_id=person_id,
        contact_id=contact_id,
        therapist=therapist,
        service=service,
        course_id=course_id,
        wanted=wanted,
        times=times,
    )


def step_on(catalog: Catalog, last: datetime, cadence_days: int, now: datetime) -> datetime:
    """The same clinic-local wall clock `cadence_days` on from `last`, and on until it is ahead.

    Built as local time, then turned into UTC: 10:00 stays 10:00 across a DST change.
    """
    zone = catalog.clinic.zone
    local = last.astimezone(zone)
    earliest = now + catalog.clinic.min_notice
    steps = 1
    while True:
        day = local.date() + timedelta(days=cadence_days * steps)
        wanted = datetime.combine(day, local.time(), tzinfo=zone).astimezone(last.tzinfo)
        if wanted >= earliest:
            return wanted
        steps += 1


def free_times(
    catalog: Catalog,
    service: ServiceInfo,
    therapist: TherapistInfo,
    wanted: datetime,
    *,
    now: datetime,
    count: int,
) -> tuple[datetime, ...]:
    """Up to `count` free starts with this therapist, the nearest to `wanted` first.

    The week either side of `wanted` first (as every "nearest times" answer), then onwards
    to the booking horizon; none there: an empty answer.
    """
    zone = catalog.clinic.zone
    today = now.astimezone(zone).date()
    first, last = near_days(wanted.astimezone(zone).date(), today)
    slots = _search(catalog, service, therapist, first, last, now)
    horizon_end = (now + catalog.clinic.booking_horizon).astimezone(zone).date()
    while not slots and last < horizon_end:
        first, last = last + timedelta(days=1), min(last + timedelta(days=SEARCH_DAYS), horizon_end)
        slots = _search(catalog, service, therapist, first, last, now)
    nearest = sorted(
        {s.start for s in closest(slots, wanted, count)}, key=lambda s: abs(s - wanted)
    )
    return tuple(nearest[:count])


def _search(
    catalog: Catalog,
    service: ServiceInfo,
    therapist: TherapistInfo,
    first: date,
    last: date,
    now: datetime,
) -> list[Slot]:
    return find_slots(catalog, service, first, last, now=now, therapists=[therapist])


def _next_service(catalog: Catalog, service_id: int) -> ServiceInfo | None:
    """The service of the next visit: after an assessment its follow-up, else the same one.

    Nobody books a second initial assessment for the next session of their care.
    """
    follow_ups = [
        s for s in catalog.services.values() if s.prerequisite_id == service_id and s.active
    ]
    return follow_ups[0] if follow_ups else catalog.services.get(service_id)
