"""A course's plan, and its visits proposed on real availability.

`propose` reads only: one availability search for the therapist over the course's whole span
(the engine, as every booking), the person's own visits (for the spacing between needling
visits), then each session placed in turn: its target day (one cadence step after the
previous session), a preferred weekday near it, inside the time window, as close as possible
to the first session's time of day. A session that cannot be placed as asked says why and
carries the nearest free times (with another certified therapist when the chosen one's
certification has lapsed by then), for staff to pick.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from booking.availability import Slot
from booking.database import execute
from booking.dates import Style
from booking.models import Patient
from booking.models.course import CADENCE_DAYS_MAX, SESSIONS_MAX
from booking.services.availability import DaySlots, closest, find_slots
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo, certified
from booking.services.errors import InvalidRequest
from booking.services.screening import needs_screening
from booking.services.spacing import needling_days, too_close

ALL_WEEKDAYS = frozenset(range(7))
_PERSON = select(Patient.id).where(Patient.id == bindparam("person"))
ALTERNATIVES = 4


@dataclass(frozen=True, slots=True)
class Plan:
    """What staff ask for: sessions of `service` for a person, with a therapist."""

    person_id: int
    service: str  # the sessions' service, by slug
    therapist_id: int
    first_on: date  # the first session on or after this clinic-local date
    sessions: int = 8
    cadence_days: int = 7
    weekdays: frozenset[int] = ALL_WEEKDAYS  # 0 = Monday
    window: tuple[time, time] | None = None  # clinic-local start and end of a visit
    end_by: date | None = None
    first_number: int = 1  # the first proposed session's number (more sessions of a course)


@dataclass(frozen=True, slots=True)
class Proposed:
    """One session: placed at `start`, or not (then `problem` says why), with alternatives."""

    number: int
    target: date  # the day the cadence asks for
    start: datetime | None
    therapist_id: int
    problem: str = ""
    alternatives: tuple[Slot, ...] = ()

    @property
    def placed(self) -> bool:
        return self.start is not None


@dataclass(frozen=True, slots=True)
class Proposal:
    plan: Plan
    visits: tuple[Proposed, ...]
    placed_count: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "placed_count", sum(v.placed for v in self.visits))


def check(catalog: Catalog, plan: Plan, *, today: date) -> ServiceInfo:
    """Refuse a plan that cannot be a course, field by field; return its service."""
    errors: dict[str, str] = {}
    try:
        service = catalog.service(plan.service)
    except InvalidRequest:
        errors["service"] = "There is no such service."
        service = None
    if service is not None and needs_screening(service):
        errors["service"] = (
            f"{service.name} is a first visit: a course's sessions are follow-up visits."
        )
    if not 1 <= plan.sessions <= SESSIONS_MAX:
        errors["sessions"] = f"A course has 1 to {SESSIONS_MAX} sessions."
    if not 1 <= plan.cadence_days <= CADENCE_DAYS_MAX:
        errors["cadence_days"] = f"Sessions are 1 to {CADENCE_DAYS_MAX} days apart."
    if not plan.weekdays or not plan.weekdays <= ALL_WEEKDAYS:
        errors["weekdays"] = "Choose at least one weekday."
    if plan.window is not None and not plan.window[0] < plan.window[1]:
        errors["window"] = "The time window must end after it starts."
    if plan.first_on < today:
        errors["first_on"] = "The first session cannot be in the past."
    if plan.end_by is not None and plan.end_by < plan.first_on:
        errors["end_by"] = "The end-by date is before the first session."
    if plan.therapist_id not in catalog.therapists:
        errors["therapist_id"] = "There is no such therapist."
    elif service is not None and plan.therapist_id not in catalog.offered_by.get(service.id, ()):
        therapist = catalog.therapists[plan.therapist_id]
        errors["therapist_id"] = f"{therapist.name} does not offer {service.name}."
    elif (
        service is not None
        and service.requires_ims
        and not certified(therapist := catalog.therapists[plan.therapist_id], plan.first_on)
    ):
        errors["therapist_id"] = f"{therapist.name} is not IMS-certified on that date."
    if execute(_PERSON, {"person": plan.person_id}).first() is None:
        errors["person"] = "There is no such patient."
    if errors:
        raise InvalidRequest(errors)
    assert service is not None
    return service


def propose(catalog: Catalog, plan: Plan, *, now: datetime) -> Proposal:
    """Place every session of `plan` on real availability, or say why not and offer others."""
    zone = catalog.clinic.zone
    today = now.astimezone(zone).date()
    service = check(catalog, plan, today=today)
    therapist = catalog.therapists[plan.therapist_id]
    spacing = catalog.clinic.needling_spacing_days if service.requires_ims else 0
    # Needling visits cannot come closer than the spacing, whatever the cadence asks.
    step = max(plan.cadence_days, spacing)
    targets = [plan.first_on + timedelta(days=step * k) for k in range(plan.sessions)]
    reach = max(1, step // 2)  # how far from its target day a session may move
    last_bookable = (now + catalog.clinic.booking_horizon).astimezone(zone).date()
    span_end = min(targets[-1] + timedelta(days=reach + 7), last_bookable)
    span = DaySlots(catalog, service, [therapist], plan.first_on, span_end, now=now)

    def slots(day: date) -> list[Slot]:
        return span.on(day, therapist.id)

    # The days of the person's needling visits (alternatives may be a week before the first
    # session), then also of the sessions placed.
    looked_from = plan.first_on - timedelta(days=7)
    taken = set(needling_days(catalog, plan.person_id, looked_from, span_end)) if spacing else set()

    def spaced(day: date) -> bool:
        return too_close(catalog, day, taken) is None if spacing else True

    visits: list[Proposed] = []
    anchor: time | None = None
    after = plan.first_on - timedelta(days=1)  # sessions stay in order, a day apart at least
    for k, target in enumerate(targets):
        number = plan.first_number + k
        problem = _beyond(plan, target, last_bookable)
        if problem:
            visits.append(Proposed(number, target, None, therapist.id, problem))
            continue
        if service.requires_ims and not certified(therapist, target):
            visits.append(_elsewhere(catalog, service, plan, number, target, spaced, now=now))
            continue
        days = _near_days(target, reach, after, plan.weekdays)
        found = _pick(slots, days, plan.window, anchor, spaced, zone)
        if found is None:
            why = _why_not(catalog, therapist, days)
            near = [s for d in _around(target) if d > after for s in slots(d)]
            near = [s for s in near if spaced(s.start.astimezone(zone).date())]
            wanted = _at(target, anchor or (plan.window[0] if plan.window else time(9)), zone)
            alternatives = tuple(closest(near, wanted, ALTERNATIVES))
            visits.append(Proposed(number, target, None, therapist.id, why, alternatives))
            continue
        day = found.start.astimezone(zone).date()
        anchor = anchor or found.start.astimezone(zone).time()
        after = day
        taken.add(day)
        visits.append(Proposed(number, target, found.start, therapist.id))
    return Proposal(plan, tuple(visits))


def _beyond(plan: Plan, target: date, last_bookable: date) -> str:
    if plan.end_by is not None and target > plan.end_by:
        return "After the course's end-by date."
    if target > last_bookable:
        return "Beyond the booking horizon: book it nearer the time."
    return ""


def _near_days(target: date, reach: int, after: date, weekdays: frozenset[int]) -> list[date]:
    """The days a session may take, nearest its target first, later before earlier."""
    days = [target]
    for step in range(1, reach + 1):
        days += [target + timedelta(days=step), target - timedelta(days=step)]
    return [d for d in days if d > after and d.weekday() in weekdays]


def _around(target: date) -> list[date]:
    return [target + timedelta(days=d) for d in range(-7, 8)]


def _pick(
    slots: Callable[[date], list[Slot]],
    days: Sequence[date],
    window: tuple[time, time] | None,
    anchor: time | None,
    spaced: Callable[[date], bool],
    zone: ZoneInfo,
) -> Slot | None:
    """The first day's slot inside the window, nearest the anchor's time of day."""
    for day in days:
        if not spaced(day):
            continue
        fitting = [
            s
            for s in slots(day)
            if window is None
            or (
                window[0] <= s.start.astimezone(zone).time()
                and s.end.astimezone(zone).time() <= window[1]
            )
        ]
        if fitting:
            if anchor is None:
                return fitting[0]
            return min(fitting, key=lambda s: _minutes_apart(s.start.astimezone(zone), anchor))
    return None


def _minutes_apart(local: datetime, anchor: time) -> int:
    return abs(local.hour * 60 + local.minute - (anchor.hour * 60 + anchor.minute))


def _why_not(catalog: Catalog, therapist: TherapistInfo, days: Sequence[date]) -> str:
    if days and all(catalog.closed_dates(d, d) for d in days):
        return "The clinic is closed then."
    return f"{therapist.name} has no free time on the preferred days and hours."


def _elsewhere(
    catalog: Catalog,
    service: ServiceInfo,
    plan: Plan,
    number: int,
    target: date,
    spaced: Callable[[date], bool],
    *,
    now: datetime,
) -> Proposed:
    """A session after the therapist's certification lapsed: other certified therapists."""
    zone = catalog.clinic.zone
    therapist = catalog.therapists[plan.therapist_id]
    expires = therapist.ims_certification_expires
    ends = Style.of(catalog.clinic).day(expires) if expires else "now"
    others = catalog.therapists_for(service, on=target)
    near = find_slots(
        catalog, service, target - timedelta(days=3), target + timedelta(days=3), now=now,
        therapists=others,
    )  # fmt: skip
    near = [s for s in near if spaced(s.start.astimezone(zone).date())]
    wanted = _at(target, plan.window[0] if plan.window else time(9), zone)
    return Proposed(
        number,
        target,
        None,
        therapist.id,
        f"{therapist.name}'s IMS certification ends {ends}: another certified therapist?",
        tuple(closest(near, wanted, ALTERNATIVES)),
    )


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)
