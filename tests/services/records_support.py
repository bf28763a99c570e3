"""What the tests of reception's record services share: booking people, reading rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from support import ANSWERS, MONDAY, NOW, details, local

from booking.extensions import db
from booking.models import AuditEvent
from booking.services import booking
from booking.services.booking import BookingRequest

TUESDAY = MONDAY + timedelta(days=1)
ACTOR = "staff:1"


def book(app, start, who=None, *, service="physio", **extra):
    """Book through the service; answer the Booked value."""
    screening = dict(ANSWERS) if service == "assessment" else None
    request = BookingRequest(service, start, who, screening=screening, **extra)
    with app.app_context():
        return booking.book(request, now=NOW)


def free_times():
    """Hourly starts, Tuesday on, inside the test clinic's hours (09-12, 13-17)."""
    for days in range(1, 30):
        for hour in (9, 10, 11, 13, 14, 15, 16):
            yield local(MONDAY + timedelta(days=days), hour)


def person_of(app, n=1, start=None, **given):
    """Book person `n` (details(n, **given)) once, at the next free hour; answer their id."""
    times = app.extensions.setdefault("records_support_times", free_times())
    visit = book(app, start or next(times), details(n, **given))
    return visit.appointment.patient_id


def trail(app, entity="patient"):
    """The audit rows about `entity`: (action, entity_id, before, after), oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id)
        )
        return [(e.action, e.entity_id, e.before, e.after) for e in rows]
