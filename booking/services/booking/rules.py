"""The rules a visit's time must meet, one function each, called alike by booking and moving.

Each reads what the transaction it runs in sees, so a rule checked here still holds at
COMMIT; the database constraints behind them (migration 0001) are what make a double booking
impossible when two requests race.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select

from booking.database import execute, lock_patient, lock_therapists
from booking.dates import Style
from booking.extensions import db
from booking.models import Appointment, Source, Status, UTCDateTime
from booking.services import changes, spacing
from booking.services.availability import DaySlots, slot_at
from booking.services.booking.reassess import assessments_for, require_reassessment
from booking.services.booking.values import BookingRequest
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo
from booking.services.errors import (
    AssessmentRequired,
    BookingError,
    InsideCutoff,
    InvalidRequest,
    NotChangeable,
    NotFound,
    ReassessmentRequired,
    SlotUnavailable,
    Stale,
    TherapistNotOffering,
    TooSoon,
)

# An assessment counts for a follow-up if it is booked or took place; not a no-show.
HAPPENING = (Status.BOOKED.value, Status.COMPLETED.value)
OVERRIDE_REASON_MAX = 200
_EARLIER_VISIT = (
    select(Appointment.id)
    .where(
        Appointment.patient_id == bindparam("patient"),
        Appointment.service_id.in_(bindparam("services", expanding=True)),
        Appointment.status.in_(HAPPENING),
        Appointment.start_at < bindparam("start", type_=UTCDateTime()),
        Appointment.id != bindparam("exclude"),
    )
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class Change:
    """Who changes an appointment, and under which checks."""

    actor: str
    enforce_cutoff: bool = True
    expected_sequence: int | None = None  # refuse if the appointment moved on since then
    # Reception only, with a recorded reason: move a needling visit closer to another of
    # the person's than the clinic's spacing.
    skip_spacing: bool = False
    override_reason: str = ""


def place(
    catalog: Catalog,
    service: ServiceInfo,
    start: datetime,
    *,
    now: datetime,
    therapist_id: int | None,
    patient_id: int | None,
    exclude: int | None = None,
    notice: timedelta | None = None,
    skip_prerequisite: bool = False,
    skip_spacing: bool = False,
    reassess: bool = False,
) -> int:
    """Check every rule a visit at `start` must meet; return the therapist who takes it.

    `therapist_id` None takes the first therapist free at `start`; `exclude` is the
    appointment being moved (its own time does not count against it); `notice` replaces the
    clinic's minimum notice; `reassess` applies the re-assessment rule (a new booking's,
    not a move's). Availability is answered before the person's rules (the follow-up's
    assessment, the re-assessment, the spacing of needling), so that they cannot become a
    way to probe, time by time, what somebody has on record.
    """
    if not skip_spacing and patient_id and spacing.applies(catalog, service, patient_id):
        lock_patient(patient_id)  # before the therapists' locks (see `lock_patient`)
    chosen = None
    if therapist_id is not None:
        day = start.astimezone(catalog.clinic.zone).date()
        chosen = [offering_therapist(catalog, therapist_id, service, on=day)]
    taken_by = free_therapist(
        catalog, service, start, now, therapists=chosen, exclude=exclude, notice=notice
    )
    if not skip_prerequisite:
        require_prerequisite(catalog, service, patient_id, start, exclude)
    if reassess:
        require_reassessment(catalog, service, patient_id, start)
    if not skip_spacing:
        keep_needling_spaced(catalog, service, patient_id, start, exclude)
    return taken_by


def place_many(
    catalog: Catalog,
    service: ServiceInfo,
    visits: Sequence[tuple[datetime, int]],
    *,
    now: datetime,
    patient_id: int,
) -> None:
    """Check every rule each visit (start, therapist) must meet, as `place` checks one.

    A course's visits of one person, booked together: the same rules, each asked once for
    the batch where its answer is the batch's (the locks, the busy times of the span in one
    query, the assessment before the first visit, the spacing and gaps between them all).
    Raises at the first visit refused; the caller knows which by `Refused.index`.
    """
    zone = catalog.clinic.zone
    visits = sorted(visits)
    days = [start.astimezone(zone).date() for start, _ in visits]
    therapists = {}
    for n, ((_, therapist_id), day) in enumerate(zip(visits, days, strict=True)):
        with refused_at(n):
            therapists[therapist_id] = offering_therapist(catalog, therapist_id, service, on=day)
    # The person's lock before the therapists' (see `lock_patient`), in one round trip.
    spaced = spacing.applies(catalog, service, patient_id)
    lock_therapists(therapists, patient_id=patient_id if spaced else None)
    free = DaySlots(catalog, service, list(therapists.values()), min(days), max(days), now=now)
    held: dict[int, datetime] = {}  # therapist -> until when the batch's last visit holds them
    until = None  # the person: until when the batch's last visit holds them
    for n, ((start, therapist_id), day) in enumerate(zip(visits, days, strict=True)):
        with refused_at(n):
            offered = any(slot.start == start for slot in free.on(day, therapist_id))
            clash = (therapist_id in held and start < held[therapist_id]) or (
                until is not None and start < until
            )
            if not offered or clash:
                raise SlotUnavailable()
        held[therapist_id] = start + service.occupies
        until = start + service.duration
    starts = [start for start, _ in visits]
    with refused_at(0):
        require_prerequisite(catalog, service, patient_id, starts[0])
    try:
        require_reassessment(catalog, service, patient_id, starts[0], starts[1:])
    except ReassessmentRequired as exc:  # the visit due to be a re-assessment
        raise Refused(exc.index, exc) from exc
    try:
        keep_needling_spaced(catalog, service, patient_id, starts)
    except TooSoon as exc:
        raise Refused(exc.index, exc) from exc


class Refused(Exception):
    """Which of several visits a rule refused (`index`), and why (`cause`)."""

    def __init__(self, index: int, cause: BookingError) -> None:
        super().__init__(cause.message)
        self.index, self.cause = index, cause


@contextmanager
def refused_at(index: int) -> Iterator[None]:
    try:
        yield
    except BookingError as exc:
        raise Refused(index, exc) from exc


def offering_therapist(
    catalog: Catalog, therapist_id: int, service: ServiceInfo, *, on: date | None = None
) -> TherapistInfo:
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


def free_therapist(
    catalog: Catalog,
    service: ServiceInfo,
    start: datetime,
    now: datetime,
    *,
    therapists: list[TherapistInfo] | None,
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


def require_prerequisite(
    catalog: Catalog,
    service: ServiceInfo,
    patient_id: int | None,
    start: datetime,
    exclude: int | None = None,
) -> None:
    """Refuse a follow-up unless the patient has its assessment on record before `start`.

    A re-assessment counts as that assessment.
    """
    required = service.prerequisite
    if required is None:
        return
    found = (
        patient_id is not None
        and execute(
            _EARLIER_VISIT,
            {
                "patient": patient_id,
                "services": assessments_for(catalog, service),
                "start": start,
                "exclude": exclude or 0,
            },
        ).first()
    )
    if not found:
        raise AssessmentRequired(
            f"{service.name}: we have no {required.name} on record before this time for this "
            f"patient. Please book the {required.name} first.",
            required_service=required.slug,
        )


def keep_needling_spaced(
    catalog: Catalog,
    service: ServiceInfo,
    patient_id: int | None,
    start: datetime | Sequence[datetime],
    exclude: int | None = None,
) -> None:
    """Refuse a needling visit on a day too close to another of the same person's.

    Several starts (a course's visits, booked together) are checked in one read: each
    against the person's other visits and against the ones before it in the batch.
    """
    if not spacing.applies(catalog, service, patient_id):
        return
    assert patient_id is not None  # `applies` says so
    clinic = catalog.clinic
    wanted = [
        s.astimezone(clinic.zone).date()
        for s in ([start] if isinstance(start, datetime) else start)
    ]
    held = spacing.needling_days(catalog, patient_id, min(wanted), max(wanted), exclude=exclude)
    other, n = None, 0
    for n, day in enumerate(wanted):
        if (other := spacing.too_close(catalog, day, [*held, *wanted[:n]])) is not None:
            break
    if other is None:
        return
    # The person is on record: picked by staff, or online a household an emailed link
    # verified (My visits, the API's token) or the holder of this visit's manage link. So
    # naming the other visit's day tells it to nobody who could not see it anyway.
    days = clinic.needling_spacing_days
    apart = f"{days} day{'s' if days != 1 else ''}"
    raise TooSoon(
        f"Needling visits are kept at least {apart} apart (soreness lasts a day or two), "
        f"and there is one on {Style.of(clinic).day_month(other)}: please choose "
        "another day.",
        patient_id=patient_id,
        index=n,
    )


def keep_follow_ups_anchored(
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


def changeable(catalog: Catalog, appointment_id: int, now: datetime, change: Change) -> Appointment:
    """Return the appointment, loaded in this transaction, if `change` may change it now."""
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
    clinic = catalog.clinic
    if change.enforce_cutoff and not changes.changeable_online(appointment, clinic, now):
        hours = clinic.cancel_cutoff_minutes / 60
        raise InsideCutoff(
            f"Appointments within {hours:g} hours can only be changed by phone: "
            f"please call {clinic.name} on {clinic.phone}.",
            phone=clinic.phone,
        )
    return appointment


def overrides(request: BookingRequest) -> dict[str, object] | None:
    """Check that only staff skip a rule, and say why; return what the audit records."""
    r = request
    if not any((r.skip_notice, r.skip_prerequisite, r.skip_spacing, r.skip_reassessment)):
        return None
    reason = _override_reason(request.source == Source.STAFF, request.override_reason)
    return {
        "minimum_notice": request.skip_notice,
        "assessment_first": request.skip_prerequisite,
        "needling_spacing": request.skip_spacing,
        "reassessment": request.skip_reassessment,
        "reason": reason,
    }


def move_overrides(change: Change) -> dict[str, object] | None:
    """As `overrides`, for a move: only staff (`staff:<id>`) skip the spacing, saying why."""
    if not change.skip_spacing:
        return None
    reason = _override_reason(change.actor.startswith("staff:"), change.override_reason)
    return {"needling_spacing": True, "reason": reason}


def _override_reason(staff: bool, given: str) -> str:
    reason = given.strip()
    if not staff:
        raise InvalidRequest({"override": "Only clinic staff may book outside the rules."})
    if not reason or len(reason) > OVERRIDE_REASON_MAX:
        raise InvalidRequest(
            {"override_reason": f"Say why (at most {OVERRIDE_REASON_MAX} characters)."}
        )
    return reason
