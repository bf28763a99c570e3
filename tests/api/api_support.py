"""What the API tests share: booking through the API, verifying a household, counting rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from support import API_SCREENING, MONDAY, patient

from booking.extensions import db
from booking.models import AccessLink, Appointment
from booking.services import access

TUESDAY = MONDAY + timedelta(days=1)


def post_booking(
    client,
    *,
    start,
    service="assessment",
    therapist_id=None,
    n=1,
    headers=None,
    person_id=None,
    token=None,
    **given,
):
    """POST a booking: for `patient(n, **given)`, or for `person_id` with a bearer `token`."""
    body = {"service": service, "start": start.isoformat()}
    if person_id is None:
        body["patient"] = patient(n, **given)
    else:
        body["person_id"] = person_id
    if service == "assessment":
        body["screening"] = API_SCREENING
    if therapist_id is not None:
        body["therapist_id"] = therapist_id
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/v1/bookings", json=body, headers=headers)


def emailed_link(app) -> str | None:
    """The token of the access link written last (what its email carries), if any."""
    with app.app_context():
        link = db.session.scalar(select(AccessLink).order_by(AccessLink.id.desc()).limit(1))
        return None if link is None else access.link_token(link)


def verify(app, client, email="patient1@example.com") -> dict:
    """Ask for a link to `email`, redeem it: the 201 body (`access_token`, `people`, ...)."""
    before = emailed_link(app)
    asked = client.post("/api/v1/access-links", json={"email": email})
    assert asked.status_code == 202
    link = emailed_link(app)
    assert link is not None and link != before, "no link was written for this address"
    redeemed = client.post("/api/v1/access-tokens", json={"token": link})
    assert redeemed.status_code == 201, redeemed.get_data(as_text=True)
    return redeemed.get_json()


def count(app, model=Appointment) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
