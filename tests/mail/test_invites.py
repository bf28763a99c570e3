"""Invites as real calendar clients need them, checked on what a real SMTP server receives."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from inbox import Received, deliver
from pages import book as book_on_site
from pages import csrf, screening
from sqlalchemy import func, select
from support import BORN, MONDAY, local, screening_for

from booking.extensions import db
from booking.models import Appointment, OutboxMessage
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails
from booking.services.errors import SlotUnavailable

TUESDAY = MONDAY + timedelta(days=1)
NEXT_TUESDAY = TUESDAY + timedelta(days=7)  # 9 March 2027, still Pacific standard time


def book(app, start, *, n=1, service="assessment", therapist_id=None, notes="", answers=None):
    with app.app_context():
        booked = booking.book(
            BookingRequest(
                service=service,
                start=start,
                therapist_id=therapist_id,
                notes=notes,
                screening=answers if answers is not None else screening_for(service),
                patient=PatientDetails(
                    f"Pat Ient{n}", f"patient{n}@example.com", "604-555-0199", date_of_birth=BORN
                ),
            ),
            now=app.config["CLOCK"](),
        )
        return booked.appointment.id


def reschedule(app, appointment_id, start, **kwargs):
    with app.app_context():
        booking.reschedule(appointment_id, start, now=app.config["CLOCK"](), **kwargs)


def cancel(app, appointment_id):
    with app.app_context():
        booking.cancel(appointment_id, now=app.config["CLOCK"]())


def to(inbox: list[Received], address: str) -> list[Received]:
    return [m for m in inbox if m.to == address]


def test_booking_rescheduling_and_cancelling_send_one_invite_each_with_one_uid(
    clinic, mail_app, smtp
):
    appointment = book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    assert deliver(mail_app).sent == 2
    reschedule(mail_app, appointment, local(NEXT_TUESDAY, 13))
    assert deliver(mail_app).sent == 2
    cancel(mail_app, appointment)
    assert deliver(mail_app).sent == 2
    assert deliver(mail_app).sent == 0  # nothing twice

    counts = Counter(m.to for m in smtp.inbox)
    assert counts == {"patient1@example.com": 3, "maya@clinic.example": 3}
    for address in counts:
        events = [m.event() for m in to(smtp.inbox, address)]
        methods = [str(m.calendar()["METHOD"]) for m in to(smtp.inbox, address)]
        assert methods == ["REQUEST", "REQUEST", "CANCEL"]
        assert len({str(e["UID"]) for e in events}) == 1
        assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2]
        assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
        # A VALARM in requests only.
        assert [bool(e.walk("VALARM")) for e in events] == [True, True, False]
    with mail_app.app_context():
        uid = db.session.get(Appointment, appointment).calendar_uid
    assert str(to(smtp.inbox, "patient1@example.com")[0].event()["UID"]) == uid
    moved = to(smtp.inbox, "patient1@example.com")[1].event()
    assert moved.decoded("DTSTART") == local(NEXT_TUESDAY, 13).astimezone(UTC)


def test_the_mime_layout_is_imip(clinic, mail_app, smtp):
    book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    deliver(mail_app)
    for received in smtp.inbox:
        message = received.message
        assert message.get_content_type() == "multipart/mixed"
        first, attachment = message.get_payload()
        assert first.get_content_type() == "multipart/alternative"
        kinds = [p.get_content_type() for p in first.get_payload()]
        assert kinds == ["text/plain", "text/html", "text/calendar"]
        calendar_part = first.get_payload()[2]
        # The Content-Type's method= equals the calendar's METHOD; the part is inline.
        assert calendar_part.get_param("method") == "REQUEST"
        assert calendar_part.get_param("charset").lower() == "utf-8"
        assert calendar_part["Content-Disposition"] is None
        assert b"\r\nMETHOD:REQUEST\r\n" in received.calendar_bytes()
        assert attachment.get_content_type() == "application/ics"
        assert attachment.get_filename() == "invite.ics"
        assert attachment.get_payload(decode=True) == received.calendar_bytes()
        for header in ("Message-ID", "Date", "MIME-Version", "From", "To", "Subject"):
            assert message[header], header
        # From is the clinic (the ORGANIZER); the recipient is an ATTENDEE, never the organizer.
        assert message["From"].addresses[0].addr_spec == "book@clinic.example"
        assert received.mail_from == "book@clinic.example"
        event = received.event()
        assert str(event["ORGANIZER"]) == "mailto:book@clinic.example"
        assert event["ORGANIZER"].params["CN"] == "Test Clinic"
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{received.to}"
        assert attendee.params["RSVP"] == "TRUE"
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert str(event["LOCATION"]) == "2150 West Broadway, Vancouver, BC V6K 4L9"
        assert event.decoded("DTSTART").tzinfo is not None  # UTC, never floating


def test_the_calendar_keeps_crlf_line_ends_folded_at_75_octets(clinic, mail_app, smtp):
    book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    deliver(mail_app)
    raw = to(smtp.inbox, "patient1@example.com")[0].calendar_bytes()
    lines = raw.split(b"\r\n")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    assert b"" not in lines[:-1]  # no blank lines
    assert raw.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    # The whole message travels with CRLF too (email.policy.SMTP).
    message = to(smtp.inbox, "patient1@example.com")[0].raw
    assert b"\n" not in message.replace(b"\r\n", b"")


def test_bodies_give_the_time_in_the_clinic_zone_and_the_manage_link(clinic, mail_app, smtp):
    book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    after_the_change = local(NEXT_TUESDAY + timedelta(days=7), 9, 30)  # 16 March: PDT
    deliver(mail_app)
    patient = to(smtp.inbox, "patient1@example.com")[0]
    assert "Tuesday, March 9, 2027, 9:30 a.m. (Pacific time)" in patient.text()
    assert "Tuesday, March 9, 2027, 9:30 a.m. (Pacific time)" in patient.html()
    assert patient.event().decoded("DTSTART") == datetime(2027, 3, 9, 17, 30, tzinfo=UTC)
    assert "Wear loose clothing." in patient.text()
    link = next(w for w in patient.text().split() if w.startswith("https://clinic.test/manage/"))
    assert link in str(patient.event()["DESCRIPTION"])
    assert "Wear loose clothing." in str(patient.event()["DESCRIPTION"])
    # The link works: it opens this appointment's page.
    page = mail_app.test_client().get(link.removeprefix("https://clinic.test"))
    assert page.status_code == 200
    assert b"Tuesday, March 9, 2027" in page.data

    smtp.inbox.clear()
    with mail_app.app_context():
        appointment_id = db.session.scalar(select(Appointment.id))
    reschedule(mail_app, appointment_id, after_the_change)
    deliver(mail_app)
    moved = to(smtp.inbox, "patient1@example.com")[0]
    assert "Tuesday, March 16, 2027, 9:30 a.m. (Pacific time)" in moved.text()
    assert "from Tuesday, March 9, 2027, 9:30 a.m. (Pacific time)" in moved.text()
    assert moved.event().decoded("DTSTART") == datetime(2027, 3, 16, 16, 30, tzinfo=UTC)


def test_the_therapist_copy_names_the_patient_and_nothing_more(clinic, mail_app, smtp):
    book(
        mail_app,
        local(NEXT_TUESDAY, 9, 30),
        therapist_id=clinic.maya,
        notes="Sharp pain since the accident",
        answers={key: key == "blood_thinners" for key in screening()},
    )
    deliver(mail_app)
    copy = to(smtp.inbox, "maya@clinic.example")[0]
    assert "Pat Ient1" in copy.text()
    assert "Pat Ient1" in str(copy.event()["SUMMARY"])
    everything = (
        copy.text() + copy.html() + copy.calendar_bytes().decode() + copy.message["Subject"]
    )
    for private in ("patient1@example.com", "604-555-0199", "Sharp pain", "blood", "thinner"):
        assert private not in everything
    assert "/manage/" not in everything  # the patient's link is the patient's alone


def test_moving_to_another_therapist_updates_both_calendars(clinic, mail_app, smtp):
    appointment = book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    deliver(mail_app)
    smtp.inbox.clear()
    reschedule(
        mail_app,
        appointment,
        local(NEXT_TUESDAY, 9, 30),
        therapist_id=clinic.daniel,
        actor="staff",
        enforce_cutoff=False,
    )
    assert deliver(mail_app).sent == 3
    (former,) = to(smtp.inbox, "maya@clinic.example")
    (new,) = to(smtp.inbox, "daniel@clinic.example")
    (patient,) = to(smtp.inbox, "patient1@example.com")
    assert str(former.calendar()["METHOD"]) == "CANCEL"
    assert former.calendar_part().get_param("method") == "CANCEL"
    assert str(new.calendar()["METHOD"]) == "REQUEST"
    assert str(patient.calendar()["METHOD"]) == "REQUEST"
    assert "Daniel Okafor" in patient.text()
    assert "colleague" in former.text()
    uids = {str(m.event()["UID"]) for m in (former, new, patient)}
    assert len(uids) == 1
    assert {int(m.event()["SEQUENCE"]) for m in (former, new, patient)} == {1}


def test_a_therapist_without_an_address_gets_no_mail(world, mail_app, smtp):
    therapist = world.make_therapist("No Mail")
    book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=therapist)
    assert deliver(mail_app).sent == 1
    assert [m.to for m in smtp.inbox] == ["patient1@example.com"]


def outbox_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_every_patient_path_queues_its_messages(clinic, mail_app, client):
    # The site's booking form.
    response = book_on_site(client, "physio", local(NEXT_TUESDAY, 9), therapist=str(clinic.maya))
    assert response.status_code == 303
    assert outbox_rows(mail_app) == 3  # patient, therapist, reminder
    # The API: book, reschedule, cancel.
    body = {
        "service": "physio",
        "start": local(NEXT_TUESDAY, 11).isoformat(),
        "therapist_id": clinic.maya,
        "patient": {
            "name": "Api Patient",
            "email": "api@example.com",
            "phone": "604-555-0101",
            "date_of_birth": BORN.isoformat(),
        },
    }
    token = client.post("/api/v1/bookings", json=body).get_json()["manage_token"]
    assert outbox_rows(mail_app) == 6
    moved = client.post(
        f"/api/v1/bookings/{token}/reschedule", json={"start": local(NEXT_TUESDAY, 14).isoformat()}
    )
    assert moved.status_code == 200
    assert outbox_rows(mail_app) == 9  # and the old reminder is skipped, not sent
    assert client.post(f"/api/v1/bookings/{token}/cancel", json={}).status_code == 200
    assert outbox_rows(mail_app) == 11
    # The manage pages: cancel the site booking.
    manage = response.headers["Location"].removesuffix("/confirmed")
    page = client.get(f"{manage}/cancel")
    sequence = page.data.decode().split('name="sequence" value="')[1].split('"')[0]
    done = client.post(
        f"{manage}/cancel", data={"csrf_token": csrf(page.data.decode()), "sequence": sequence}
    )
    assert done.status_code == 303
    assert outbox_rows(mail_app) == 13


def test_a_refused_booking_queues_nothing(clinic, mail_app):
    book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    before = outbox_rows(mail_app)
    with pytest.raises(SlotUnavailable):
        book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya, n=2)
    assert outbox_rows(mail_app) == before


def test_a_change_that_rolls_back_takes_its_messages_with_it(clinic, mail_app, monkeypatch):
    from booking import database
    from booking.services import outbox

    real = outbox.record

    def record_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        # The rows are in the database, inside this very transaction ...
        queued = database.execute(select(func.count()).select_from(OutboxMessage)).scalar()
        assert queued >= 2
        raise RuntimeError("the database went away")  # ... which now rolls back

    monkeypatch.setattr(outbox, "record", record_then_fail)
    with pytest.raises(RuntimeError):
        book(mail_app, local(NEXT_TUESDAY, 9, 30), therapist_id=clinic.maya)
    assert outbox_rows(mail_app) == 0
    with mail_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_the_pages_offer_the_same_event_as_the_invite(clinic, mail_app, client, smtp):
    from icalendar import Calendar

    response = book_on_site(client, "physio", local(NEXT_TUESDAY, 9), therapist=str(clinic.maya))
    confirmed = client.get(response.headers["Location"])
    assert "We have emailed the confirmation" in confirmed.text
    assert "patient1@example.com" in confirmed.text
    deliver(mail_app)
    invite = to(smtp.inbox, "patient1@example.com")[0].event()
    manage = response.headers["Location"].removesuffix("/confirmed")
    download = client.get(f"{manage}/appointment.ics")
    calendar = Calendar.from_ical(download.data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    event = calendar.walk("VEVENT")[0]
    for prop in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "DESCRIPTION"):
        assert event[prop].to_ical() == invite[prop].to_ical(), prop
    # The email's link and the page's link are the same private link, built from BASE_URL.
    assert f"https://clinic.test{manage}" in str(event["DESCRIPTION"])


def test_subjects_and_bodies_follow_the_clinic_clock_and_dtstart_stays_utc(clinic, mail_app, smtp):
    from booking.services.clinic import change_setting

    book(mail_app, local(NEXT_TUESDAY, 13, 30), therapist_id=clinic.maya)
    deliver(mail_app)
    twelve = to(smtp.inbox, "patient1@example.com")[0]
    assert twelve.message["Subject"] == "Booked: IMS initial assessment, Tue, Mar 9, 1:30 p.m."
    smtp.inbox.clear()
    with mail_app.app_context():
        change_setting("clock_24h", "true", actor="test", now=mail_app.config["CLOCK"]())
    book(mail_app, local(NEXT_TUESDAY, 15), n=2, therapist_id=clinic.maya)
    deliver(mail_app)
    patient = to(smtp.inbox, "patient2@example.com")[0]
    assert patient.message["Subject"] == "Booked: IMS initial assessment, Tue, Mar 9, 15:00"
    assert "Tuesday, March 9, 2027, 15:00 (Pacific time)" in patient.text()
    assert "p.m." not in patient.text()
    assert patient.event().decoded("DTSTART") == datetime(2027, 3, 9, 23, 0, tzinfo=UTC)
