"""Book, reschedule and cancel: each one transaction that re-checks every rule inside it.

The availability check here gives patients a clear answer; the database constraints behind
it (migration 0001) are what make a double booking impossible when two requests race.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple, NoReturn

from flask import current_app
from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from booking.database import (
    Rows,
    core_transactional,
    dialect_name,
    execute,
    insert_rows,
    lock_therapists,
    transactional,
    violated,
)
from booking.extensions import db
from booking.mail import outbox
from booking.mail.outbox import Placement
from booking.models import (
    PATIENT_OVERLAP,
    THERAPIST_OVERLAP,
    Appointment,
    AuditEvent,
    Clinic,
    Consent,
    Event,
    IdempotencyKey,
    Patient,
    Screening,
    Service,
    Source,
    Status,
    Therapist,
    UTCDateTime,
    normalize_email,
)
from booking.services import catalog as catalogs
from booking.services import changes, tokens
from booking.services import screening as screenings
from booking.services.availability import nearest_slots, slot_at
from booking.services.catalog import Catalog
from booking.services.errors import (
    AssessmentRequired,
    BookingError,
    IdempotencyKeyReused,
    InsideCutoff,
    InvalidRequest,
    NotChangeable,
    NotFound,
    SlotUnavailable,
    Stale,
    TherapistNotOffering,
)
from booking.services.validation import name_problem, phone_number

# Re-exported: the edges ask `booking` whether a patient may still change online.
changeable_online = changes.changeable_online
change_deadline = changes.change_deadline

log = logging.getLogger(__name__)

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
REFERENCE_ATTEMPTS = 3
MANAGE_LINK_LIFETIME = timedelta(days=30)
# An assessment counts for a follow-up if it is booked or took place; not a no-show.
HAPPENING = (Status.BOOKED.value, Status.COMPLETED.value)
_EARLIER_VISIT = (
    select(Appointment.id)
    .where(
        Appointment.patient_id == bindparam("patient"),
        Appointment.service_id == bindparam("service"),
        Appointment.status.in_(HAPPENING),
        Appointment.start_at < bindparam("start", type_=UTCDateTime()),
        Appointment.id != bindparam("exclude"),
    )
    .limit(1)
)
_KEY_USED = select(IdempotencyKey.__table__.c.key).where(
    IdempotencyKey.__table__.c.key == bindparam("key")
)
_PATIENTS = Patient.__table__
_PATIENT = select(_PATIENTS.c.id, _PATIENTS.c.name, _PATIENTS.c.email).where(
    _PATIENTS.c.email == bindparam("email")
)


@dataclass(frozen=True, slots=True)
class PatientDetails:
    name: str
    email: str
    phone: str = ""


@dataclass(frozen=True, slots=True)
class BookingRequest:
    service: str  # the service's slug
    start: datetime
    patient: PatientDetails
    therapist_id: int | None = None  # None: the first therapist free at `start`
    notes: str = ""
    source: Source = Source.ONLINE
    # The IMS safety screening, question key -> answer; given means consent was given too,
    # online by the patient or (staff only) verbally on the phone. A first needling visit
    # needs it on every path; only staff may book it `screening_pending` (see `screening`).
    screening: dict[str, bool] | None = None
    screening_consent: Consent = Consent.ONLINE
    screening_pending: bool = False
    # Reception only, each with a recorded reason: book inside the minimum notice, or a
    # follow-up without an assessment on record (seen elsewhere, say).
    skip_notice: bool = False
    skip_prerequisite: bool = False
    override_reason: str = ""

    def fingerprint(self) -> str:
        """Return a digest that tells a retried request from a different one."""
        data = asdict(self) | {
            "start": self.start.timestamp(),
            "source": self.source.value,
            "screening_consent": self.screening_consent.value,
        }
        data["patient"]["email"] = normalize_email(self.patient.email)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Booked:
    # A value: its row was written by one INSERT, and the object was never in a session, so
    # its relationships are unset. Read its fields; to change it, load it by id.
    appointment: Appointment
    manage_token: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class _Change:
    """Who changes an appointment, and under which checks."""

    actor: str
    enforce_cutoff: bool
    expected_sequence: int | None


class _ReferenceTaken(Exception):
    """Two bookings drew the same random reference; the booking is tried again."""


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


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
        except _ReferenceTaken:
            continue
        except _KeyTaken:
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
                exc.alternatives = _alternatives(request, now)
            raise
        log.info("appointment %s booked", booked.appointment.id)
        return booked
    raise RuntimeError("could not draw an unused booking reference")


@core_transactional
def _book(request: BookingRequest, now: datetime, actor: str, key: str | None) -> Booked:
    # Statements through `execute` only, never the session: see `core_transaction`. A retry
    # whose first attempt committed finds its key here; `book` answers with that result.
    if key and execute(_KEY_USED, {"key": key}).first():
        raise _KeyTaken()
    catalog = catalogs.current()
    service = catalog.service(request.service)
    if problem := name_problem(request.patient.name):  # every edge refuses it first
        raise InvalidRequest({"patient.name": problem})
    screened = screenings.row_for_booking(
        service,
        request.screening,
        consent=request.screening_consent,
        pending=request.screening_pending,
        source=request.source,
        actor=actor,
        now=now,
    )
    chosen = None
    if request.therapist_id is not None:
        day = request.start.astimezone(catalog.clinic.zone).date()
        chosen = [offering_therapist(catalog, request.therapist_id, service, on=day)]
    overrides = _overrides(request)
    email = normalize_email(request.patient.email)
    # Availability first: the follow-up rule must not become a way to probe, time by time,
    # whether somebody's email has an assessment on record.
    notice = timedelta(0) if request.skip_notice else None
    therapist_id = _free_therapist(
        catalog, service, request.start, now, therapists=chosen, notice=notice
    )
    if service.prerequisite_id is None:
        # Mostly a new patient's first visit: add them at once, look them up only if on record.
        patient, added = _ensure_patient(request.patient, email, now)
    else:  # the follow-up rule needs the record first, and refuses before anything is written
        known = _on_record(email)
        if not request.skip_prerequisite:
            _require_prerequisite(service, known.id if known else None, request.start)
        patient, added = (known, False) if known else _ensure_patient(request.patient, email, now)
    uid = tokens.new_calendar_uid(_uid_domain(catalog))
    token = tokens.manage_token(_secret(), uid)
    appointment = Appointment(
        reference=tokens.new_reference(),
        therapist_id=therapist_id,
        service_id=service.id,  # the catalog's objects are read-only values: ids only
        patient_id=patient.id,
        start_at=request.start,
        end_at=request.start + service.duration,
        occupied_until=request.start + service.duration + service.buffer,
        status=Status.BOOKED.value,
        source=request.source.value,
        calendar_uid=uid,
        sequence=0,
        manage_token_hash=tokens.hash_token(token),
        notes=request.notes.strip(),
        cancel_reason="",
        created_at=now,
        updated_at=now,
    )
    # A value, never added to the session: one INSERT writes it, and nothing reads it back.
    appointment.id = _write(_INSERT_APPOINTMENT, _columns(appointment)).scalar_one()
    if screened is not None:
        _write(_INSERT_SCREENING, {"appointment_id": appointment.id, **screened})
    audit = []
    if added:
        audit.append(_audit_row(actor, "created", patient.id, entity="patient", now=now))
    booked = appointment.snapshot()
    if screened is not None:  # how the consent was taken (the actor took it); no answers
        booked["screening"] = screened["consent"] or "pending"
    audit.append(_audit_row(actor, "booked", appointment.id, now=now, after=booked))
    if overrides:
        audit.append(_audit_row(actor, "rule_overridden", appointment.id, now=now, after=overrides))
    insert_rows(_AUDIT, audit)
    outbox.record(
        Event.BOOKED, appointment, catalog=catalog, now=now, contact=(patient.name, patient.email)
    )
    if key:
        _write(
            _INSERT_KEY,
            {
                "key": key,
                "request_hash": request.fingerprint(),
                "appointment_id": appointment.id,
                "created_at": now,
            },
        )
    return Booked(appointment, token)


def _overrides(request: BookingRequest) -> dict[str, object] | None:
    """Check that only staff skip a rule, and say why; return what the audit records."""
    if not (request.skip_notice or request.skip_prerequisite):
        return None
    reason = request.override_reason.strip()
    if request.source != Source.STAFF:
        raise InvalidRequest({"override": "Only clinic staff may book outside the rules."})
    if not reason or len(reason) > 200:
        raise InvalidRequest({"override_reason": "Say why (at most 200 characters)."})
    return {
        "minimum_notice": request.skip_notice,
        "assessment_first": request.skip_prerequisite,
        "reason": reason,
    }


def appointment_for_token(token: str, *, now: datetime) -> Appointment:
    """Return the appointment a live manage token opens, or raise `NotFound`.

    A link dies `MANAGE_LINK_LIFETIME` after its appointment ends: an old email in a shared
    or stolen mailbox should not open a patient's history forever.
    """
    appointment = None
    if TOKEN_SHAPE.fullmatch(token):
        appointment = db.session.scalar(
            select(Appointment).where(Appointment.manage_token_hash == tokens.hash_token(token))
        )
    if appointment is None or appointment.end_at + MANAGE_LINK_LIFETIME < now:
        raise NotFound("No appointment matches this link.")
    return appointment


def reschedule(
    appointment_id: int,
    start: datetime,
    *,
    now: datetime,
    therapist_id: int | None = None,
    actor: str = "patient",
    enforce_cutoff: bool = True,
    expected_sequence: int | None = None,
) -> Appointment:
    """Move an appointment to `start` (and optionally another therapist), or refuse entirely.

    With `expected_sequence`, refuse if the appointment changed since the caller looked at it.
    """
    change = _Change(actor, enforce_cutoff, expected_sequence)
    try:
        appointment = _move(appointment_id, start, now, therapist_id, change)
    except SlotUnavailable as exc:
        catalog = catalogs.current()
        service = catalog.services[db.session.get(Appointment, appointment_id).service_id]
        exc.alternatives = nearest_slots(
            catalog,
            service,
            start,
            now=now,
            therapists=catalog.therapists_for(service, therapist_id),
            exclude_appointment_id=appointment_id,
        )
        raise
    log.info("appointment %s rescheduled", appointment_id)
    return appointment


@transactional
def _move(
    appointment_id: int,
    start: datetime,
    now: datetime,
    therapist_id: int | None,
    change: _Change,
) -> Appointment:
    catalog = catalogs.current()
    appointment = _changeable(catalog.clinic, appointment_id, now, change)
    service = catalog.services[appointment.service_id]
    target = appointment.therapist_id if therapist_id is None else therapist_id
    if start == appointment.start_at and target == appointment.therapist_id:
        return appointment
    day = start.astimezone(catalog.clinic.zone).date()
    therapist = offering_therapist(catalog, target, service, on=day)
    _free_therapist(catalog, service, start, now, therapists=[therapist], exclude=appointment.id)
    _require_prerequisite(service, appointment.patient_id, start, appointment.id)
    _keep_follow_ups_anchored(catalog, appointment, start)
    before = appointment.snapshot()
    was = Placement.of(appointment)
    appointment.therapist_id = target
    appointment.start_at = start
    appointment.end_at = start + service.duration
    appointment.occupied_until = start + service.duration + service.buffer
    appointment.sequence += 1
    appointment.updated_at = now
    _flush()
    _audit(change.actor, "rescheduled", appointment, before=before, now=now)
    outbox.record(Event.RESCHEDULED, appointment, catalog=catalog, now=now, before=was)
    return appointment


def cancel(
    appointment_id: int,
    *,
    now: datetime,
    reason: str = "",
    actor: str = "patient",
    enforce_cutoff: bool = True,
    expected_sequence: int | None = None,
) -> Appointment:
    """Cancel an appointment, freeing its time."""
    change = _Change(actor, enforce_cutoff, expected_sequence)
    appointment = _cancel(appointment_id, now, reason, change)
    log.info("appointment %s cancelled", appointment_id)
    return appointment


@transactional
def _cancel(appointment_id: int, now: datetime, reason: str, change: _Change) -> Appointment:
    catalog = catalogs.current()
    appointment = _changeable(catalog.clinic, appointment_id, now, change)
    _keep_follow_ups_anchored(catalog, appointment, None)
    before = appointment.snapshot()
    appointment.status = Status.CANCELLED.value
    appointment.cancel_reason = reason.strip()
    appointment.sequence += 1
    appointment.updated_at = now
    _flush()
    _audit(change.actor, "cancelled", appointment, before=before, now=now)
    outbox.record(Event.CANCELLED, appointment, catalog=catalog, now=now)
    return appointment


def offering_therapist(
    catalog: Catalog, therapist_id: int, service: Service, *, on: date | None = None
) -> Therapist:
    """Return the therapist if they may be booked for `service` (on `on`), or raise why not."""
    found = catalog.therapists_for(service, therapist_id, on=on)
    if found:
        return found[0]
    therapist = catalog.therapists.get(therapist_id)
    if therapist is None:
        raise InvalidRequest({"therapist_id": "There is no such therapist."})
    offers = therapist_id in catalog.offered_by.get(service.id, ())
    if offers and service.requires_ims and therapist.ims_certified:  # so the date is the reason
        raise TherapistNotOffering(
            f"{therapist.name} can no longer be booked for {service.name} on that date."
        )
    raise TherapistNotOffering(f"{therapist.name} does not offer {service.name}.")


def _require_prerequisite(
    service: Service, patient_id: int | None, start: datetime, exclude: int | None = None
) -> None:
    if service.prerequisite_id is None:
        return
    required = service.prerequisite
    found = (
        patient_id is not None
        and execute(
            _EARLIER_VISIT,
            {
                "patient": patient_id,
                "service": required.id,
                "start": start,
                "exclude": exclude or 0,
            },
        ).first()
    )
    if not found:
        raise AssessmentRequired(
            f"{service.name}: we have no {required.name} on record before this time for this "
            f"email address. Please book the {required.name} first.",
            required_service=required.slug,
        )


def _keep_follow_ups_anchored(
    catalog: Catalog, appointment: Appointment, new_start: datetime | None
) -> None:
    """Refuse to move (or, with None, cancel) an assessment a booked follow-up relies on."""
    dependants = {
        s.id for s in catalog.services.values() if s.prerequisite_id == appointment.service_id
    }
    if not dependants:
        return
    rows = db.session.execute(
        select(Appointment.service_id, Appointment.start_at, Appointment.status).where(
            Appointment.patient_id == appointment.patient_id,
            Appointment.service_id.in_([appointment.service_id, *dependants]),
            Appointment.status.in_(HAPPENING),
            Appointment.id != appointment.id,
        )
    ).all()
    anchors = [start for sid, start, _ in rows if sid == appointment.service_id]
    if new_start is not None:
        anchors.append(new_start)
    for sid, start, status in rows:
        if sid in dependants and status == Status.BOOKED and not any(a < start for a in anchors):
            clinic = catalog.clinic
            raise NotChangeable(
                "Follow-up visits are booked after this assessment, so it cannot be moved "
                f"past them or cancelled online: please call {clinic.name} on {clinic.phone}.",
                phone=clinic.phone,
            )


def _free_therapist(
    catalog: Catalog,
    service: Service,
    start: datetime,
    now: datetime,
    *,
    therapists: list[Therapist] | None,
    exclude: int | None = None,
    notice: timedelta | None = None,
) -> int:
    """Return the therapist (of those given, or of all) who is free to take `start`."""
    if therapists is None:
        therapists = catalog.therapists_for(service)
    lock_therapists(t.id for t in therapists)
    slot = slot_at(
        catalog,
        service,
        start,
        now=now,
        therapists=therapists,
        exclude_appointment_id=exclude,
        notice=notice,
    )
    if slot is None:
        raise SlotUnavailable()
    return slot.therapist_id


def _changeable(clinic: Clinic, appointment_id: int, now: datetime, change: _Change) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("No such appointment.")
    expected = change.expected_sequence
    if expected is not None and appointment.sequence != expected:
        raise Stale(
            "This appointment was changed after you opened the page: please check it again."
        )
    if appointment.status != Status.BOOKED or appointment.start_at <= now:
        state = "cancelled" if appointment.status == Status.CANCELLED else "over"
        raise NotChangeable(f"This appointment is {state} and can no longer be changed.")
    if change.enforce_cutoff and not changes.changeable_online(appointment, clinic, now):
        hours = clinic.cancel_cutoff_minutes / 60
        raise InsideCutoff(
            f"Appointments within {hours:g} hours can only be changed by phone: "
            f"please call {clinic.name} on {clinic.phone}.",
            phone=clinic.phone,
        )
    return appointment


class _Patient(NamedTuple):
    id: int
    name: str
    email: str


def _add_patient(details: PatientDetails, email: str, now: datetime) -> _Patient | None:
    """Insert the patient and return them, or return None if the email is on record."""
    name = details.name.strip()
    # E.164 when it parses (every edge checks that it does), else as given.
    phone = phone_number(details.phone) or details.phone.strip()
    params = {"name": name, "email": email, "phone": phone, "created_at": now}
    patient_id = execute(_INSERT_PATIENT[dialect_name()], params).scalar()
    return None if patient_id is None else _Patient(patient_id, name, email)


def _on_record(email: str) -> _Patient | None:
    row = execute(_PATIENT, {"email": email}).first()
    return None if row is None else _Patient(*row)


def _ensure_patient(details: PatientDetails, email: str, now: datetime) -> tuple[_Patient, bool]:
    """Return the patient with this email, added if new, and whether they were added."""
    added = _add_patient(details, email, now)
    if added is not None:
        return added, True
    patient = _on_record(email)  # on record already, or a concurrent booking just added them
    if patient is None:
        raise RuntimeError("a patient vanished while being booked")
    return patient, False


def _flush() -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        _refuse(exc)


def _write(statement: Executable, params: dict[str, object]) -> Rows:
    try:
        return execute(statement, params)
    except IntegrityError as exc:
        _refuse(exc)


def _refuse(exc: IntegrityError) -> NoReturn:
    """Turn the database's refusal of a write into the answer it means."""
    # One answer for both overlaps: naming the patient's own clash would tell anyone who
    # knows an email address when that person has an appointment.
    if violated(exc, THERAPIST_OVERLAP, PATIENT_OVERLAP):
        raise SlotUnavailable() from exc
    if violated(exc, "uq_appointment_reference", "appointment.reference"):
        raise _ReferenceTaken() from exc
    if violated(exc, "pk_idempotency_key", "idempotency_key.key"):
        raise _KeyTaken() from exc
    raise exc


def _audit_row(
    actor: str,
    action: str,
    entity_id: int,
    *,
    now: datetime,
    entity: str = "appointment",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit row for `insert_rows`: every column named, so that rows go in together."""
    return {
        "at": now,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "before": before,
        "after": after,
    }


def _audit(actor: str, action: str, appointment: Appointment, *, before, now: datetime) -> None:
    row = _audit_row(
        actor, action, appointment.id, now=now, before=before, after=appointment.snapshot()
    )
    insert_rows(_AUDIT, [row])


def _columns(appointment: Appointment) -> dict[str, Any]:
    """The row to INSERT: what the value holds; an unset column keeps its default."""
    values = ((column, getattr(appointment, column)) for column in _APPOINTMENT_COLUMNS)
    return {column: value for column, value in values if value is not None}


# Built once: every booking runs these.
_APPOINTMENT = Appointment.__table__
_APPOINTMENT_COLUMNS = tuple(c.key for c in _APPOINTMENT.c if c.key != "id")
_INSERT_APPOINTMENT = insert(_APPOINTMENT).returning(_APPOINTMENT.c.id)
_AUDIT = AuditEvent.__table__
_INSERT_SCREENING = insert(Screening.__table__)
_INSERT_KEY = insert(IdempotencyKey.__table__)
_INSERT_PATIENT = {
    dialect.dialect.name: dialect.insert(Patient.__table__)
    .on_conflict_do_nothing(index_elements=["email"])
    .returning(Patient.__table__.c.id)
    for dialect in (postgresql, sqlite)
}


def _replay(key: str, request: BookingRequest) -> Booked | None:
    record = db.session.get(IdempotencyKey, key)
    if record is None:
        return None
    if record.request_hash != request.fingerprint():
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different booking request."
        )
    appointment = db.session.get(Appointment, record.appointment_id)
    # The token is derived from the appointment, so the record need not keep it.
    return Booked(appointment, tokens.manage_token(_secret(), appointment.calendar_uid), True)


def _alternatives(request: BookingRequest, now: datetime) -> list:
    catalog = catalogs.current()
    try:
        service = catalog.service(request.service)
    except InvalidRequest:
        return []
    therapists = catalog.therapists_for(service, request.therapist_id)
    return nearest_slots(catalog, service, request.start, now=now, therapists=therapists)


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _uid_domain(catalog: Catalog) -> str:
    return current_app.config.get("CALENDAR_UID_DOMAIN") or (
        catalog.clinic.email.rpartition("@")[2] or "booking.invalid"
    )


__all__: list[str] = [
    "Booked",
    "BookingRequest",
    "PatientDetails",
    "appointment_for_token",
    "book",
    "cancel",
    "change_deadline",
    "changeable_online",
    "offering_therapist",
    "reschedule",
]
