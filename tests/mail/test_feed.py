"""A therapist's private calendar feed: subscribable, minimal, and revocable."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from support import MONDAY, local
from test_invites import NEXT_TUESDAY, book, cancel

TUESDAY = MONDAY + timedelta(days=1)


def feed_url(app, therapist_id, *extra: str) -> str:
    result = app.test_cli_runner().invoke(args=["therapist", "feed-url", str(therapist_id), *extra])
    assert result.exit_code == 0, result.output
    https, webcal = result.output.split()
    assert webcal == "webcal://" + https.removeprefix("https://")
    return https.removeprefix("https://clinic.test")


def test_the_feed_lists_recent_and_coming_visits_without_patient_details(
    clinic, mail_app, client, clock
):
    past = book(mail_app, local(TUESDAY, 9), service="physio", n=1, therapist_id=clinic.maya)
    coming = book(mail_app, local(NEXT_TUESDAY, 9), service="physio", n=2, therapist_id=clinic.maya)
    dropped = book(
        mail_app, local(NEXT_TUESDAY, 13), service="physio", n=3, therapist_id=clinic.maya
    )
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", n=4, therapist_id=clinic.daniel)
    cancel(mail_app, dropped)
    clock.advance(days=3)  # the first visit is now in the past
    url = feed_url(mail_app, clinic.maya)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert len(events) == 2  # not the cancelled one, not Daniel's
    assert [e.decoded("DTSTART") for e in events] == [local(TUESDAY, 9), local(NEXT_TUESDAY, 9)]
    assert str(calendar["X-WR-CALNAME"]) == "Test Clinic: Maya Chen"
    assert b"\r\nX-PUBLISHED-TTL:PT15M\r\n" in response.data
    assert all(str(e["SUMMARY"]).startswith("Physiotherapy assessment · ") for e in events)
    body = response.data.decode()
    for n in (1, 2, 3, 4):
        assert f"Pat Ient{n}" not in body and f"patient{n}@example.com" not in body
    assert "604-555-0199" not in body
    assert past and coming
    # Visits older than 30 days drop out.
    clock.advance(days=30)
    assert len(Calendar.from_ical(client.get(url).data).walk("VEVENT")) == 1


def test_regenerating_the_url_kills_the_old_one(clinic, mail_app, client):
    first = feed_url(mail_app, clinic.maya)
    assert feed_url(mail_app, clinic.maya) == first  # stable until regenerated
    second = feed_url(mail_app, clinic.maya, "--regenerate")
    assert second != first
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_wrong_or_borrowed_tokens_open_nothing(clinic, mail_app, client):
    maya = feed_url(mail_app, clinic.maya)
    token = maya.rsplit("/", 1)[1]
    assert client.get(f"/calendar/therapists/{clinic.daniel}/{token}").status_code == 404
    assert client.get(maya.replace(token, "x" * 43 + ".ics")).status_code == 404
    assert client.get(f"/calendar/therapists/999/{token}").status_code == 404
    missing = mail_app.test_cli_runner().invoke(args=["therapist", "feed-url", "999"])
    assert missing.exit_code != 0 and "no such therapist" in missing.output


def test_an_unchanged_feed_answers_not_modified(clinic, mail_app, client, clock):
    book(mail_app, local(NEXT_TUESDAY, 9), service="physio", therapist_id=clinic.maya)
    url = feed_url(mail_app, clinic.maya)
    etag = client.get(url).headers["ETag"]
    clock.advance(minutes=5)  # a new DTSTAMP, the same appointments
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    book(mail_app, local(NEXT_TUESDAY, 13), service="physio", n=2, therapist_id=clinic.maya)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200
