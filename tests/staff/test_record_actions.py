"""Reception merges two records from their pages, resends a confirmation, books people."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from staffing import csrf_of, sign_in
from support import MONDAY, NOW, details, local
from test_phone_booking import CALLER, details_form, time_links

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Contact, OutboxMessage, Patient
from booking.services import booking
from booking.services.booking import BookingRequest

TUESDAY = MONDAY + timedelta(days=1)


def book_visit(app, start, therapist, n=1, **given):
    with app.app_context():
        return booking.book(
            BookingRequest("physio", start, details(n, **given), therapist_id=therapist), now=NOW
        ).appointment


@pytest.fixture
def desk(client, staff):
    sign_in(client, staff.reception)
    return client


def test_merging_two_records_from_the_record_page(app, desk, world):
    first = book_visit(app, local(TUESDAY, 9), world.maya)
    second = book_visit(app, local(TUESDAY, 13), world.daniel, email="pat.work@example.com")
    url = f"/staff/patients/{first.patient_id}/merge?other={second.patient_id}"
    page = desk.get(url)
    assert page.status_code == 200 and "Merge two records of one person?" in page.text
    assert "cannot be merged yet" not in page.text
    merged = desk.post(url, data={"csrf_token": csrf_of(page.text), "keep": "other"})
    assert merged.status_code == 302
    assert merged.headers["Location"].endswith(f"/staff/patients/{second.patient_id}")
    with app.app_context():
        assert db.session.get(Patient, first.patient_id) is None
        assert {a.patient_id for a in db.session.scalars(select(Appointment))} == {
            second.patient_id
        }
    shown = desk.get(merged.headers["Location"]).text
    assert "Merged: every visit" in shown and "Merged" in shown
    assert desk.get(url).status_code == 404  # the merged-away record is gone


def test_a_merge_that_would_put_one_person_in_two_places_is_refused(app, desk, world):
    first = book_visit(app, local(TUESDAY, 9), world.maya)
    second = book_visit(app, local(TUESDAY, 9), world.daniel, email="pat.work@example.com")
    url = f"/staff/patients/{first.patient_id}/merge?other={second.patient_id}"
    page = desk.get(url).text
    assert "cannot be merged yet" in page and f"/staff/appointments/{second.id}" in page
    refused = desk.post(url, data={"csrf_token": csrf_of(page), "keep": "this"})
    assert refused.status_code == 302
    assert "two places at once" in desk.get(unescape(refused.headers["Location"])).text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 2


@pytest.mark.parametrize("other", ["", "abc", "1" * 12])
def test_a_merge_needs_another_record(app, desk, world, other):
    first = book_visit(app, local(TUESDAY, 9), world.maya)
    assert desk.get(f"/staff/patients/{first.patient_id}/merge?other={other}").status_code == 400
    same = f"/staff/patients/{first.patient_id}/merge?other={first.patient_id}"
    assert desk.get(same).status_code == 400


def test_resending_a_confirmation_from_the_appointment_page(app, desk, world):
    visit = book_visit(app, local(TUESDAY, 9), world.maya)
    page = desk.get(f"/staff/appointments/{visit.id}").text
    assert "Resend confirmation" in page
    sent = desk.post(f"/staff/appointments/{visit.id}/resend", data={"csrf_token": csrf_of(page)})
    assert sent.status_code == 302
    with app.app_context():
        rows = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == "patient", OutboxMessage.method == "REQUEST")
            .order_by(OutboxMessage.id)
        ).all()
        assert len(rows) == 2 and rows[0].message_id != rows[1].message_id
        assert rows[0].sequence == rows[1].sequence == 0
        assert db.session.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "confirmation_resent")
        ).startswith("staff:")
    assert "on its way to the patient again" in desk.get(f"/staff/appointments/{visit.id}").text
    assert desk.post(f"/staff/appointments/{visit.id}/resend", data={}).status_code == 400


def test_a_cancelled_visit_is_not_resent(app, desk, world):
    visit = book_visit(app, local(TUESDAY, 9), world.maya)
    token = csrf_of(desk.get(f"/staff/appointments/{visit.id}").text)
    with app.app_context():
        booking.cancel(visit.id, now=NOW, reason="", actor="test", enforce_cutoff=False)
    page = desk.get(f"/staff/appointments/{visit.id}").text
    assert "Resend confirmation" not in page
    refused = desk.post(f"/staff/appointments/{visit.id}/resend", data={"csrf_token": token})
    assert (
        "is cancelled: there is no invite to send again"
        in desk.get(refused.headers["Location"]).text
    )


def test_the_phone_booking_asks_a_new_callers_date_of_birth(app, desk, world):
    link = time_links(desk.get(f"/staff/book?service=physio&date={TUESDAY}").text)[0]
    _, data = details_form(desk, link)
    missing = desk.post(link, data={**data, **CALLER, "date_of_birth": ""})
    assert missing.status_code == 422 and "Enter the date of birth." in missing.text
    future = desk.post(link, data={**data, **CALLER, "date_of_birth": "2030-01-01"})
    assert future.status_code == 422 and "cannot be in the future" in future.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_booking_for_someone_else_names_the_caller(app, desk, world):
    link = time_links(desk.get(f"/staff/book?service=physio&date={TUESDAY}").text)[0]
    _, data = details_form(desk, link)
    child = {**CALLER, "name": "Tom Caller", "date_of_birth": "2014-09-03",
             "for_someone_else": "y"}  # fmt: skip
    nameless = desk.post(link, data={**data, **child})
    assert nameless.status_code == 422 and "Enter the caller&#39;s name." in nameless.text
    booked = desk.post(link, data={**data, **child, "booker": "Casey Caller"})
    assert booked.status_code == 302
    with app.app_context():
        contact = db.session.scalar(select(Contact))
        assert (contact.email, contact.name) == ("casey@example.com", "Casey Caller")
        assert [p.name for p in contact.people] == ["Tom Caller"]


def test_booking_a_person_on_record_by_their_id(app, desk, world):
    parent = book_visit(app, local(TUESDAY, 9), world.maya)
    child = book_visit(app, local(TUESDAY, 10), world.maya, name="Tom Ient",
                       date_of_birth=date(2014, 9, 3))  # fmt: skip
    wednesday = TUESDAY + timedelta(days=1)
    link = time_links(desk.get(f"/staff/book?service=physio&date={wednesday}").text)[0]
    token = csrf_of(desk.get(link).text)
    found = desk.post(link, data={"find-csrf_token": token, "find-q": "patient1@"}).text
    chosen = [unescape(h) for h in re.findall(r'href="([^"]+patient=\d+)"', found)]
    assert len(chosen) == 2  # the household's two people, each by their own id
    pick = next(h for h in chosen if h.endswith(f"patient={child.patient_id}"))
    page, data = details_form(desk, pick)
    assert "Tom Ient" in page.text and "Sep 3, 2014" in page.text
    booked = desk.post(pick, data={**data, "patient": str(child.patient_id)})
    assert booked.status_code == 302
    visit_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Appointment, visit_id).patient_id == child.patient_id
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 2
    assert parent.patient_id != child.patient_id


def test_an_assessment_for_a_person_on_record_reads_the_screening_on_the_phone(app, desk, world):
    from booking.models import Screening
    from booking.models.screening import KEYS

    pid = book_visit(app, local(TUESDAY, 9), world.maya).patient_id
    wednesday = TUESDAY + timedelta(days=1)
    page = desk.get(f"/staff/book?service=assessment&therapist={world.maya}&date={wednesday}")
    link = time_links(page.text)[0] + f"&patient={pid}"
    form, data = details_form(desk, link)
    assert "the caller consents verbally" in form.text and 'name="email"' not in form.text
    answers = {**dict.fromkeys(KEYS, "no"), "screening_mode": "phone", "verbal_consent": "y"}
    booked = desk.post(link, data={**data, **answers, "patient": str(pid)})
    assert booked.status_code == 302
    visit_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        assert db.session.get(Appointment, visit_id).patient_id == pid
        assert db.session.get(Screening, visit_id).consent == "verbal"
