"""Reference data (clinic, services, therapists, weekly hours, closures) as one snapshot.

Availability and bookings are asked for far more often than a clinic changes its services or
hours. Database triggers (migration 0002) bump `catalog_version` on any change to those
tables, from any process or tool; each request reads that number (one cheap query) and
reuses this process's snapshot only while it matches, so the snapshot is never stale.
Snapshots are loaded in a session of their own and stay detached: read-only values that
are never written back through a request's unit of work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.availability import Policy, WeeklyHours
from booking.database import execute, read_session
from booking.extensions import db
from booking.models import (
    CatalogVersion,
    Clinic,
    Closure,
    Service,
    Therapist,
    WorkingHours,
    therapist_service,
)
from booking.services.errors import InvalidRequest, NotFound

_KEY = "booking.catalog"
# Asked on every request: built once, and run on the connection (no ORM layer in between).
_VERSION = select(CatalogVersion.__table__.c.version)


@dataclass(frozen=True, slots=True)
class Catalog:
    version: int
    clinic: Clinic
    services: dict[int, Service]  # every service, active or not, by id
    therapists: dict[int, Therapist]  # active therapists, in id order
    offered_by: dict[int, tuple[int, ...]]  # service id -> ids of therapists who offer it
    hours: dict[int, WeeklyHours]  # therapist id -> weekday -> windows
    closures: tuple[tuple[date, date], ...]

    @property
    def policy(self) -> Policy:
        c = self.clinic
        return Policy(step=c.slot_step, notice=c.min_notice, horizon=c.booking_horizon)

    def active_services(self) -> list[Service]:
        return [s for s in self.services.values() if s.active]

    def service(self, slug: str) -> Service:
        """Return the active service with this slug, or refuse the field."""
        for service in self.services.values():
            if service.slug == slug and service.active:
                return service
        raise InvalidRequest({"service": "There is no such service."})

    def therapists_for(
        self, service: Service, therapist_id: int | None = None, *, on: date | None = None
    ) -> list[Therapist]:
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

    def therapist(self, therapist_id: int) -> Therapist | None:
        """Any therapist by id: from the snapshot if bookable, else read (the snapshot keeps
        active ones only, but a switched-off therapist's visits still need their name)."""
        return self.therapists.get(therapist_id) or db.session.get(Therapist, therapist_id)

    def closed_dates(self, first: date, last: date) -> set[date]:
        """Return the closure dates between `first` and `last`, inclusive."""
        closed = set()
        for starts_on, ends_on in self.closures:
            day = max(starts_on, first)
            while day <= min(ends_on, last):
                closed.add(day)
                day += timedelta(days=1)
        return closed


def certified(therapist: Therapist, on: date | None) -> bool:
    """Return whether the therapist may needle (on `on`, if given)."""
    expires = therapist.ims_certification_expires
    if not therapist.ims_certified:
        return False
    return on is None or expires is None or on <= expires


def current() -> Catalog:
    """Return the snapshot of the reference data as the database has it now."""
    version = execute(_VERSION).scalar()
    cached = current_app.extensions.get(_KEY)
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
    services = {s.id: s for s in session.scalars(select(Service).order_by(Service.id))}
    therapists = {
        t.id: t
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
    for service in services.values():
        _ = service.prerequisite  # resolved from the identity map: no query
    return Catalog(
        version=version,
        clinic=clinic,
        services=services,
        therapists=therapists,
        offered_by={sid: tuple(ids) for sid, ids in offered_by.items()},
        hours={tid: {day: tuple(w) for day, w in days.items()} for tid, days in hours.items()},
        closures=closures,
    )
