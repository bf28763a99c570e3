"""Book several visits of one person at once (a course's), in the caller's transaction.

The same rules as one booking (`book.write_booking`): the same checks of the request and of
the person, then `rules.place_many`, which asks each rule once for the batch where its answer
is the batch's (the locks, the busy times of the whole span in one query, the assessment
before the first visit, the spacing and the gaps between all of them). The rows go in as one
multi-row INSERT each: the appointments, the audit trail, the outbox. A course of ten visits
costs about the statements of one booking, not ten bookings' (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from booking.inserts import insert_rows
from booking.models import Appointment, Event, OutboxMessage
from booking.services import audit, outbox
from booking.services import catalog as catalogs
from booking.services import screening as screenings
from booking.services.booking import people, rules, writes
from booking.services.booking.book import new_appointment
from booking.services.booking.values import Booked, BookingRequest, Visit
from booking.services.catalog import Catalog
from booking.services.errors import InvalidRequest

_APPOINTMENT = Appointment.__table__


def write_series(
    catalog: Catalog,
    requests: Sequence[BookingRequest],
    now: datetime,
    actor: str,
    *,
    summary: Event | None = None,
    course_event: tuple[str, dict[str, Any]] | None = None,
) -> list[Booked]:
    """Check every rule for each visit against `catalog` (the transaction's own, from
    `current()`) and write them all, or raise `rules.Refused` (which visit, and why) or the
    refusal of the request itself; the caller's transaction rolls back. The requests name
    one person on record and one service, each with its therapist, and one course, which
    the caller has made or checked (`courses.book`: an active course of that person).
    `summary` adds that patient email about the first visit after the invites;
    `course_event` (an action and what it records) the course's own audit row, with the
    visits' ids, written with theirs.
    """
    first = requests[0]
    if any(
        (r.service, r.person_id, r.course_id, r.source) != (first.service, first.person_id,
                                                            first.course_id, first.source)
        or r.therapist_id is None
        or r.skip_notice or r.skip_prerequisite or r.skip_spacing or r.skip_reassessment
        for r in requests
    ):  # fmt: skip
        raise InvalidRequest({"visits": "A course's visits are one person's, one service's."})
    service = catalog.service(first.service)
    today = now.astimezone(catalog.clinic.zone).date()
    for request in requests:
        people.check(request, prerequisite=service.prerequisite_id is not None, today=today)
        screenings.row_for_booking(
            service,
            request.screening,
            consent=request.screening_consent,
            pending=request.screening_pending,
            source=request.source,
            actor=actor,
            now=now,
        )  # fmt: skip  (a course's service asks none: refused here if it would)
    if screenings.needs_screening(service):
        raise InvalidRequest({"service": "A course's sessions are follow-up visits."})
    person = people.on_record(first)
    if person is None:
        raise InvalidRequest({"person_id": people.NOT_IN_HOUSEHOLD})
    visits = sorted((r.start, r.therapist_id or 0, r) for r in requests)
    rules.place_many(catalog, service, [(s, t) for s, t, _ in visits], now=now,
                     patient_id=person.id)  # fmt: skip
    domain = catalogs.mail_domain(catalog)
    rows: list[dict[str, Any]] = []
    booked_tokens = {}
    for _, therapist_id, request in visits:
        row, token = new_appointment(request, service, therapist_id, person.id, domain, now)
        rows.append(row)
        booked_tokens[row["calendar_uid"]] = token
    try:
        ids = dict(insert_rows(_APPOINTMENT, rows, returning=("calendar_uid", "id")).all())
    except IntegrityError as exc:
        writes.refuse(exc)
    written = [Visit(id=ids[row["calendar_uid"]], **row) for row in rows]
    trail = [audit.row(actor, "booked", v.id, now=now, after=v.snapshot()) for v in written]
    if course_event is not None and first.course_id is not None:
        action, after = course_event
        after = {**after, "visits": [v.id for v in written]}
        trail.append(
            audit.row(actor, action, first.course_id, entity="course", now=now, after=after)
        )
    audit.record(trail)
    contact = (person.to_name, person.email)
    messages = [row for v in written
                for row in outbox.messages(Event.BOOKED, v, catalog=catalog, now=now,
                                           contact=contact)]  # fmt: skip
    if summary is not None:
        messages.append(outbox.course_email(summary, written[0], contact=contact, now=now))
    insert_rows(OutboxMessage.__table__, messages)
    return [Booked(v, booked_tokens[v.calendar_uid]) for v in written]
