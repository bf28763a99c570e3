"""Migration 0007 (staff sessions) goes down as well as up on both databases, keeping accounts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from support import NOW, Clock

from booking import create_app
from booking.extensions import db

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own, with no tables: the run's shared one stays at the head."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        if IN_CI:
            pytest.fail("TEST_POSTGRES_URL must name a PostgreSQL server under CI=true")
        pytest.skip("TEST_POSTGRES_URL is not set")
    admin_url = make_url(admin).set(drivername="postgresql+psycopg")
    name = f"booking_migrations_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def migrating(empty_database: str) -> Iterator[None]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database, "CLOCK": Clock()})
    with app.app_context():
        yield
        db.session.remove()
        db.engine.dispose()


def _columns(table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {column["name"] for column in inspect(conn).get_columns(table)}


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _run(statement: str, **params: object) -> list[tuple]:
    with db.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return [tuple(row) for row in result] if result.returns_rows else []


ACCOUNT = (
    "INSERT INTO staff_user (email, name, password_hash, role, active, {extra}created_at)"
    " VALUES (:email, 'Rita Desk', 'x', 'reception', true, {value}:now)"
)
SESSION = (
    "INSERT INTO staff_session (token_hash, staff_user_id, created_at)"
    " SELECT :hash, id, :now FROM staff_user WHERE email = :email"
)
WHEN = NOW.isoformat()


def test_staff_sessions_upgrade_and_downgrade_keeping_the_accounts(migrating):
    upgrade(revision="0006")
    _run(ACCOUNT.format(extra="session_version, ", value="3, "), email="desk@x.ca", now=WHEN)
    upgrade(revision="0007")
    assert "session_version" not in _columns("staff_user")
    _run(ACCOUNT.format(extra="", value=""), email="gone@x.ca", now=WHEN)
    for n, email in enumerate(("desk@x.ca", "gone@x.ca")):
        _run(SESSION, hash=str(n) * 64, email=email, now=WHEN)
    _run("DELETE FROM staff_user WHERE email = 'gone@x.ca'")  # its sessions go with it
    assert _run("SELECT token_hash FROM staff_session") == [("0" * 64,)]

    downgrade(revision="0006")
    assert "staff_session" not in _tables()
    assert _run("SELECT email, session_version FROM staff_user") == [("desk@x.ca", 0)]
    upgrade()
    assert "staff_session" in _tables() and "session_version" not in _columns("staff_user")
