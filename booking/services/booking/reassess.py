"""The re-assessment rule: after many follow-ups, or a long gap, the next visit re-assesses.

IMS care is re-examined after a course (`reassess_after_sessions` follow-ups completed since
the last assessment or re-assessment) or when a patient comes back after a long gap (their
previous visit more than `reassess_after_weeks` weeks before the new one). Either setting 0
turns its half off; with no active service marked `reassessment` the rule is off.

The gap is measured from the previous visit that took place or is booked: a course booked
ahead (ten weekly sessions) is not away for ten weeks, and a re-assessment booked before the
new visit closes the gap. Sessions count only once they took place (completed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import bindparam, func, select

from booking.database import execute
from booking.models import Appointment, Status, UTCDateTime
from booking.services.catalog import Catalog, ServiceInfo
from booking.services.errors import ReassessmentRequired

_START = bindparam("start", type_=UTCDateTime())
_HAPPENING = (Status.BOOKED.value, Status.COMPLETED.value)  # not cancelled, not a no-show
# Core, built once. The person's latest assessment (or re-assessment), and latest visit of
# any kind, that is booked or took place before `start`.
_LAST_ASSESSED = select(func.max(Appointment.start_at)).where(
    Appointment.patient_id == bindparam("patient"),
    Appointment.service_id.in_(bindparam("assessments", expanding=True)),
    Appointment.status.in_(_HAPPENING),
    Appointment.start_at < _START,
)
_LAST_SEEN = select(func.max(Appointment.start_at)).where(
    Appointment.patient_id == bindparam("patient"),
    Appointment.status.in_(_HAPPENING),
    Appointment.start_at < _START,
)
# The follow-ups completed after the last assessment (`since`), before `start`.
_SESSIONS_SINCE = select(func.count()).where(
    Appointment.patient_id == bindparam("patient"),
    Appointment.service_id.in_(bindparam("follow_ups", expanding=True)),
    Appointment.status == Status.COMPLETED.value,
    Appointment.start_at > bindparam("since", type_=UTCDateTime()),
    Appointment.start_at < _START,
)


def reassessment_service(catalog: Catalog) -> ServiceInfo | None:
    """The active service the clinic marks as its re-assessment (the lowest id), if any."""
    return next((s for s in catalog.services.values() if s.reassessment and s.active), None)


def assessments_for(catalog: Catalog, service: ServiceInfo) -> list[int]:
    """The services that count as the assessment `service` follows: its own, or any
    re-assessment (active or not: one that took place still counts)."""
    required = service.prerequisite_id
    ids = [s.id for s in catalog.services.values() if s.reassessment]
    return sorted({required, *ids}) if required is not None else ids


def require_reassessment(
    catalog: Catalog,
    service: ServiceInfo,
    patient_id: int | None,
    start: datetime,
    later: Sequence[datetime] = (),
) -> None:
    """Refuse a follow-up when the person is due a re-assessment, naming that service.

    `later`: more visits booked with it (a course's, in order): the sessions done are the
    same for each (only completed ones count), and each one's gap is from the one before.
    """
    clinic = catalog.clinic
    sessions, weeks = clinic.reassess_after_sessions, clinic.reassess_after_weeks
    if (
        patient_id is None
        or service.prerequisite_id is None
        or service.reassessment
        or not (sessions or weeks)
    ):
        return
    target = reassessment_service(catalog)
    if target is None:
        return
    params = {"patient": patient_id, "start": start}
    assessed = execute(
        _LAST_ASSESSED, params | {"assessments": assessments_for(catalog, service)}
    ).scalar()
    reason, index = None, 0
    if sessions and assessed is not None:
        follow_ups = [
            s.id for s in catalog.services.values() if s.prerequisite_id and not s.reassessment
        ]
        done = execute(
            _SESSIONS_SINCE, params | {"follow_ups": follow_ups, "since": assessed}
        ).scalar()
        if done and done >= sessions:
            reason = f"{done} sessions since the last assessment"
    if reason is None and weeks:
        seen = execute(_LAST_SEEN, params).scalar()
        visits = [start, *later]
        late = next(
            (k for k, (a, b) in enumerate(pairwise([seen, *visits]))
             if a is not None and b - a > timedelta(weeks=weeks)),
            None,
        )  # fmt: skip
        if late is not None:  # the visit after the gap is the one to be a re-assessment
            reason = f"more than {weeks} week{'s' if weeks != 1 else ''} since the last visit"
            index = late
    if reason is not None:
        raise ReassessmentRequired(
            f"{service.name}: after {reason}, the next visit is a re-assessment "
            f"({target.name}), so the therapist can check how the treatment is going. "
            f"Please book the {target.name} instead.",
            required_service=target.slug,
            index=index,
        )
