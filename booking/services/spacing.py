"""Spacing between one person's needling visits: the days a new one may not fall on.

Soreness after needling lasts a day or two, so two needling visits (`requires_ims`) of one
person whose clinic-local dates are fewer than `needling_spacing_days` apart are refused
(with 2: Monday then Wednesday, not Monday then Tuesday); 0 turns the rule off. Only visits
that hold their time and happened or will count: booked or completed, not cancelled, not a
no-show. The booking rules (booking/rules.py) refuse such a time; the availability a person
on record is shown (`find_slots` with `patient_id`) leaves those days out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import bindparam, select

from booking.availability import Slot
from booking.database import execute
from booking.models import Appointment, Status, UTCDateTime
from booking.services.catalog import Catalog, ServiceInfo
from booking.services.clinic import local_day_bounds

COUNTED = (Status.BOOKED.value, Status.COMPLETED.value)
# Core, built once: run on each booking of a needling service and each availability page of
# a person on record; the (patient_id, start_at) index bounds it.
_NEEDLING_VISITS = select(Appointment.start_at).where(
    Appointment.patient_id == bindparam("patient"),
    Appointment.service_id.in_(bindparam("services", expanding=True)),
    Appointment.status.in_(COUNTED),
    Appointment.start_at >= bindparam("lower", type_=UTCDateTime()),
    Appointment.start_at < bindparam("upper", type_=UTCDateTime()),
    Appointment.id != bindparam("exclude"),
)


def applies(catalog: Catalog, service: ServiceInfo, patient_id: int | None) -> bool:
    """Return whether the rule is on and concerns a visit of `service` for this person."""
    return bool(patient_id and service.requires_ims and catalog.clinic.needling_spacing_days)


def needling_days(
    catalog: Catalog,
    patient_id: int,
    first: date,
    last: date,
    *,
    exclude: int | None = None,
) -> list[date]:
    """Return the local dates of the person's counted needling visits near `[first, last]`.

    "Near" is within the spacing either side: those are the visits that forbid a day inside.
    """
    clinic = catalog.clinic
    reach = timedelta(days=clinic.needling_spacing_days)
    needling = [s.id for s in catalog.services.values() if s.requires_ims]
    lower, upper = local_day_bounds(first - reach, last + reach, clinic.zone)
    rows = execute(
        _NEEDLING_VISITS,
        {
            "patient": patient_id,
            "services": needling,
            "lower": lower,
            "upper": upper,
            "exclude": exclude or 0,
        },
    )
    return sorted({start.astimezone(clinic.zone).date() for (start,) in rows})


def too_close(catalog: Catalog, day: date, visits: Iterable[date]) -> date | None:
    """Return the visit day (the nearest) that a needling visit on `day` is too close to."""
    spacing = catalog.clinic.needling_spacing_days
    close = [v for v in visits if abs((v - day).days) < spacing]
    return min(close, key=lambda v: (abs((v - day).days), v)) if close else None


def forbidden_days(
    catalog: Catalog,
    service: ServiceInfo,
    patient_id: int | None,
    first: date,
    last: date,
    *,
    exclude: int | None = None,
) -> set[date]:
    """Return the dates in `[first, last]` a needling visit of this person may not fall on."""
    if not applies(catalog, service, patient_id):
        return set()
    assert patient_id is not None  # `applies` says so
    visits = needling_days(catalog, patient_id, first, last, exclude=exclude)
    spacing = catalog.clinic.needling_spacing_days
    forbidden = set()
    for visit in visits:
        for offset in range(1 - spacing, spacing):
            day = visit + timedelta(days=offset)
            if first <= day <= last:
                forbidden.add(day)
    return forbidden


def leave_out(catalog: Catalog, slots: list[Slot], forbidden: set[date]) -> list[Slot]:
    """Return the slots whose local date is not forbidden."""
    if not forbidden:
        return slots
    zone = catalog.clinic.zone
    return [s for s in slots if s.start.astimezone(zone).date() not in forbidden]
