"""A lost database connection: run again once if lost before COMMIT, else answer 503.

The app talks to the real PostgreSQL through a relay (`pgproxy`) that breaks the connection
at a chosen statement, before or after the server got it: a lost connection exactly where
a restart or a network fault can put one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from pgproxy import Proxy
from servers import free_port
from sqlalchemy import select
from sqlalchemy.engine import make_url
from support import MONDAY, local, patient

from booking import create_app
from booking.extensions import db
from booking.models import Appointment

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
TUESDAY = MONDAY + timedelta(days=1)
INSERT = "INSERT INTO appointment"
UPDATE = "UPDATE appointment SET"


@pytest.fixture
def proxy(database_url: str) -> Iterator[Proxy]:
    url = make_url(database_url)
    relay = Proxy(url.host or "127.0.0.1", url.port or 5432)
    yield relay
    relay.close()


@pytest.fixture
def therapist(world) -> int:
    return world.make_therapist()


@pytest.fixture
def relayed(app: Flask, database_url: str, proxy: Proxy, therapist: int) -> Iterator[Flask]:
    """The test app again, its every connection through the relay."""
    config = {k: app.config[k] for k in ("TESTING", "SECRET_KEY", "CLOCK", "BASE_URL")}
    database = make_url(database_url).database
    relayed = create_app(config | {"SQLALCHEMY_DATABASE_URI": proxy.url(database)})
    yield relayed
    with relayed.app_context():
        db.engine.dispose()


def book(client, hour: int = 9, key: str | None = None):
    body = {"service": "physio", "start": local(TUESDAY, hour).isoformat(), "patient": patient()}
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/bookings", json=body, headers=headers)


def appointments(app: Flask) -> list[tuple[int, str]]:
    with app.app_context():
        return db.session.execute(select(Appointment.id, Appointment.status)).all()


def assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "service_unavailable"


def test_a_booking_that_lost_its_connection_before_commit_is_run_again(app, relayed, proxy):
    proxy.cut(INSERT)

    response = book(relayed.test_client())

    assert response.status_code == 201
    assert proxy.made == 1  # the first attempt did lose its connection
    [(appointment_id, _)] = appointments(app)
    assert response.get_json()["id"] == appointment_id


def test_a_booking_that_loses_its_connection_twice_is_503_and_books_nothing(app, relayed, proxy):
    proxy.cut(INSERT, times=None)
    client = relayed.test_client()

    response = book(client)

    assert_unavailable(response)
    assert proxy.made == 2  # once more, and no more
    assert appointments(app) == []
    proxy.heal()
    assert book(client).status_code == 201  # no restart needed
    assert len(appointments(app)) == 1


@pytest.mark.parametrize("deliver", [True, False], ids=["committed", "not-committed"])
def test_a_connection_lost_during_commit_is_503_and_not_run_again(app, relayed, proxy, deliver):
    proxy.cut("COMMIT", deliver=deliver)
    client = relayed.test_client()

    response = book(client, key="retry-me")

    # The app cannot tell whether the server committed: it says so, and does not book again
    # (a second run would have met the first booking and answered 409, or booked twice).
    assert_unavailable(response)
    assert "may or may not have been saved" in response.get_json()["error"]["message"]
    assert proxy.made == 1
    assert len(appointments(app)) == (1 if deliver else 0)
    again = book(client, key="retry-me")  # what the 503 tells the client to do
    assert again.status_code == 201
    assert (again.headers.get("Idempotent-Replayed") == "true") is deliver
    assert len(appointments(app)) == 1


def _booked(app: Flask) -> str:
    """Book straight through the test app: only the change goes through the relay."""
    return book(app.test_client()).get_json()["manage_token"]


def test_a_change_through_the_orm_is_run_again_after_a_lost_connection(app, relayed, proxy):
    token = _booked(app)
    proxy.cut(UPDATE)

    response = relayed.test_client().post(f"/api/v1/bookings/{token}/cancel", json={})

    assert response.status_code == 200
    assert proxy.made == 1
    assert [status for _, status in appointments(app)] == ["cancelled"]


def test_a_change_through_the_orm_that_loses_its_commit_is_503(app, relayed, proxy):
    token = _booked(app)
    proxy.cut("COMMIT")
    body = {"start": local(TUESDAY, 13).isoformat()}

    response = relayed.test_client().post(f"/api/v1/bookings/{token}/reschedule", json=body)

    assert_unavailable(response)
    assert proxy.made == 1
    [(_, status)] = appointments(app)
    assert status == "booked"


def test_a_read_that_loses_its_connection_is_503_in_the_envelope(relayed, proxy):
    client = relayed.test_client()
    assert client.get("/api/v1/services").status_code == 200  # the pool holds a connection
    proxy.cut("catalog_version")

    assert_unavailable(client.get("/api/v1/services"))
    assert client.get("/api/v1/services").status_code == 200


def test_a_page_that_loses_its_connection_is_a_503_page_with_the_site_headers(relayed, proxy):
    client = relayed.test_client()
    assert client.get("/").status_code == 200
    proxy.cut("catalog_version")

    response = client.get("/")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "out of reach for a moment" in response.text
    assert client.get("/").status_code == 200


def test_a_server_that_refuses_connections_is_503(app):
    config = {k: app.config[k] for k in ("TESTING", "SECRET_KEY", "CLOCK", "BASE_URL")}
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/booking"
    down = create_app(config | {"SQLALCHEMY_DATABASE_URI": nowhere})

    assert_unavailable(book(down.test_client()))
    assert_unavailable(down.test_client().get("/api/v1/services"))
