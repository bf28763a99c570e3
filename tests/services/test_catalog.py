"""The reference-data snapshot follows every change, whoever makes it."""

from __future__ import annotations

from datetime import time, timedelta

from rawsql import raw_connection
from support import MONDAY, local, patient

from booking.extensions import db
from booking.models import WorkingHours

TUESDAY = MONDAY + timedelta(days=1)
URL = f"/api/v1/availability?service=physio&from={TUESDAY}&to={TUESDAY}"


def starts(client) -> list[str]:
    return [s["start"][11:16] for s in client.get(URL).get_json()["slots"]]


def test_a_change_committed_here_shows_at_once(app, client, world):
    therapist = world.make_therapist(hours={1: [(time(9), time(11))]})
    assert starts(client)[0] == "09:00"
    with app.app_context():
        db.session.add(
            WorkingHours(therapist_id=therapist, weekday=1, start_time=time(7), end_time=time(8))
        )
        db.session.commit()
    assert starts(client)[0] == "07:00"


def test_a_change_made_behind_the_apps_back_shows_at_once(client, world, database_url):
    world.make_therapist(hours={1: [(time(9), time(11))]})
    assert starts(client)
    with raw_connection(database_url) as conn:
        conn.execute(
            "UPDATE working_hours SET start_time = '10:00:00.000000'"
            if database_url.startswith("sqlite")
            else "UPDATE working_hours SET start_time = '10:00'"
        )
    assert starts(client)[0] == "10:00"


def test_a_booking_is_judged_on_current_data(client, world, database_url):
    therapist = world.make_therapist()
    assert "09:00" in starts(client)  # the snapshot is now cached
    with raw_connection(database_url) as conn:  # as another server process would
        conn.execute("DELETE FROM therapist_service")
    assert starts(client) == []
    response = client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "therapist_id": therapist,
            "start": local(TUESDAY, 9).isoformat(),
            "patient": patient(),
        },
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "therapist_not_offering"


def test_the_snapshot_is_reused_while_nothing_changes(app, client, world):
    world.make_therapist()
    starts(client)
    with app.app_context():
        first = app.extensions["booking.catalog"]
    client.post(
        "/api/v1/bookings",
        json={"service": "physio", "start": local(TUESDAY, 9).isoformat(), "patient": patient()},
    )
    starts(client)
    with app.app_context():
        assert app.extensions["booking.catalog"] is first  # bookings are not reference data
