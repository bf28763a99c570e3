"""Book an appointment: one transaction that checks every rule and writes every row."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select

from booking.database import execute, transactional
from booking.extensions import db
from booking.inserts import insert_rows
from booking.models import (
    Appointment,
    Course,
    CourseStatus,
    Event,
    IdempotencyKey,
    PatientChange,
    Status,
)
from booking.services import audit, outbox, tokens
from booking.services import catalog as catalogs
from booking.services import screening as screenings
from booking.services.availability import nearest_slots
from booking.services.booking import people, rules, writes
from booking.services.booking.values import Booked, BookingRequest, Visit
from booking.services.catalog import ServiceInfo
from booking.services.errors import (
    BookingError,
    IdempotencyKeyReused,
    InvalidRequest,
    SlotUnavailable,
    TooSoon,
)

log = logging.getLogger(__name__)
REFERENCE_ATTEMPTS = 3


def book(
    request: BookingRequest,
    *,
    now: datetime,
    actor: str = "patient",
    idempotency_key: str | None = None,
) -> Booked:
    """Book an appointment, or raise a `BookingError` saying why not."""
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            booked = _book(request, now, actor, idempotency_key)
        except writes.ReferenceTaken:
            continue
        except writes.KeyTaken:
            replay = _replay(idempotency_key, request) if idempotency_key else None
            if replay is None:
                raise RuntimeError("idempotency key vanished after a conflict") from None
            return replay
        except BookingError as exc:
            # A retry that raced its own first attempt finds that attempt's result here.
            replay = _replay(idempotency_key, request) if idempotency_key else None
            if replay is not None:
                return replay
            if isinstance(exc, SlotUnavailable):
                person = exc.patient_id if isinstance(exc, TooSoon) else request.person_id
                exc.alternatives = _alternatives(request, now, person)
            raise
        log.info("appointment %s booked", booked.appointment.id)
        return booked
    raise RuntimeError("could not draw an unused booking reference")


def write_booking(
    request: BookingRequest, now: datetime, actor: str, key: str | None = None
) -> Booked:
    """Check every rule and write every row of one booking, in the caller's transaction.

    `book` runs it as a transaction of its own; a course runs it once per visit in one.
    """
    # Statements through `execute` only: nothing is loaded or added to the session. A retry
    # whose first attempt committed finds its key here; `book` answers with that result.
    if key and execute(writes.KEY_USED, {"key": key}).first():
        raise writes.KeyTaken()
    catalog = catalogs.current()
    service = catalog.service(request.service)
    prerequisite = service.prerequisite_id is not None
    today = now.astimezone(catalog.clinic.zone).date()
    people.check(request, prerequisite=prerequisite, today=today)
    screened = screenings.row_for_booking(
        service,
        request.screening,
        consent=request.screening_consent,
        pending=request.screening_pending,
        source=request.source,
        actor=actor,
        now=now,
    )
    overridden = rules.overrides(request)
    # A follow-up's rule needs the person's record; a first visit (mostly a new patient)
    # adds them after the checks, and looks them up only if they are on record.
    known = people.on_record(request) if prerequisite or request.person_id else None
    therapist_id = rules.place(
        catalog,
        service,
        request.start,
        now=now,
        therapist_id=request.therapist_id,
        patient_id=known.id if known else None,
        notice=timedelta(0) if request.skip_notice else None,
        skip_prerequisite=request.skip_prerequisite,
        skip_spacing=request.skip_spacing,
        reassess=not request.skip_reassessment,
    )
    if request.course_id is not None:
        check_course(request.course_id, known.id if known else None)
    if known is not None:
        patient, added = known, False
    else:
        assert request.patient is not None  # `people.check` refuses neither-nor
        patient, added = people.ensure(request.patient, now)
    row, token = new_appointment(
        request, service, therapist_id, patient.id, catalogs.mail_domain(catalog), now
    )
    appointment_id = writes.write(writes.INSERT_APPOINTMENT, writes.appointment_row(row))
    visit = Visit(id=appointment_id.scalar_one(), **row)
    if screened is not None:
        writes.write(writes.INSERT_SCREENING, {"appointment_id": visit.id, **screened})
    if not added and (changes := people.proposals(patient, request.patient, visit.id, now)):
        insert_rows(PatientChange.__table__, changes)
    trail = []
    if added:
        trail.append(audit.row(actor, "created", patient.id, entity="patient", now=now))
    booked = visit.snapshot()
    if screened is not None:  # how the consent was taken (the actor took it); no answers
        booked["screening"] = screened["consent"] or "pending"
    trail.append(audit.row(actor, "booked", visit.id, now=now, after=booked))
    if overridden:
        trail.append(audit.row(actor, "rule_overridden", visit.id, now=now, after=overridden))
    audit.record(trail)
    outbox.record(
        Event.BOOKED, visit, catalog=catalog, now=now, contact=(patient.to_name, patient.email)
    )
    if key:
        writes.write(
            writes.INSERT_KEY,
            {
                "key": key,
                "request_hash": request.fingerprint(),
                "appointment_id": visit.id,
                "created_at": now,
            },
        )
    return Booked(visit, token)


_book = transactional(write_booking)


def new_appointment(
    request: BookingRequest,
    service: ServiceInfo,
    therapist_id: int,
    patient_id: int,
    domain: str,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """The row of a new booked appointment (one booking's, or one of a course's), and its
    manage token: derived from its calendar UID, so only the token's hash is stored."""
    uid = tokens.new_calendar_uid(domain)
    token = tokens.manage_token(secret(), uid)
    row = {
        "reference": tokens.new_reference(),
        "therapist_id": therapist_id,
        "service_id": service.id,
        "patient_id": patient_id,
        "start_at": request.start,
        "end_at": request.start + service.duration,
        "occupied_until": request.start + service.occupies,
        "status": Status.BOOKED.value,
        "source": request.source.value,
        "calendar_uid": uid,
        "sequence": 0,
        "manage_token_hash": tokens.hash_token(token),
        "notes": request.notes.strip(),
        "cancel_reason": "",
        "created_at": now,
        "updated_at": now,
        "course_id": request.course_id,
    }
    return row, token


_ACTIVE_COURSE = select(Course.id).where(
    Course.id == bindparam("course"),
    Course.patient_id == bindparam("patient"),
    Course.status == CourseStatus.ACTIVE.value,
)


def check_course(course_id: int, patient_id: int | None) -> None:
    """A session belongs to an active course of the same person."""
    if (
        patient_id is None
        or not execute(_ACTIVE_COURSE, {"course": course_id, "patient": patient_id}).first()
    ):
        raise InvalidRequest({"course": "This visit cannot join that course."})


def _replay(key: str, request: BookingRequest) -> Booked | None:
    record = db.session.get(IdempotencyKey, key)
    if record is None:
        return None
    if record.request_hash != request.fingerprint():
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different booking request."
        )
    appointment = db.session.get(Appointment, record.appointment_id)
    if appointment is None:  # the key's row cascades away with its appointment
        return None
    # The token is derived from the appointment, so the record need not keep it.
    token = tokens.manage_token(secret(), appointment.calendar_uid)
    return Booked(Visit.of(appointment), token, replayed=True)


def _alternatives(request: BookingRequest, now: datetime, patient_id: int | None) -> list[Any]:
    """The nearest free times; for a person on record, only those that keep their spacing."""
    catalog = catalogs.current()
    try:
        service = catalog.service(request.service)
    except InvalidRequest:
        return []
    therapists = catalog.therapists_for(service, request.therapist_id)
    return nearest_slots(
        catalog, service, request.start, now=now, therapists=therapists, patient_id=patient_id
    )


def secret() -> str:
    return str(current_app.config["SECRET_KEY"])
