"""Reception books for a caller: find or enter the patient, pick a real free time, book."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from staffing import csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment, AuditEvent, OutboxMessage

TUESDAY = MONDAY + timedelta(days=1)
CALLER = {
    "name": "Casey Caller",
    "email": "casey@example.com",
    "phone": "604-555-0177",
    "date_of_birth": "1980-05-17",
}


def time_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="(/staff/book/details\?[^"]+)"', html)]


def details_form(client, link: str, **fields):
    page = client.get(link)
    assert page.status_code == 200
    key = re.search(r'name="key"[^>]*value="([^"]+)"', page.text)
    data = {"csrf_token": csrf_of(page.text), "key": key.group(1) if key else "", **fields}
    return page, data


def test_reception_books_a_new_caller_from_real_free_times(client, app, staff, world):
    sign_in(client, staff.reception)
    page = client.get(f"/staff/book?service=physio&therapist={world.maya}&date={TUESDAY}")
    assert page.status_code == 200
    links = time_links(page.text)
    assert len(links) > 5 and "9:00 a.m." in page.text
    _, data = details_form(client, links[0])
    response = client.post(links[0], data={**data, **CALLER})
    assert response.status_code == 302
    appointment_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        visit = db.session.get(Appointment, appointment_id)
        assert (visit.source, visit.therapist_id, visit.start_at) == (
            "staff",
            world.maya,
            local(TUESDAY, 9),
        )
        assert db.session.scalar(
            select(AuditEvent.actor).where(AuditEvent.action == "booked")
        ).startswith("staff:")
        invites = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.method != "")
        )
    assert invites == 2  # the caller and Maya
    again = client.post(links[0], data={**data, **CALLER})  # the same form sent twice
    assert again.status_code == 302 and again.headers["Location"] == response.headers["Location"]


def test_finding_an_existing_patient_fills_the_form(client, app, staff, world):
    book(app, local(TUESDAY, 9), world.maya, n=7)
    sign_in(client, staff.reception)
    link = time_links(client.get(f"/staff/book?service=physio&date={TUESDAY}").text)[3]
    token = csrf_of(client.get(link).text)

    def find(query):
        response = client.post(link, data={"find-csrf_token": token, "find-q": query})
        assert response.status_code == 200
        return response.text

    for query in ("ient7", "PATIENT7@", "604 555 0199", "1980-05-17", "May 17, 1980"):
        assert "Pat Ient7" in find(query), query
    assert "born May 17, 1980" in find("ient7")  # the person, their contact's email, their DOB
    chosen = re.search(r'href="([^"]+patient=\d+)"', find("ient7"))
    page = client.get(unescape(chosen.group(1))).text
    assert "patient7@example.com" in page and "May 17, 1980" in page
    assert 'name="name"' not in page  # a person on record is booked as they are on record
    assert "No patient matches" in find("nobody-here")
    assert "No patient matches" in find("%")  # a LIKE wildcard is just a character
    # The search is a POST: what was typed never appears in a URL.
    assert client.post(link, data={"find-q": "ient7"}).status_code == 400  # no CSRF token


def test_inside_the_notice_only_with_a_reason(client, app, staff, world):
    sign_in(client, staff.reception)
    today = client.get(f"/staff/book?service=physio&therapist={world.maya}&date={MONDAY}").text
    assert not time_links(today)  # 12 hours' notice from 08:00
    short = client.get(f"/staff/book?service=physio&therapist={world.maya}&date={MONDAY}&short=1")
    links = time_links(short.text)
    assert links and "short=1" in links[0]
    _, data = details_form(client, links[0])
    refused = client.post(links[0], data={**data, **CALLER})
    assert refused.status_code == 422 and "Say why" in refused.text
    booked = client.post(links[0], data={**data, **CALLER, "override_reason": "Acute pain"})
    assert booked.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.after["reason"] == "Acute pain" and event.after["minimum_notice"] is True


def test_a_follow_up_without_an_assessment(client, app, staff, world):
    sign_in(client, staff.reception)
    links = time_links(client.get(f"/staff/book?service=follow-up&date={TUESDAY}").text)
    _, data = details_form(client, links[0])
    refused = client.post(links[0], data={**data, **CALLER})
    assert refused.status_code == 422
    assert "Please book the IMS initial assessment first" in refused.text
    booked = client.post(
        links[0],
        data={**data, **CALLER, "skip_prerequisite": "y", "override_reason": "Seen elsewhere"},
    )
    assert booked.status_code == 302


def test_a_time_taken_meanwhile_is_refused_clearly(client, app, staff, world):
    sign_in(client, staff.reception)
    link = time_links(
        client.get(f"/staff/book?service=physio&therapist={world.maya}&date={TUESDAY}").text
    )[0]
    _, data = details_form(client, link)
    book(app, local(TUESDAY, 9), world.maya, n=8)  # someone online was quicker
    response = client.post(link, data={**data, **CALLER})
    assert response.status_code == 422
    assert "That time is no longer available." in response.text


@pytest.mark.parametrize(
    "url",
    ["/staff/book?service=nope", "/staff/book?service=physio&therapist=999",
     "/staff/book?service=physio&date=2027-13-01",
     "/staff/book/details?service=physio&therapist=any&start=garbage"],
)  # fmt: skip
def test_bad_parameters_are_clear_errors(client, staff, url):
    sign_in(client, staff.reception)
    assert client.get(url).status_code in (400, 404)


def test_the_patient_record(client, app, staff, world, clock):
    book(app, local(TUESDAY, 9), world.maya, n=1)
    sign_in(client, staff.reception)
    token = csrf_of(client.get("/staff/patients").text)
    found = client.post("/staff/patients", data={"csrf_token": token, "q": "Ient1"}).text
    link = re.search(r'href="(/staff/patients/\d+)"', found).group(1)
    record = client.get(link).text
    assert "patient1@example.com" in record and "Upcoming" in record
    assert "Tuesday, March 2, 2027, 9:00 a.m." in record
    sign_in(app.test_client(), staff.maya)
    therapist = app.test_client()
    sign_in(therapist, staff.maya)
    assert therapist.get(link).status_code == 403
    assert therapist.get("/staff/book").status_code == 403
    assert therapist.get("/staff/patients").status_code == 403
