"""Text a patient types never becomes structure: not an email header, not an iCalendar line.

Every hostile name is booked through each edge (the site, the API, the desk). It is refused
there with an error on the name field and nothing is written, or it is stored, and then
every message of the visit's life (booked, moved, reminder, cancelled; patient and
therapist) arrives with exactly the headers a plain name gets, naming the one recipient,
and every invite parses to the same properties, with the name as it was typed.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from inbox import Received, deliver
from pages import book as book_on_site
from pages import csrf, slot_param
from sqlalchemy import func, select, update
from support import BORN, MONDAY, local, patient

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, Patient, Role
from booking.services import accounts, booking

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

START = local(MONDAY + timedelta(days=8), 10)  # Tuesday, March 9, 2027
MOVED = local(MONDAY + timedelta(days=9), 10)
DESK = "desk@clinic.example"
PASSWORD = "correct horse battery"
ENCODED_WORD = "Zed =?utf-8?q?=0D=0AX-Injected:_yes=0D=0ABcc:_x@example.com?="
# Notes and reasons are free text: stored as typed, never in a header or an invite.
HOSTILE_NOTE = f"{ENCODED_WORD}\r\nline two\u2028<b>bold</b> ;,\\: \u202eevil " + "x" * 500
HOSTILE_REASON = f"{ENCODED_WORD}\u2028<i>why</i> ;,\\:"

ACCEPTED = [
    "Pat Plain",
    "Ann; Bob, Carl: Dee",  # iCalendar's TEXT specials
    'Robert "Bob" O\'Brien-Smith',
    "Zoë Ünïcödé 李小龙 " * 4 + "end",  # non-ASCII, long enough to fold everywhere
    "Long Name, " * 10 + "The Last",  # 118 plain characters: a folded header
]
REFUSED = [
    ENCODED_WORD,
    "Ann\u2028Bcc: x@example.com",  # a line separator
    "Ann\u2029Para",
    "Ann \u202eekim",  # a right-to-left override
    "Ann \u2067isolate\u2069",
    "A" * 1000,
    "<script>alert(1)</script>",
    "Ann \\ Bob",
    "Ann\r\n Bob",  # a folded line
    "=?utf-8?b?QmNjOiB4QGV4YW1wbGUuY29t?=",
]
# What each message carries, whatever the name (a plain name's message has exactly these).
HEADERS = [
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]
EVENT_PROPERTIES = {
    "UID",
    "SEQUENCE",
    "DTSTAMP",
    "DTSTART",
    "DTEND",
    "SUMMARY",
    "DESCRIPTION",
    "LOCATION",
    "ORGANIZER",
    "ATTENDEE",
    "STATUS",
    "TRANSP",
}


@pytest.fixture
def setting(clinic, mail_app, clock):
    with mail_app.app_context():
        accounts.create_user(
            email=DESK, name="Rita Desk", password=PASSWORD, role=Role.RECEPTION,
            actor="test", now=clock.now,
        )  # fmt: skip
    mail_app.config["SESSION_COOKIE_SECURE"] = False
    return clinic


def via_site(app, client, name, therapist):
    response = book_on_site(
        client,
        "physio",
        START,
        therapist=str(therapist),
        name=name,
        note=HOSTILE_NOTE,
        date_of_birth=BORN.isoformat(),
    )
    if response.status_code == 303:
        return _by_start(app)
    assert response.status_code == 200 and 'id="name-error"' in response.text
    return None


def via_api(app, client, name, therapist):
    body = {
        "service": "physio",
        "start": START.isoformat(),
        "therapist_id": therapist,
        "patient": patient(name=name, email="pat@example.com"),
        "notes": HOSTILE_NOTE,
    }
    response = client.post("/api/v1/bookings", json=body)
    if response.status_code == 201:
        return response.get_json()["id"]
    assert response.status_code == 422, response.text
    assert set(response.get_json()["error"]["fields"]) == {"patient.name"}
    return None


def via_desk(app, client, name, therapist):
    login = client.get("/staff/login").text
    client.post(
        "/staff/login", data={"csrf_token": csrf(login), "email": DESK, "password": PASSWORD}
    )
    link = f"/staff/book/details?service=physio&therapist={therapist}&start={slot_param(START)}"
    page = client.get(link).text
    key = re.search(r'name="key"[^>]*value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf(page), "key": key, "name": name, "email": "pat@example.com"}
    data |= {"phone": "604-555-0199", "note": HOSTILE_NOTE, "date_of_birth": BORN.isoformat()}
    response = client.post(link, data=data)
    if response.status_code == 302:
        return int(response.headers["Location"].rsplit("/", 1)[1])
    assert response.status_code == 422 and 'id="name-error"' in response.text
    return None


def _by_start(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Appointment.id).where(Appointment.start_at == START))


EDGES = {"site": via_site, "api": via_api, "desk": via_desk}


def rows(app) -> tuple[int, int]:
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
        return count(Patient), count(Appointment)


def decoded(raw: str) -> str:
    """A header as RFC 2047 decodes it (encoded words side by side join with no space)."""
    return str(make_header(decode_header(raw)))


def raw_header(received: Received, name: str) -> str:
    """The header's text as it went over the wire, unfolded, not decoded."""
    head = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    (value,) = re.findall(rf"^{name}: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.MULTILINE)
    return value.replace("\r\n", "")


def check_message(received: Received, *, to_name: str, to_address: str, name: str) -> None:
    message = received.message
    assert list(message.keys()) == HEADERS, message.keys()
    assert not re.search(rb"^(bcc|x-injected)", received.raw, re.IGNORECASE | re.MULTILINE)
    (address,) = message["To"].addresses
    assert address.addr_spec == to_address and received.rcpt_tos == (to_address,)
    raw_to = raw_header(received, "To")
    if "=?" in raw_to:  # encoded words: decoded as RFC 2047 says, back to what was typed
        assert decoded(raw_to) == f"{to_name} <{to_address}>"
    else:
        assert address.display_name == to_name
    subject = decoded(raw_header(received, "Subject"))
    assert "\n" not in subject and "\r" not in subject
    if to_name == "Maya Chen":  # the therapist's copy names the patient in its subject
        assert " ".join(name.split()) in subject
    part = received.calendar_part()
    if part is None:
        assert subject.startswith("Reminder")
        return
    event = received.event()
    assert set(event) - {"SEQUENCE"} <= EVENT_PROPERTIES and "UID" in event
    assert {str(k) for k in event if k != "VALARM"} <= EVENT_PROPERTIES
    attendee = event["ATTENDEE"]
    assert str(attendee) == f"mailto:{to_address}"
    assert str(attendee.params["CN"]) == to_name
    if to_name == "Maya Chen":
        assert str(event["SUMMARY"]) == f"Physiotherapy assessment: {name}"


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("name", REFUSED, ids=range(len(REFUSED)))
def test_a_name_that_cannot_be_a_name_is_refused_and_changes_nothing(setting, mail_app, edge, name):
    client = mail_app.test_client()
    before = rows(mail_app)
    assert EDGES[edge](mail_app, client, name, setting.maya) is None
    assert rows(mail_app) == before


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("name", ACCEPTED, ids=range(len(ACCEPTED)))
def test_every_message_of_a_hostile_visit_keeps_its_headers_and_its_invite(
    setting, mail_app, smtp, clock, edge, name
):
    client = mail_app.test_client()
    appointment_id = EDGES[edge](mail_app, client, name, setting.maya)
    assert appointment_id is not None
    with mail_app.app_context():
        stored = db.session.get(Appointment, appointment_id)
        assert stored.notes == HOSTILE_NOTE.strip()
        assert db.session.get(Patient, stored.patient_id).name == name
        booking.reschedule(appointment_id, MOVED, now=clock.now, actor="staff:1")
    assert deliver(mail_app).sent == 4  # booked and moved, patient and therapist
    clock.now = MOVED - timedelta(hours=23)
    assert deliver(mail_app).sent == 1  # the reminder
    with mail_app.app_context():
        booking.cancel(
            appointment_id, now=clock.now, reason=HOSTILE_REASON, actor="staff:1",
            enforce_cutoff=False,
        )  # fmt: skip
    assert deliver(mail_app).sent == 2
    assert len(smtp.inbox) == 7
    for received in smtp.inbox:
        if received.to == "pat@example.com" or received.to.startswith("patient"):
            check_message(received, to_name=name, to_address=received.to, name=name)
        else:
            assert received.to == "maya@clinic.example"
            check_message(received, to_name="Maya Chen", to_address=received.to, name=name)


def test_a_name_stored_before_the_rules_still_goes_out_as_text(setting, mail_app, smtp, clock):
    """Python 3.11.7 decodes encoded words even in an `Address`: nothing here is parsed."""
    appointment_id = via_api(mail_app, mail_app.test_client(), "Pat Plain", setting.maya)
    with mail_app.app_context():
        patient_id = db.session.get(Appointment, appointment_id).patient_id
        db.session.execute(
            update(Patient).where(Patient.id == patient_id).values(name=ENCODED_WORD)
        )
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to_address == "pat@example.com")
            .values(to_name=ENCODED_WORD)
        )
        db.session.commit()
    assert deliver(mail_app).sent == 2  # nothing failed to compose
    for received in smtp.inbox:
        to_name = ENCODED_WORD if received.to == "pat@example.com" else "Maya Chen"
        check_message(received, to_name=to_name, to_address=received.to, name=ENCODED_WORD)
