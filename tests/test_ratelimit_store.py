"""The limit store is a real redis-server, stopped (or paused) mid-run.

A store that fails lets requests through (limits fail open, with one warning), never a 500;
counting resumes when the store answers again.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import servers
from flask import Flask
from pages import csrf
from support import MONDAY, local, patient

from booking import ratelimit
from booking.extensions import csrf as csrf_protection
from booking.models import Role
from booking.services import accounts

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TUESDAY = MONDAY + timedelta(days=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def redis(tmp_path, monkeypatch) -> Iterator[servers.Redis]:
    server = servers.Redis(tmp_path)
    server.start()
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", server.url)  # read when the app is made
    yield server
    server.stop()


@pytest.fixture
def app(redis, app: Flask, world, clock) -> Flask:
    """The test app, counting its limits in the test's own Redis."""
    app.config.update(BOOKING_RATE_LIMIT="20 per minute", LOGIN_RATE_LIMIT="20 per minute")
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain http
    world.therapist = world.make_therapist()
    with app.app_context():
        accounts.create_user(
            email="desk@clinic.example",
            name="Rita Desk",
            password=PASSWORD,
            role=Role.RECEPTION,
            actor="test",
            now=clock.now,
        )
    limited = ratelimit.limit("2 per minute", scope="store-test")(lambda: "ok")
    app.add_url_rule("/_test/limited", "limited", csrf_protection.exempt(limited), methods=["POST"])
    return app


def book(client, hour: int):
    body = {"service": "physio", "start": local(TUESDAY, hour).isoformat(), "patient": patient()}
    return client.post("/api/v1/bookings", json=body)


def sign_in(client):
    page = client.get("/staff/login")
    data = {"csrf_token": csrf(page.text), "email": "desk@clinic.example", "password": PASSWORD}
    return client.post("/staff/login", data=data)


def test_with_redis_stopped_bookings_changes_and_sign_in_go_on(app, redis, caplog):
    client = app.test_client()
    assert book(client, 9).status_code == 201  # counted in Redis
    redis.stop()

    with caplog.at_level(logging.INFO, logger="booking.ratelimit"):
        booked = book(client, 10)
        token = booked.get_json()["manage_token"]
        moved = client.post(
            f"/api/v1/bookings/{token}/reschedule", json={"start": local(TUESDAY, 13).isoformat()}
        )
        cancelled = client.post(f"/api/v1/bookings/{token}/cancel", json={})
        signed_in = sign_in(client)

    assert booked.status_code == 201
    assert moved.status_code == 200
    assert cancelled.status_code == 200
    assert signed_in.status_code == 302
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once for the outage, not once per request
    assert "limits are not enforced" in warnings[0].getMessage()


def test_limits_count_again_once_redis_is_back(app, redis, monkeypatch, caplog):
    monkeypatch.setattr(ratelimit, "RECHECK_AFTER", 0.0)  # ask the store on every request
    client = app.test_client()
    redis.stop()
    assert [client.post("/_test/limited").status_code for _ in range(4)] == [200] * 4

    redis.start()  # empty, on the same port
    with caplog.at_level(logging.INFO, logger="booking.ratelimit"):
        statuses = [client.post("/_test/limited").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "answers again" in caplog.text


def test_a_redis_that_stops_answering_costs_a_timeout_not_the_request(app, redis):
    client = app.test_client()
    assert client.post("/_test/limited").status_code == 200
    redis.process.send_signal(signal.SIGSTOP)  # connected, but silent
    answers = []
    try:
        request = threading.Thread(target=lambda: answers.append(book(client, 11).status_code))
        request.start()
        request.join(timeout=60)  # a bound on a hang, not a measure
    finally:
        redis.process.send_signal(signal.SIGCONT)
    assert answers == [201]
