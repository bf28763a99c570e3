"""Load what the availability engine needs from the database, and ask it for slots."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, union_all

from booking.availability import Interval, Policy, Schedule, Slot, bookable_slots
from booking.extensions import db
from booking.models import (
    Appointment,
    Clinic,
    Service,
    Status,
    Therapist,
    TimeOff,
    WorkingHours,
    therapist_service,
)
from booking.services.clinic import closed_dates, get_clinic, local_day_bounds

MAX_RANGE_DAYS = 31
LONGEST_OCCUPANCY = timedelta(days=1)  # enforced by the database: see migration 0001


def policy_of(clinic: Clinic) -> Policy:
    return Policy(step=clinic.slot_step, notice=clinic.min_notice, horizon=clinic.booking_horizon)


def therapists_for(service: Service, therapist_id: int | None = None) -> list[Therapist]:
    """Return the active therapists who may be booked for `service`, by id."""
    query = (
        select(Therapist)
        .join(therapist_service, therapist_service.c.therapist_id == Therapist.id)
        .where(therapist_service.c.service_id == service.id, Therapist.active.is_(True))
        .order_by(Therapist.id)
    )
    if service.requires_ims:
        query = query.where(Therapist.ims_certified.is_(True))
    if therapist_id is not None:
        query = query.where(Therapist.id == therapist_id)
    return list(db.session.scalars(query))


def load_schedules(
    therapists: Sequence[Therapist],
    service: Service,
    start: datetime,
    end: datetime,
    *,
    exclude_appointment_id: int | None = None,
) -> list[Schedule]:
    """Return each therapist's hours, time off and busy intervals that touch `[start, end)`."""
    ids = [t.id for t in therapists]
    if not ids:
        return []
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for tid, weekday, t0, t1 in db.session.execute(
        select(
            WorkingHours.therapist_id,
            WorkingHours.weekday,
            WorkingHours.start_time,
            WorkingHours.end_time,
        )
        .where(WorkingHours.therapist_id.in_(ids))
        .order_by(WorkingHours.start_time)
    ):
        hours[tid][weekday].append((t0, t1))
    booked = select(
        Appointment.therapist_id, Appointment.start_at, Appointment.occupied_until
    ).where(
        Appointment.therapist_id.in_(ids),
        Appointment.status != Status.CANCELLED.value,
        Appointment.start_at >= start - LONGEST_OCCUPANCY,  # bounds the index range scan
        Appointment.start_at < end,
        Appointment.occupied_until > start,
    )
    if exclude_appointment_id is not None:
        booked = booked.where(Appointment.id != exclude_appointment_id)
    away = select(TimeOff.therapist_id, TimeOff.start_at, TimeOff.end_at).where(
        TimeOff.therapist_id.in_(ids), TimeOff.start_at < end, TimeOff.end_at > start
    )
    # One round trip: to the engine, time off and bookings alike are time that is not free.
    blocked: dict[int, list[Interval]] = defaultdict(list)
    for tid, t0, t1 in db.session.execute(union_all(booked, away)):
        blocked[tid].append(Interval(t0, t1))
    return [
        Schedule(
            therapist_id=t.id,
            weekly_hours=hours[t.id],
            busy=blocked[t.id],
            last_day=t.ims_certification_expires if service.requires_ims else None,
        )
        for t in therapists
    ]


def find_slots(
    service: Service,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
    therapist_id: int | None = None,
    exclude_appointment_id: int | None = None,
    therapists: Sequence[Therapist] | None = None,
) -> list[Slot]:
    """Return the bookable slots of `service` on the clinic's local dates given (inclusive)."""
    clinic = get_clinic()
    zone = clinic.zone
    if therapists is None:
        therapists = therapists_for(service, therapist_id)
    start, end = local_day_bounds(first_day, last_day, zone)
    schedules = load_schedules(
        therapists, service, start, end, exclude_appointment_id=exclude_appointment_id
    )
    return bookable_slots(
        schedules,
        duration=service.duration,
        buffer=service.buffer,
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        closures=closed_dates(first_day, last_day),
        policy=policy_of(clinic),
        now=now,
    )


def nearest_slots(
    service: Service,
    wanted: datetime,
    *,
    now: datetime,
    therapist_id: int | None = None,
    exclude_appointment_id: int | None = None,
    limit: int = 5,
) -> list[Slot]:
    """Return up to `limit` bookable slots closest to `wanted`, within a week either side."""
    zone = get_clinic().zone
    day = wanted.astimezone(zone).date()
    today = now.astimezone(zone).date()
    slots = find_slots(
        service,
        max(day - timedelta(days=7), today),
        max(day + timedelta(days=7), today),
        now=now,
        therapist_id=therapist_id,
        exclude_appointment_id=exclude_appointment_id,
    )
    closest = sorted(slots, key=lambda s: (abs(s.start - wanted), s.start, s.therapist_id))
    return sorted(closest[:limit])
