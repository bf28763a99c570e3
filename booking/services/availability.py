"""Load what the availability engine needs, and ask it for slots."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, select, union_all

from booking.availability import Interval, Schedule, Slot, bookable_slots
from booking.availability.intervals import merge
from booking.database import execute
from booking.models import (
    Appointment,
    Status,
    TimeOff,
    UTCDateTime,
    overlaps_sql,
)
from booking.services import spacing
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo
from booking.services.clinic import local_day_bounds

MAX_RANGE_DAYS = 31
LONGEST_OCCUPANCY = timedelta(days=1)  # enforced by the database: see migration 0001
NEAR = timedelta(days=7)  # how far either side of a wanted day alternatives are looked for


# Built once: the hottest query in the app, so SQLAlchemy compiles and caches it one time.
_START = bindparam("start", type_=UTCDateTime())
_END = bindparam("end", type_=UTCDateTime())
_BOOKED = select(Appointment.therapist_id, Appointment.start_at, Appointment.occupied_until).where(
    Appointment.therapist_id.in_(bindparam("ids", expanding=True)),
    Appointment.status != Status.CANCELLED.value,
    Appointment.start_at >= bindparam("lower", type_=UTCDateTime()),  # bounds the range scan
    overlaps_sql(Appointment.start_at, Appointment.occupied_until, _START, _END),
    Appointment.id != bindparam("exclude"),
)
_AWAY = select(TimeOff.therapist_id, TimeOff.start_at, TimeOff.end_at).where(
    TimeOff.therapist_id.in_(bindparam("ids", expanding=True)),
    overlaps_sql(TimeOff.start_at, TimeOff.end_at, _START, _END),
)
# One round trip: to the engine, time off and bookings alike are time that is not free.
_BLOCKED = union_all(_BOOKED, _AWAY)


def blocked_time(
    therapist_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    exclude_appointment_id: int | None = None,
) -> dict[int, list[Interval]]:
    """Return, per therapist, the booked and time-off intervals that touch `[start, end)`."""
    if not therapist_ids:
        return {}
    params = {
        "ids": list(therapist_ids),
        "lower": start - LONGEST_OCCUPANCY,
        "start": start,
        "end": end,
        "exclude": exclude_appointment_id or 0,
    }
    blocked: dict[int, list[Interval]] = defaultdict(list)
    for tid, t0, t1 in execute(_BLOCKED, params):
        blocked[tid].append(Interval(t0, t1))
    return blocked


def find_slots(
    catalog: Catalog,
    service: ServiceInfo,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    therapists: Sequence[TherapistInfo] | None = None,
    exclude_appointment_id: int | None = None,
    notice: timedelta | None = None,
    patient_id: int | None = None,
) -> list[Slot]:
    """Return the bookable slots of `service` on the clinic's local dates given (inclusive).

    `therapists` narrows the search; by default it is everyone who offers the service.
    `notice` replaces the clinic's minimum notice (reception may book at short notice).
    `patient_id`, a person on record (staff's, or a verified household's), leaves out the
    days the spacing between their needling visits forbids (`spacing`).
    """
    zone = catalog.clinic.zone
    if therapists is None:
        therapists = catalog.therapists_for(service)
    start, end = local_day_bounds(first_day, last_day, zone)
    # A visit late on the last day holds the therapist past its end (its buffer may run past
    # midnight): what is busy then blocks it too.
    until = end.astimezone(UTC) + service.occupies
    blocked = blocked_time(
        [t.id for t in therapists], start, until, exclude_appointment_id=exclude_appointment_id
    )
    schedules = [
        Schedule(
            therapist_id=t.id,
            weekly_hours=catalog.hours.get(t.id, {}),
            busy=blocked.get(t.id, ()),
            last_day=t.ims_certification_expires if service.requires_ims else None,
        )
        for t in therapists
    ]
    slots = bookable_slots(
        schedules,
        duration=service.duration,
        buffer=service.buffer,
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        closures=catalog.closed_dates(first_day, last_day),
        policy=catalog.policy if notice is None else replace(catalog.policy, notice=notice),
        now=now,
    )
    forbidden = spacing.forbidden_days(
        catalog, service, patient_id, first_day, last_day, exclude=exclude_appointment_id
    )
    return spacing.leave_out(catalog, slots, forbidden)


class DaySlots:
    """The slots of some therapists, one day at a time, from one query for a span of days.

    For a course: its busy times are read once for the whole span (one round trip, as
    `find_slots`) and merged once, and the engine then runs only for the days asked for, each
    once, with only the busy times that can touch that day, instead of building every slot of
    ten weeks that nobody looks at.
    """

    def __init__(
        self,
        catalog: Catalog,
        service: ServiceInfo,
        therapists: Sequence[TherapistInfo],
        first_day: date,
        last_day: date,
        *,
        now: datetime,
    ) -> None:
        self.catalog, self.service, self.now = catalog, service, now
        self.first_day, self.last_day = first_day, last_day
        self.therapists = {t.id: t for t in therapists}
        start, end = local_day_bounds(first_day, last_day, catalog.clinic.zone)
        until = end.astimezone(UTC) + service.occupies  # as `find_slots`
        self.blocked = {
            therapist_id: merge(Interval(s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy)
            for therapist_id, busy in blocked_time(list(self.therapists), start, until).items()
        }
        self.blocked_ends = {t: [i.end for i in busy] for t, busy in self.blocked.items()}
        self.closed = catalog.closed_dates(first_day, last_day)
        self._found: dict[tuple[date, int], list[Slot]] = {}

    def on(self, day: date, therapist_id: int) -> list[Slot]:
        """The therapist's slots on `day` (none outside the span or for someone else)."""
        key = (day, therapist_id)
        if key not in self._found:
            therapist = self.therapists.get(therapist_id)
            if therapist is None or not self.first_day <= day <= self.last_day:
                self._found[key] = []
            else:
                self._found[key] = self._engine(therapist, day)
        return self._found[key]

    def _engine(self, therapist: TherapistInfo, day: date) -> list[Slot]:
        catalog, service = self.catalog, self.service
        busy = self.blocked.get(therapist.id, [])
        # The busy times a visit of this day can meet: those that end after the day begins,
        # up to the first that begins after a visit starting at its end would be over.
        start, end = local_day_bounds(day, day, catalog.clinic.zone)
        first = bisect_right(self.blocked_ends.get(therapist.id, []), start)
        reach = end.astimezone(UTC) + service.occupies  # elapsed, not wall
        last = first
        while last < len(busy) and busy[last].start < reach:
            last += 1
        schedule = Schedule(
            therapist_id=therapist.id,
            weekly_hours=catalog.hours.get(therapist.id, {}),
            busy=busy[first:last],
            last_day=therapist.ims_certification_expires if service.requires_ims else None,
        )
        return bookable_slots(
            [schedule],
            duration=service.duration,
            buffer=service.buffer,
            first_day=day,
            last_day=day,
            zone=catalog.clinic.zone,
            closures=self.closed,
            policy=catalog.policy,
            now=self.now,
        )


def slot_at(
    catalog: Catalog,
    service: ServiceInfo,
    start: datetime,
    *,
    now: datetime,
    therapists: Sequence[TherapistInfo] | None = None,
    exclude_appointment_id: int | None = None,
    notice: timedelta | None = None,
    patient_id: int | None = None,
) -> Slot | None:
    """Return the first slot (lowest therapist id) offered at exactly `start`, or None."""
    day = start.astimezone(catalog.clinic.zone).date()
    slots = find_slots(
        catalog,
        service,
        day,
        day,
        now=now,
        therapists=therapists,
        exclude_appointment_id=exclude_appointment_id,
        notice=notice,
        patient_id=patient_id,
    )
    return next((slot for slot in slots if slot.start == start), None)


def distinct_starts(slots: Iterable[Slot]) -> list[datetime]:
    """Return each start time once, in order: what a patient chooses between."""
    return sorted({slot.start: None for slot in slots})


def nearest_slots(
    catalog: Catalog,
    service: ServiceInfo,
    wanted: datetime,
    *,
    now: datetime,
    therapists: Sequence[TherapistInfo] | None = None,
    exclude_appointment_id: int | None = None,
    patient_id: int | None = None,
    limit: int = 5,
) -> list[Slot]:
    """Return up to `limit` bookable slots closest to `wanted`, within a week either side.

    With `patient_id`, only on days that keep the spacing of that person's needling visits.
    """
    zone = catalog.clinic.zone
    first, last = near_days(wanted.astimezone(zone).date(), now.astimezone(zone).date())
    slots = find_slots(
        catalog,
        service,
        first,
        last,
        now=now,
        therapists=therapists,
        exclude_appointment_id=exclude_appointment_id,
        patient_id=patient_id,
    )
    return closest(slots, wanted, limit)


def near_days(day: date, today: date) -> tuple[date, date]:
    """Return the days (first, last) to look for alternatives to `day`: a week either side."""
    return max(day - NEAR, today), max(day + NEAR, today)


def closest(slots: Iterable[Slot], wanted: datetime, limit: int) -> list[Slot]:
    """Return the `limit` slots nearest to `wanted`, in time order."""
    nearest = sorted(slots, key=lambda s: (abs(s.start - wanted), s.start, s.therapist_id))
    return sorted(nearest[:limit])
