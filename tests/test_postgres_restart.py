"""PostgreSQL restarted while six clients book through gunicorn: no 500, nothing lost or doubled.

The server is the test's own (initdb and pg_ctl on a free port), so restarting it disturbs
nobody. Each client books its own therapist's free times one after another, through the
API with an Idempotency-Key, and sends a request again after a 503 as `Retry-After` asks
(sooner, to keep the test short).
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import servers
from flask_migrate import upgrade
from sqlalchemy import select
from support import VANCOUVER, local

from booking import create_app
from booking.extensions import db
from booking.models import Appointment, IdempotencyKey

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # two phases of DEADLINE, and joins
CLIENTS = 6
# Physiotherapy assessments (45 minutes, no buffer) that fit a day of 09:00-12:00, 13:00-17:00.
TIMES = [(9, 0), (9, 45), (10, 30), (11, 15), (13, 0), (13, 45), (14, 30), (15, 15), (16, 0)]
BEFORE, AFTER = 2, 3  # bookings each client makes before the restart, and after it
DEADLINE = 120  # seconds for each phase: a bound, not a measure


@pytest.fixture
def server() -> Iterator[servers.Postgres]:
    with servers.postgres() as pg:
        with psycopg.connect(pg.admin_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE DATABASE booking")
        yield pg


@pytest.fixture
def database_url(server: servers.Postgres) -> str:
    """This module's database: migrated on the test's own server (not conftest's)."""
    url = server.url("booking")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@dataclass
class Client:
    """One patient-facing client booking therapist `therapist_id`'s times in turn."""

    n: int
    therapist_id: int
    port: int
    first_day: datetime
    statuses: list[int] = field(default_factory=list)  # every answer, retries included
    booked: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> appointment
    booked_after: int = 0  # bookings asked for after the restart, then booked
    restarted: threading.Event = field(default_factory=threading.Event)
    problem: str | None = None

    def run(self, stop: threading.Event) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            for k in itertools.count():
                if stop.is_set():
                    return
                after = self.restarted.is_set()
                if self.book(connection, k) and after:
                    self.booked_after += 1
        except Exception as exc:  # reported by the test, which would otherwise wait on
            self.problem = self.problem or repr(exc)
        finally:
            connection.close()

    def book(self, connection: http.client.HTTPConnection, k: int) -> bool:
        day = self.first_day + timedelta(days=k // len(TIMES))
        start = local(day.date(), *TIMES[k % len(TIMES)])
        key = f"client{self.n}-{k}"
        email = f"client{self.n}.{k}@example.com"
        body = json.dumps(
            {
                "service": "physio",
                "therapist_id": self.therapist_id,
                "start": start.isoformat(),
                "patient": {
                    "name": f"Client {self.n}",
                    "email": email,
                    "phone": "604-555-0100",
                    "date_of_birth": "1980-05-17",
                },
            }
        )
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        for _ in range(200):  # 20 s of 503s at most, then the app did not heal
            connection.request("POST", "/api/v1/bookings", body, headers)
            response = connection.getresponse()
            answer = response.read()
            self.statuses.append(response.status)
            if response.status == 201:
                self.booked[key] = json.loads(answer)["id"]
                return True
            if response.status != 503 or not response.getheader("Retry-After", "").isdigit():
                self.problem = f"{key}: {response.status} {answer[:300]!r}"
                raise AssertionError(self.problem)
            time.sleep(0.1)
        self.problem = f"{key}: still 503 after 200 tries"
        raise AssertionError(self.problem)


def _wait(clients: list[Client], done, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not all(done(c) for c in clients):
        problems = [c.problem for c in clients if c.problem]
        assert not problems, problems
        assert time.monotonic() < deadline, f"clients did not reach {what} in {DEADLINE} s"
        time.sleep(0.05)


def test_a_restart_while_six_clients_book(
    server: servers.Postgres, database_url: str, app, world, tmp_path: Path
):
    therapists = [world.make_therapist(f"Therapist {n}") for n in range(CLIENTS)]
    with app.app_context():
        db.engine.dispose()  # its connection would not outlive the restart
    env = servers.app_environment(
        DATABASE_URL=database_url.replace("+psycopg", ""),
        BOOKING_RATE_LIMIT="100000 per minute",
        MAIL_FILE_DIR=str(tmp_path / "mail"),
    )
    web = servers.Gunicorn(tmp_path, env, ["-k", "gthread", "--threads", str(CLIENTS)])
    web.wait_until_serving()
    first_day = datetime.now(VANCOUVER) + timedelta(days=2)
    clients = [Client(n, t, web.port, first_day) for n, t in enumerate(therapists)]
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop,)) for c in clients]
    try:
        for thread in threads:
            thread.start()
        _wait(clients, lambda c: len(c.booked) >= BEFORE, "their first bookings")
        server.restart()
        for c in clients:
            c.restarted.set()
        _wait(clients, lambda c: c.booked_after >= AFTER, "bookings after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=DEADLINE)
        web.stop()
    output = web.output()

    assert [c.problem for c in clients if c.problem] == []
    statuses = {s for c in clients for s in c.statuses}
    assert statuses <= {201, 503}, statuses  # never a 500
    assert "unhandled error" not in output, output
    # The restart did reach requests in flight or the pooled connections they would use.
    assert "database connection lost" in output or "database unavailable" in output, output
    answered = {key: id_ for c in clients for key, id_ in c.booked.items()}
    with app.app_context():
        rows = set(db.session.scalars(select(Appointment.id)))
        keys = select(IdempotencyKey.key, IdempotencyKey.appointment_id)
        keys = dict(db.session.execute(keys).all())
    assert len(set(answered.values())) == len(answered)  # each 201 its own appointment
    assert rows == set(answered.values())  # every 201 has its row, and no row lacks its 201
    assert keys == answered
