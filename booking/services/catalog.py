"""Reference data (clinic, services, therapists, weekly hours, closures) as one snapshot.

Availability and bookings are asked for far more often than a clinic changes its services or
hours. Database triggers (migration 0002) bump `catalog_version` on any change to those
tables, from any process or tool; each request reads that number (one cheap query) and
reuses this process's snapshot only while it matches, so the snapshot is never stale.
Snapshots are loaded in a session of their own and handed out as frozen values
(`ClinicInfo`, `ServiceInfo`, `TherapistInfo`), never ORM objects: nothing a request does
can write them back, and no attribute lazily reaches for a session that is gone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, time, timedelta
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.availability import Policy, WeeklyHours
from booking.database import execute, read_session
from booking.extensions import db
from booking.models import (
    CatalogVersion,
    Clinic,
    ClinicPolicy,
    Closure,
    Service,
    ServiceTimes,
    Therapist,
    WorkingHours,
    therapist_service,
)
from booking.services.errors import InvalidRequest, NotFound

_KEY = "booking.catalog"
# Asked on every request: built once, and run on the connection (no ORM layer in between).
_VERSION = select(CatalogVersion.__table__.c.version)


@dataclass(frozen=True, slots=True)
class ClinicInfo(ClinicPolicy):
    """The clinic's settings (`models.Clinic`'s columns), with its zone and durations."""

    id: int
    name: str
    address: str
    phone: str
    email: str
    timezone: str
    slot_step_minutes: int
    min_notice_minutes: int
    booking_horizon_days: int
    cancel_cutoff_minutes: int
    reminder_lead_minutes: int
    change_grace_minutes: int
    locale: str
    clock_24h: bool
    needling_spacing_days: int
    reassess_after_sessions: int
    reassess_after_weeks: int


@dataclass(frozen=True, slots=True)
class ServiceInfo(ServiceTimes):
    """A service (`models.Service`'s columns); `prerequisite` is the service it follows."""

    id: int
    slug: str
    name: str
    description: str
    preparation: str
    duration_minutes: int
    buffer_minutes: int
    requires_ims: bool
    prerequisite_id: int | None
    active: bool
    reassessment: bool
    prerequisite: ServiceInfo | None = None


@dataclass(frozen=True, slots=True)
class TherapistInfo:
    """A therapist (`models.Therapist`'s columns); their hours are `Catalog.hours`."""

    id: int
    name: str
    bio: str
    email: str
    active: bool
    ims_certified: bool
    ims_certification_expires: date | None


_Value = TypeVar("_Value", ClinicInfo, ServiceInfo, TherapistInfo)


def value(kind: type[_Value], row: object, **given: Any) -> _Value:
    """The frozen value of an ORM row: its columns, and what `given` adds."""
    names = (f.name for f in fields(kind) if f.name not in given)
    return kind(**{name: getattr(row, name) for name in names}, **given)


@dataclass(frozen=True, slots=True)
class Catalog:
    version: int
    clinic: ClinicInfo
    services: dict[int, ServiceInfo]  # every service, active or not, by id
    therapists: dict[int, TherapistInfo]  # active therapists, in id order
    offered_by: dict[int, tuple[int, ...]]  # service id -> ids of therapists who offer it
    hours: dict[int, WeeklyHours]  # therapist id -> weekday -> windows
    closures: tuple[tuple[date, date], ...]

    @property
    def policy(self) -> Policy:
        c = self.clinic
        return Policy(step=c.slot_step, notice=c.min_notice, horizon=c.booking_horizon)

    def active_services(self) -> list[ServiceInfo]:
        return [s for s in self.services.values() if s.active]

    def service(self, slug: str) -> ServiceInfo:
        """Return the active service with this slug, or refuse the field."""
        for service in self.services.values():
            if service.slug == slug and service.active:
                return service
        raise InvalidRequest({"service": "There is no such service."})

    def therapists_for(
        self, service: ServiceInfo, therapist_id: int | None = None, *, on: date | None = None
    ) -> list[TherapistInfo]:
        """Return the active therapists who may be booked for `service` (on `on`), by id.

        A needling service needs an IMS certification, valid on `on` when that is given;
        the availability engine also stops each therapist's slots at their expiry date.
        """
        found = []
        for tid in self.offered_by.get(service.id, ()):
            therapist = self.therapists.get(tid)
            if therapist is None or (therapist_id is not None and tid != therapist_id):
                continue
            if service.requires_ims and not certified(therapist, on):
                continue
            found.append(therapist)
        return found

    def therapist(self, therapist_id: int) -> TherapistInfo:
        """Any therapist by id: from the snapshot if bookable, else read (the snapshot keeps
        active ones only, but a switched-off therapist's visits still need their name)."""
        if (found := self.therapists.get(therapist_id)) is not None:
            return found
        row = db.session.get(Therapist, therapist_id)
        if row is None:  # an appointment's therapist cannot be deleted (its foreign key)
            raise NotFound("There is no such therapist.")
        return value(TherapistInfo, row)

    def closed_dates(self, first: date, last: date) -> set[date]:
        """Return the closure dates between `first` and `last`, inclusive."""
        closed = set()
        for starts_on, ends_on in self.closures:
            day = max(starts_on, first)
            while day <= min(ends_on, last):
                closed.add(day)
                day += timedelta(days=1)
        return closed


def certified(therapist: TherapistInfo | Therapist, on: date | None) -> bool:
    """Return whether the therapist may needle (on `on`, if given)."""
    expires = therapist.ims_certification_expires
    if not therapist.ims_certified:
        return False
    return on is None or expires is None or on <= expires


def mail_domain(catalog: Catalog) -> str:
    """The domain of calendar UIDs and Message-IDs: `CALENDAR_UID_DOMAIN`, else the clinic's
    email's, else a reserved name."""
    configured = str(current_app.config.get("CALENDAR_UID_DOMAIN") or "")
    return configured or catalog.clinic.email.rpartition("@")[2] or "booking.invalid"


def current() -> Catalog:
    """Return the snapshot of the reference data as the database has it now."""
    version = execute(_VERSION).scalar()
    cached: Catalog | None = current_app.extensions.get(_KEY)
    if cached is not None and cached.version == version:
        return cached
    with read_session() as session:
        catalog = _load(session)
    # Threads of one process may load at once: keep the newest, so `latest()` never goes
    # back to a snapshot older than one a request has already been checked against.
    cached = current_app.extensions.get(_KEY)
    if cached is None or catalog.version >= cached.version:
        current_app.extensions[_KEY] = catalog
    return catalog


def latest() -> Catalog:
    """Return this process's snapshot without asking the database whether it moved.

    For what may lag one change behind (a page's header and footer); decisions use `current()`.
    """
    cached = current_app.extensions.get(_KEY)
    return cached if cached is not None else current()


def _load(session: Session) -> Catalog:
    version = session.scalar(select(CatalogVersion.version))
    clinic = session.get(Clinic, 1)
    if clinic is None or version is None:
        raise NotFound("The clinic is not set up yet: run `flask --app wsgi seed-demo`.")
    services = _services(session.scalars(select(Service).order_by(Service.id)).all())
    therapists = {
        t.id: value(TherapistInfo, t)
        for t in session.scalars(select(Therapist).where(Therapist.active).order_by(Therapist.id))
    }
    offered_by: dict[int, list[int]] = defaultdict(list)
    for tid, sid in session.execute(
        select(therapist_service.c.therapist_id, therapist_service.c.service_id).order_by(
            therapist_service.c.therapist_id
        )
    ):
        offered_by[sid].append(tid)
    hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for tid, weekday, t0, t1 in session.execute(
        select(
            WorkingHours.therapist_id,
            WorkingHours.weekday,
            WorkingHours.start_time,
            WorkingHours.end_time,
        ).order_by(WorkingHours.start_time)
    ):
        hours[tid][weekday].append((t0, t1))
    closures = tuple((a, b) for a, b in session.execute(select(Closure.starts_on, Closure.ends_on)))
    return Catalog(
        version=version,
        clinic=value(ClinicInfo, clinic),
        services=services,
        therapists=therapists,
        offered_by={sid: tuple(ids) for sid, ids in offered_by.items()},
        hours={tid: {day: tuple(w) for day, w in days.items()} for tid, days in hours.items()},
        closures=closures,
    )


def _services(rows: Sequence[Service]) -> dict[int, ServiceInfo]:
    """Each service's value, its prerequisite's value inside it (made first)."""
    by_id = {row.id: row for row in rows}
    made: dict[int, ServiceInfo] = {}

    def make(row: Service, seen: frozenset[int]) -> ServiceInfo:
        if (done := made.get(row.id)) is None:
            required = by_id.get(row.prerequisite_id) if row.prerequisite_id else None
            if required is not None and required.id in seen:  # the database forbids only A-A
                raise RuntimeError(f"services {sorted(seen)} each require another first")
            before = None if required is None else make(required, seen | {row.id})
            done = made[row.id] = value(ServiceInfo, row, prerequisite=before)
        return done

    return {row.id: make(row, frozenset()) for row in rows}
