"""A therapist's weekly hours and time off, and the visits a change leaves outside them.

Changing availability never moves or cancels a booked visit: the change is saved, and the
visits it leaves outside working time are returned so reception can move them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select

from booking.availability import overlaps, working_windows
from booking.database import write_transaction
from booking.extensions import db
from booking.models import Appointment, AuditEvent, Status, Therapist, TimeOff, WorkingHours
from booking.services import catalog as catalogs
from booking.services.clinic import local_day_bounds
from booking.services.errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOWS = 3  # per day: morning, afternoon, evening
Windows = dict[int, list[tuple[time, time]]]


@dataclass(frozen=True, slots=True)
class Orphan:
    """A booked visit that is no longer inside its therapist's working time."""

    id: int
    reference: str
    start: datetime
    end: datetime
    why: str
    therapist_id: int


def weekly_hours(therapist_id: int) -> Windows:
    rows = db.session.scalars(
        select(WorkingHours)
        .where(WorkingHours.therapist_id == therapist_id)
        .order_by(WorkingHours.weekday, WorkingHours.start_time)
    )
    found: Windows = {day: [] for day in range(7)}
    for row in rows:
        found[row.weekday].append((row.start_time, row.end_time))
    return found


def check_windows(windows: Windows) -> dict[str, str]:
    """Return field errors for a week of windows: each ends after it starts, none overlap."""
    errors = {}
    for day, spans in windows.items():
        ordered = sorted(spans)
        for i, (start, end) in enumerate(ordered):
            if end <= start:
                errors[f"d{day}"] = f"{WEEKDAYS[day]}: each period must end after it starts."
            elif i and start < ordered[i - 1][1]:
                errors[f"d{day}"] = f"{WEEKDAYS[day]}: the periods overlap."
        if len(spans) > MAX_WINDOWS:
            errors[f"d{day}"] = f"{WEEKDAYS[day]}: at most {MAX_WINDOWS} periods."
    return errors


def set_weekly_hours(
    therapist_id: int, windows: Windows, *, actor: str, now: datetime
) -> list[Orphan]:
    """Replace the therapist's weekly hours; return the booked visits now outside them."""
    if errors := check_windows(windows):
        raise InvalidRequest(errors)
    with write_transaction() as session:
        if session.get(Therapist, therapist_id) is None:
            raise NotFound("There is no such therapist.")
        before = _as_text(weekly_hours(therapist_id))
        session.execute(delete(WorkingHours).where(WorkingHours.therapist_id == therapist_id))
        for day, spans in windows.items():
            for start, end in sorted(spans):
                session.add(
                    WorkingHours(
                        therapist_id=therapist_id, weekday=day, start_time=start, end_time=end
                    )
                )
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="hours_changed",
                entity="therapist",
                entity_id=therapist_id,
                before=before,
                after=_as_text(windows),
            )
        )
    log.info("weekly hours of therapist %s changed", therapist_id)
    return orphans(therapist_id, now=now)


def add_time_off(
    therapist_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> list[Orphan]:
    """Record an absence; return the booked visits it overlaps."""
    if end <= start:
        raise InvalidRequest({"end": "The time off must end after it starts."})
    if end <= now:
        raise InvalidRequest({"end": "This time off is already over."})
    if end - start > timedelta(days=366):
        raise InvalidRequest({"end": "Enter at most a year of time off at once."})
    with write_transaction() as session:
        if session.get(Therapist, therapist_id) is None:
            raise NotFound("There is no such therapist.")
        row = TimeOff(therapist_id=therapist_id, start_at=start, end_at=end, reason=reason.strip())
        session.add(row)
        session.flush()
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="time_off_added",
                entity="therapist",
                entity_id=therapist_id,
                after={"id": row.id, "start_at": start.isoformat(), "end_at": end.isoformat()},
            )
        )
    return orphans(therapist_id, now=now)


def remove_time_off(therapist_id: int, time_off_id: int, *, actor: str, now: datetime) -> None:
    with write_transaction() as session:
        row = session.get(TimeOff, time_off_id)
        if row is None or row.therapist_id != therapist_id:
            raise NotFound("No such time off.")
        session.delete(row)
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="time_off_removed",
                entity="therapist",
                entity_id=therapist_id,
                before={"id": time_off_id, "start_at": row.start_at.isoformat()},
            )
        )


def upcoming_time_off(therapist_id: int, now: datetime) -> list[TimeOff]:
    return list(
        db.session.scalars(
            select(TimeOff)
            .where(TimeOff.therapist_id == therapist_id, TimeOff.end_at > now)
            .order_by(TimeOff.start_at)
        )
    )


def orphans(therapist_id: int, *, now: datetime) -> list[Orphan]:
    """Booked future visits of the therapist outside their hours, in time off or a closure."""
    return needing_move(now=now, therapist_ids=[therapist_id])


def needing_move(
    *,
    now: datetime,
    therapist_ids: list[int] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> list[Orphan]:
    """Booked future visits outside their therapist's hours, in time off or a closure.

    Of the therapists given (everyone with None), on the local days `first` to `last` when
    given: what reception must move, in time order.
    """
    catalog = catalogs.current()
    zone = catalog.clinic.zone
    query = select(Appointment).where(
        Appointment.status == Status.BOOKED.value, Appointment.start_at > now
    )
    if therapist_ids is not None:
        query = query.where(Appointment.therapist_id.in_(therapist_ids))
    if first is not None and last is not None:
        start, end = local_day_bounds(first, last, zone)
        query = query.where(Appointment.start_at >= start, Appointment.start_at < end)
    visits = db.session.scalars(query.order_by(Appointment.start_at, Appointment.id)).all()
    if not visits:
        return []
    absences: dict[int, list[tuple[datetime, datetime]]] = {}
    for who, a, b in db.session.execute(
        select(TimeOff.therapist_id, TimeOff.start_at, TimeOff.end_at).where(
            TimeOff.therapist_id.in_({v.therapist_id for v in visits}), TimeOff.end_at > now
        )
    ):
        absences.setdefault(who, []).append((a, b))
    found = []
    for visit in visits:
        day: date = visit.start_at.astimezone(zone).date()
        week = catalog.hours.get(visit.therapist_id, {})
        inside = any(
            w.start <= visit.start_at and visit.end_at <= w.end
            for w in working_windows(week, day, zone)  # the engine's windows, DST included
        )
        away = absences.get(visit.therapist_id, [])
        why = ""
        if catalog.closed_dates(day, day):
            why = "the clinic is closed that day"
        elif any(overlaps(visit.start_at, visit.end_at, a, b) for a, b in away):
            why = "time off"
        elif not inside:
            why = "outside the working hours"
        if why:
            found.append(
                Orphan(
                    visit.id, visit.reference, visit.start_at, visit.end_at, why,
                    visit.therapist_id,
                )
            )  # fmt: skip
    return found


def _as_text(windows: Windows) -> dict[str, list[str]]:
    return {
        WEEKDAYS[day]: [f"{a:%H:%M}-{b:%H:%M}" for a, b in sorted(spans)]
        for day, spans in windows.items()
        if spans
    }
