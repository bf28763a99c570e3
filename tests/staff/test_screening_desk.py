"""Reception books a first needling by phone: the screening read aloud, or left for the patient.

A pending screening emails the patient a private link; the day view and the appointment
page flag "screening pending", then "review before needling" for any "yes", until a
therapist marks it reviewed (audited).
"""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import select
from staffing import account_id, csrf_of, sign_in
from support import BORN, MONDAY, local
from test_phone_booking import CALLER, details_form, time_links

from booking.extensions import db
from booking.mail.compose import compose
from booking.models import AuditEvent, Consent, OutboxMessage, Screening, Source
from booking.models.screening import KEYS
from booking.services import booking
from booking.services import screening as screenings
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import InvalidRequest, NotChangeable

TUESDAY = MONDAY + timedelta(days=1)
NO = dict.fromkeys(KEYS, "no")  # every question answered "no", as the form sends it


def assessment_link(client, world) -> str:
    page = client.get(f"/staff/book?service=assessment&therapist={world.maya}&date={TUESDAY}")
    return time_links(page.text)[0]


def screening_of(app, appointment_id) -> Screening:
    with app.app_context():
        found = db.session.get(Screening, appointment_id)
        db.session.expunge_all()
        return found


def text_of(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def booked_id(response) -> int:
    assert response.status_code == 302, response.text[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({}, ["screening_mode"]),  # must choose
        ({"screening_mode": "phone"}, [*NO, "verbal_consent"]),  # every answer, and consent
        ({"screening_mode": "phone", **NO}, ["verbal_consent"]),
        ({"screening_mode": "phone", "verbal_consent": "y", **{**NO, "implant": ""}}, ["implant"]),
        ({"screening_mode": "maybe"}, ["screening_mode"]),
    ],
)
def test_a_phone_booking_of_an_assessment_needs_the_screening(
    client, app, staff, world, fields, errors
):
    sign_in(client, staff.reception)
    link = assessment_link(client, world)
    _, data = details_form(client, link)
    refused = client.post(link, data={**data, **CALLER, **fields})
    assert refused.status_code == 422
    for name in errors:
        assert f'id="{name}-error"' in refused.text, name
    with app.app_context():
        assert db.session.scalar(select(Screening)) is None


def test_answers_read_over_the_phone_are_recorded_with_verbal_consent(client, app, staff, world):
    sign_in(client, staff.reception)
    link = assessment_link(client, world)
    page, data = details_form(client, link)
    assert "the caller consents verbally" in page.text
    answers = {**NO, "blood_thinners": "yes"}
    fields = {"screening_mode": "phone", "verbal_consent": "y", **answers}
    visit = booked_id(client.post(link, data={**data, **CALLER, **fields}))
    screening = screening_of(app, visit)
    desk = account_id(app, staff.reception)
    assert (screening.consent, screening.recorded_by) == ("verbal", f"staff:{desk}")
    assert screening.blood_thinners is True and screening.needs_review
    shown = client.get(f"/staff/appointments/{visit}").text
    assert "Consent given verbally on the phone" in shown and "by Rita Desk (reception)" in shown
    assert "Answers to review before needling." in shown
    assert "Mark reviewed" not in shown  # a clinical decision: not the front desk's
    with app.app_context():
        booked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "booked"))
        assert booked.after["screening"] == "verbal" and booked.actor == f"staff:{desk}"


def test_a_pending_screening_is_answered_from_the_patients_link_and_reviewed(
    client, app, staff, world, clock
):
    sign_in(client, staff.reception)
    link = assessment_link(client, world)
    _, data = details_form(client, link)
    visit = booked_id(client.post(link, data={**data, **CALLER, "screening_mode": "pending"}))
    assert screening_of(app, visit).pending

    # The patient's confirmation carries the private link to the questions.
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == CALLER["email"])
        )
        raw = text_of(compose(message, now=clock.now).data)
    url = re.search(r"https://clinic\.test(/manage/[A-Za-z0-9_-]{43}/screening)", raw).group(1)
    token = url.split("/")[2]

    # Reception's day and the appointment say it is pending.
    day = client.get(f"/staff/day?date={TUESDAY}").text
    assert "screening pending" in day
    assert "Screening pending." in client.get(f"/staff/appointments/{visit}").text

    patient = app.test_client()
    shown = patient.get(f"/manage/{token}").text
    assert "Please answer the safety questions before your visit." in shown
    form = patient.get(url)
    assert form.status_code == 200
    incomplete = patient.post(url, data={"csrf_token": csrf_of(form.text), **NO})
    assert incomplete.status_code == 422 and 'id="consent-error"' in incomplete.text
    assert screening_of(app, visit).pending
    answers = {**NO, "pregnant": "yes", "consent": "y"}
    sent = patient.post(url, data={"csrf_token": csrf_of(form.text), **answers})
    assert sent.status_code == 303
    answered = screening_of(app, visit)
    assert (answered.consent, answered.recorded_by, answered.pregnant) == (
        "online",
        "patient",
        True,
    )
    again = patient.post(url, data={"csrf_token": csrf_of(form.text), **NO, "consent": "y"})
    assert again.status_code == 302  # answered: the link shows the appointment instead
    assert screening_of(app, visit).pregnant is True
    with app.app_context():
        message = db.session.get(OutboxMessage, message.id)
        assert "/screening" not in text_of(compose(message, now=clock.now).data)

    assert "review before needling" in client.get(f"/staff/day?date={TUESDAY}").text
    review = f"/staff/appointments/{visit}/screening/reviewed"
    page = client.get(f"/staff/appointments/{visit}").text
    assert client.post(review, data={"csrf_token": csrf_of(page)}).status_code == 403

    colleague = app.test_client()
    sign_in(colleague, staff.daniel)  # not their visit
    token_page = colleague.get("/staff/day").text
    assert colleague.post(review, data={"csrf_token": csrf_of(token_page)}).status_code == 403

    therapist = app.test_client()
    sign_in(therapist, staff.maya)
    page = therapist.get(f"/staff/appointments/{visit}").text
    assert "Mark reviewed" in page
    done = therapist.post(review, data={"csrf_token": csrf_of(page)})
    assert done.status_code == 302
    reviewed = screening_of(app, visit)
    assert (
        reviewed.reviewed_by == f"staff:{account_id(app, staff.maya)}" and not reviewed.needs_review
    )
    page = therapist.get(f"/staff/appointments/{visit}").text
    assert "Reviewed" in page and "by Maya Chen (therapist)" in page and "Mark reviewed" not in page
    assert "review before needling" not in client.get(f"/staff/day?date={TUESDAY}").text
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "appointment", AuditEvent.entity_id == visit)
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["booked", "screening_answered", "screening_reviewed"]


def pending_booking(world, clock):
    """An assessment reception booked by phone with the screening left for the patient."""
    world.maya = world.make_therapist()
    return booking.book(
        BookingRequest(
            "assessment", local(TUESDAY, 9), PatientDetails("A B", "ab@example.com", "604", BORN),
            source=Source.STAFF, screening_pending=True,
        ),
        now=clock.now, actor="staff:1",
    )  # fmt: skip


def test_a_screening_cannot_be_answered_twice_or_reviewed_while_pending(ctx, world, clock):
    booked = pending_booking(world, clock)
    visit = booked.appointment.id
    with pytest.raises(NotChangeable):
        screenings.mark_reviewed(visit, actor="staff:3", now=clock.now)
    with pytest.raises(InvalidRequest):
        screenings.answer(visit, {"pregnant": True}, consent=Consent.ONLINE, actor="patient",
                          now=clock.now)  # fmt: skip
    answers = dict.fromkeys(NO, False)
    screenings.answer(visit, answers, consent=Consent.ONLINE, actor="patient", now=clock.now)
    with pytest.raises(NotChangeable):
        screenings.answer(visit, answers, consent=Consent.ONLINE, actor="patient", now=clock.now)
    screenings.mark_reviewed(visit, actor="staff:3", now=clock.now)
    with pytest.raises(NotChangeable):
        screenings.mark_reviewed(visit, actor="staff:3", now=clock.now)


def test_a_cancelled_visit_no_longer_takes_answers(ctx, world, clock):
    booked = pending_booking(world, clock)
    booking.cancel(booked.appointment.id, now=clock.now, actor="staff:1", enforce_cutoff=False)
    with pytest.raises(NotChangeable):
        screenings.answer(
            booked.appointment.id, dict.fromkeys(NO, False), consent=Consent.ONLINE,
            actor="patient", now=clock.now,
        )  # fmt: skip
