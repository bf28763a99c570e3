"""A week of bookable times, as the time-choice pages show it (booking and rescheduling)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from booking.dates import period
from booking.services.availability import find_slots
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo
from booking.services.changes import inside_cutoff

SEARCH_CHUNK = timedelta(days=14)
PERIODS = ("morning", "afternoon", "evening")


@dataclass(frozen=True, slots=True)
class Time:
    """One time a patient may choose: one button (or link) on the page."""

    start: datetime
    period: str  # "morning", "afternoon" or "evening" in the clinic's zone


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    times: tuple[Time, ...]


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    times: tuple[Time, ...]  # each offered start once, however many therapists share it

    @property
    def starts(self) -> tuple[datetime, ...]:
        return tuple(t.start for t in self.times)

    @property
    def periods(self) -> tuple[Period, ...]:
        """Return the day's times as morning, afternoon and evening (those with a time)."""
        return tuple(
            Period(name, tuple(t for t in self.times if t.period == name))
            for name in PERIODS
            if any(t.period == name for t in self.times)
        )


@dataclass(frozen=True, slots=True)
class Week:
    monday: date
    days: tuple[Day, ...]
    earlier: date | None  # the previous week's Monday, if it is not wholly in the past
    later: date | None  # the next week's Monday, if it starts inside the booking horizon
    first_available: date | None  # the first day from today with a free time, if any
    # Whether a start is inside the change cut-off: marked, since it locks soon after booking.
    late: Callable[[datetime], bool] = field(default=lambda start: False, compare=False)

    @property
    def empty(self) -> bool:
        return not any(day.times for day in self.days)

    def selected(self, wanted: date | None) -> Day | None:
        """Return the day to show: `wanted` if it has times, else the week's first that does."""
        with_times = [day for day in self.days if day.times]
        chosen = next((day for day in with_times if day.date == wanted), None)
        return chosen or (with_times[0] if with_times else None)

    @property
    def any_late(self) -> bool:
        return any(self.late(start) for day in self.days for start in day.starts)


def offering(catalog: Catalog, service: ServiceInfo, now: datetime) -> list[TherapistInfo]:
    """Return the therapists a patient may choose for `service` today."""
    return catalog.therapists_for(service, on=now.astimezone(catalog.clinic.zone).date())


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def build_week(
    catalog: Catalog,
    service: ServiceInfo,
    therapists: Sequence[TherapistInfo],
    monday: date,
    *,
    now: datetime,
    exclude_appointment_id: int | None = None,
    patient_id: int | None = None,
) -> Week:
    """Return the bookable starts of the week beginning `monday`, in the clinic's zone.

    Days before today are left out: nobody books them, so they are not shown. With
    `patient_id` (a verified person), so are the days their needling spacing forbids.
    """
    zone = catalog.clinic.zone
    today = now.astimezone(zone).date()
    last_day = (now + catalog.clinic.booking_horizon).astimezone(zone).date()
    sunday = monday + timedelta(days=6)
    slots = find_slots(
        catalog,
        service,
        monday,
        sunday,
        now=now,
        therapists=therapists,
        exclude_appointment_id=exclude_appointment_id,
        patient_id=patient_id,
    )
    by_day: dict[date, dict[datetime, None]] = {
        monday + timedelta(days=i): {} for i in range(7) if monday + timedelta(days=i) >= today
    }
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(zone).date(), {})[slot.start] = None
    first: date | None
    if slots and monday <= today:
        first = slots[0].start.astimezone(zone).date()
    else:
        first = first_available_day(
            catalog,
            service,
            therapists,
            now=now,
            exclude_appointment_id=exclude_appointment_id,
            patient_id=patient_id,
        )
    return Week(
        monday=monday,
        days=tuple(
            Day(day, tuple(Time(start, period(start, zone)) for start in starts))
            for day, starts in by_day.items()
        ),
        earlier=monday - timedelta(days=7) if monday > monday_of(today) else None,
        later=monday + timedelta(days=7) if monday + timedelta(days=7) <= last_day else None,
        first_available=first,
        late=late_check(catalog, now),
    )


def late_check(catalog: Catalog, now: datetime) -> Callable[[datetime], bool]:
    """Return the test the time-choice pages mark times with: inside the cut-off."""
    clinic = catalog.clinic
    return lambda start: inside_cutoff(start, clinic, now)


def first_available_day(
    catalog: Catalog,
    service: ServiceInfo,
    therapists: Sequence[TherapistInfo],
    *,
    now: datetime,
    exclude_appointment_id: int | None = None,
    patient_id: int | None = None,
) -> date | None:
    """Return the first local date with a bookable time within the horizon, or None."""
    zone = catalog.clinic.zone
    day = now.astimezone(zone).date()
    last_day = (now + catalog.clinic.booking_horizon).astimezone(zone).date()
    while day <= last_day:
        until = min(day + SEARCH_CHUNK, last_day)
        slots = find_slots(
            catalog,
            service,
            day,
            until,
            now=now,
            therapists=therapists,
            exclude_appointment_id=exclude_appointment_id,
            patient_id=patient_id,
        )
        if slots:
            return slots[0].start.astimezone(zone).date()
        day = until + timedelta(days=1)
    return None
