"""What the API tests share: booking through the API and counting rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from support import API_SCREENING, MONDAY, patient

from booking.extensions import db
from booking.models import Appointment

TUESDAY = MONDAY + timedelta(days=1)


def post_booking(client, *, start, service="assessment", therapist_id=None, n=1, headers=None):
    body = {"service": service, "start": start.isoformat(), "patient": patient(n)}
    if service == "assessment":
        body["screening"] = API_SCREENING
    if therapist_id is not None:
        body["therapist_id"] = therapist_id
    return client.post("/api/v1/bookings", json=body, headers=headers or {})


def count(app, model=Appointment) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))
