"""What admins change: therapists, services, who offers what, closures and staff accounts.

Each change is one audited transaction. Reference data changes bump the catalog version
(database triggers), so availability and booking use them on the next request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from booking.database import write_transaction
from booking.extensions import db
from booking.models import AuditEvent, Closure, Service, StaffUser, Therapist
from booking.services import staff_sessions
from booking.services.errors import InvalidRequest, NotFound
from booking.services.validation import name_problem

log = logging.getLogger(__name__)

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.ASCII)


@dataclass(frozen=True, slots=True)
class TherapistData:
    name: str
    bio: str
    email: str
    active: bool
    ims_certified: bool
    ims_certification_expires: date | None
    service_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ServiceData:
    slug: str
    name: str
    description: str
    preparation: str
    duration_minutes: int
    buffer_minutes: int
    requires_ims: bool
    prerequisite_id: int | None
    active: bool
    reassessment: bool = False  # the visit the clinic's re-assessment rule asks for


def _audit(
    actor: str, action: str, entity: str, entity_id: int, now: datetime, **after: Any
) -> None:
    db.session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            after=after or None,  # nothing to record: SQL NULL, as every audit row has it
        )
    )


def save_therapist(
    therapist_id: int | None, data: TherapistData, *, actor: str, now: datetime
) -> Therapist:
    """Create (None) or update a therapist and the services they offer."""
    if problem := name_problem(data.name):
        raise InvalidRequest({"name": problem})
    if data.ims_certified and data.ims_certification_expires is None:
        raise InvalidRequest({"ims_certification_expires": "Give the certification's expiry."})
    with write_transaction() as session:
        therapist = Therapist() if therapist_id is None else session.get(Therapist, therapist_id)
        if therapist is None:
            raise NotFound("There is no such therapist.")
        services = list(session.scalars(select(Service).where(Service.id.in_(data.service_ids))))
        if len(services) != len(set(data.service_ids)):
            raise InvalidRequest({"services": "Choose services from the list."})
        therapist.name = data.name
        therapist.bio = data.bio
        therapist.email = data.email
        therapist.active = data.active
        therapist.ims_certified = data.ims_certified
        therapist.ims_certification_expires = data.ims_certification_expires
        therapist.services = services
        session.add(therapist)
        session.flush()
        _audit(
            actor,
            "therapist_saved",
            "therapist",
            therapist.id,
            now,
            active=data.active,
            ims_certified=data.ims_certified,
            ims_certification_expires=str(data.ims_certification_expires or ""),
            services=sorted(data.service_ids),
        )
    log.info("therapist %s saved", therapist.id)
    return therapist


def save_service(
    service_id: int | None, data: ServiceData, *, actor: str, now: datetime
) -> Service:
    """Create (None) or update a service."""
    if problem := name_problem(data.name):
        raise InvalidRequest({"name": problem})
    if not SLUG.fullmatch(data.slug):
        raise InvalidRequest({"slug": "Use lower-case letters, digits and single hyphens."})
    if data.prerequisite_id is not None and data.prerequisite_id == service_id:
        raise InvalidRequest({"prerequisite": "A service cannot come before itself."})
    with write_transaction() as session:
        service = Service() if service_id is None else session.get(Service, service_id)
        if service is None:
            raise NotFound("There is no such service.")
        taken = session.scalar(
            select(Service.id).where(Service.slug == data.slug, Service.id != (service_id or 0))
        )
        if taken:
            raise InvalidRequest({"slug": "Another service has this web address."})
        if data.prerequisite_id is not None:
            required = session.get(Service, data.prerequisite_id)
            if required is None:
                raise InvalidRequest({"prerequisite": "Choose a service from the list."})
            if required.prerequisite_id is not None:
                raise InvalidRequest(
                    {"prerequisite": "Choose a first visit (a service with no prerequisite)."}
                )
            if service_id is not None and session.scalar(
                select(Service.id).where(Service.prerequisite_id == service_id).limit(1)
            ):
                raise InvalidRequest(
                    {"prerequisite": "Other services must come after this one, so it stays a "
                     "first visit."}
                )  # fmt: skip
        for name in (
            "slug",
            "name",
            "description",
            "preparation",
            "duration_minutes",
            "buffer_minutes",
            "requires_ims",
            "prerequisite_id",
            "active",
            "reassessment",
        ):
            setattr(service, name, getattr(data, name))
        session.add(service)
        session.flush()
        _audit(actor, "service_saved", "service", service.id, now, slug=data.slug)
    return service


def add_closure(first: date, last: date, reason: str, *, actor: str, now: datetime) -> Closure:
    if last < first:
        raise InvalidRequest({"last_day": "The last day comes before the first."})
    if (last - first).days > 366:
        raise InvalidRequest({"last_day": "Enter at most a year at once."})
    with write_transaction() as session:
        closure = Closure(starts_on=first, ends_on=last, reason=reason.strip())
        session.add(closure)
        session.flush()
        _audit(actor, "closure_added", "closure", closure.id, now, starts_on=str(first),
               ends_on=str(last))  # fmt: skip
    return closure


def remove_closure(closure_id: int, *, actor: str, now: datetime) -> None:
    with write_transaction() as session:
        closure = session.get(Closure, closure_id)
        if closure is None:
            raise NotFound("No such closure.")
        session.delete(closure)
        _audit(actor, "closure_removed", "closure", closure_id, now)


def set_account_active(user_id: int, active: bool, *, actor_id: int, now: datetime) -> StaffUser:
    """Switch a staff account on or off; switching off signs it out everywhere."""
    if user_id == actor_id and not active:
        raise InvalidRequest({"account": "You cannot switch off your own account."})
    with write_transaction() as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("No such account.")
        user.active = active
        ended = staff_sessions.end_all(user_id)  # either way: no session outlives a switch
        _audit(f"staff:{actor_id}", "account_" + ("enabled" if active else "disabled"),
               "staff_user", user_id, now)  # fmt: skip
    log.info("staff account %s switched %s, %d sessions ended", user_id,
             "on" if active else "off", ended)  # fmt: skip
    return user
