"""Fixtures: an app per test on SQLite and on PostgreSQL, a frozen clock, and factories.

Each backend's schema is built once per run through the real migrations. A SQLite test gets
a fresh copy of that file; a PostgreSQL test gets the run's own database, emptied after it.
PostgreSQL comes from TEST_POSTGRES_URL; under CI=true its absence is an error, not a skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support import Clock

from booking import create_app
from booking.extensions import db
from booking.models import Base, Clinic, Closure, Service, Therapist, TimeOff, WorkingHours

PG_ENV = "TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHEAP_PASSWORD_HASH = "scrypt:256:8:1"


def _config(url: str, clock: Clock) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-not-for-production",
        "SQLALCHEMY_DATABASE_URI": url,
        "CLOCK": clock,
        "WTF_CSRF_ENABLED": True,
        "BASE_URL": "https://clinic.test",
        # Still scrypt, at about a thousandth of the default's cost (the smallest n that
        # OpenSSL's memory limit in Werkzeug allows, with a margin): staff fixtures hash
        # several passwords per test.
        "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH,
    }


def _migrate(url: str) -> None:
    app = create_app(_config(url, Clock()))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin = os.environ.get(PG_ENV)
    if not admin:
        if IN_CI:
            pytest.fail(f"{PG_ENV} must name a PostgreSQL server under CI=true")
        pytest.skip(f"{PG_ENV} is not set")
    admin_url = make_url(admin).set(drivername="postgresql+psycopg")
    name = f"booking_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # This run's own database: a commit need not wait for its WAL to reach the disk
        # (what a crash could lose is a test's data), so the tests' many commits wait less.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def empty_postgres(postgres_url: str) -> Iterator[Callable[[], None]]:
    """Return what empties the run's PostgreSQL database after a test, ids starting again at 1.

    DELETE, children first, and each sequence set back: a TRUNCATE of every table gives each a
    new file on disk, which took 25 times as long for the few rows a test leaves. Only the
    append-only tables (their triggers refuse a DELETE) are truncated.
    """
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        tables = set(
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('alembic_version', 'catalog_version')"
                )
            ).scalars()
        )
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).scalars()
        append_only = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname LIKE '%append_only%'"
                )
            ).scalars()
        )
        ordered = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name in tables]
        assert set(ordered) == tables, f"tables the models do not know: {tables - set(ordered)}"
        statements = [f'TRUNCATE "{table}"' for table in ordered if table in append_only]
        statements += [f'DELETE FROM "{table}"' for table in ordered if table not in append_only]
        statements += [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
    # Bounded, so that a test whose timeout left a connection holding locks fails its teardown
    # instead of holding the run (pytest-timeout's timer has fired by then).
    bounds = ["SET LOCAL lock_timeout = '15s'", "SET LOCAL statement_timeout = '60s'"]
    script = "; ".join(bounds + statements)

    def empty() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(script)

    yield empty
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "booking.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    empty = request.getfixturevalue("empty_postgres")
    yield request.getfixturevalue("postgres_url")
    empty()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class SharedTemplates(BytecodeCache):
    """Compiled templates kept for the run, keyed by name and checked against the source.

    Each test has an app of its own, whose Jinja environment would otherwise parse and compile
    every template it renders anew: that was a third of a page test's time. Keyed by name and
    source only, so it assumes every test app's Jinja environment compiles alike (the same
    autoescape, extensions and options, as `create_app` sets them): a test that changes
    `app.jinja_env`'s options must not use it.
    """

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self._compiled.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)  # ignored if the source changed since

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedTemplates()


@pytest.fixture
def app(database_url: str, clock: Clock) -> Iterator[Flask]:
    app = create_app(_config(database_url, clock))
    app.jinja_env.bytecode_cache = TEMPLATES  # before any template is loaded
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context, for calling services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


ALL_WEEK = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


@dataclass
class World:
    """The test clinic: three services, therapists added by `make_therapist`."""

    app: Flask
    services: dict[str, Service] = field(default_factory=dict)

    def add(self, *rows: Any) -> None:
        with self.app.app_context():
            db.session.add_all(rows)
            db.session.commit()
            for row in rows:
                db.session.refresh(row)
            db.session.expunge_all()

    def make_therapist(
        self,
        name: str = "Maya Chen",
        *,
        services: tuple[str, ...] = ("assessment", "follow-up", "physio"),
        ims: bool = True,
        expires: date | None = None,
        hours: dict[int, list[tuple[time, time]]] | None = None,
        active: bool = True,
        email: str = "",
    ) -> int:
        with self.app.app_context():
            therapist = Therapist(
                name=name,
                email=email,
                active=active,
                ims_certified=ims,
                ims_certification_expires=expires,
                services=[db.session.get(Service, self.services[s].id) for s in services],
                hours=[
                    WorkingHours(weekday=day, start_time=t0, end_time=t1)
                    for day, windows in (ALL_WEEK if hours is None else hours).items()
                    for t0, t1 in windows
                ],
            )
            db.session.add(therapist)
            db.session.commit()
            return therapist.id

    def time_off(self, therapist_id: int, start: datetime, end: datetime) -> None:
        self.add(TimeOff(therapist_id=therapist_id, start_at=start, end_at=end, reason="off"))

    def closure(self, first: date, last: date) -> None:
        self.add(Closure(starts_on=first, ends_on=last, reason="closed"))


@pytest.fixture
def world(app: Flask) -> World:
    """A clinic in Vancouver with its services and no therapists yet."""
    w = World(app)
    assessment = Service(
        slug="assessment",
        name="IMS initial assessment",
        duration_minutes=60,
        buffer_minutes=10,
        requires_ims=True,
        preparation="Wear loose clothing.",
    )
    follow_up = Service(
        slug="follow-up",
        name="IMS follow-up",
        duration_minutes=30,
        buffer_minutes=10,
        requires_ims=True,
    )
    physio = Service(slug="physio", name="Physiotherapy assessment", duration_minutes=45)
    clinic = Clinic(
        name="Test Clinic",
        address="2150 West Broadway, Vancouver, BC V6K 4L9",
        phone="604-555-0100",
        email="book@clinic.example",
    )
    with app.app_context():
        follow_up.prerequisite = assessment
        db.session.add_all([clinic, assessment, follow_up, physio])
        db.session.commit()
        w.services = {s.slug: s for s in (assessment, follow_up, physio)}
        for s in w.services.values():
            db.session.refresh(s)
        db.session.expunge_all()
    return w
