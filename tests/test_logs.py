"""An unexpected database error is logged without the patient data the database quotes."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import timedelta

import psycopg
import pytest
from rawsql import raw_connection
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, PendingRollbackError
from support import MONDAY, local, patient

from booking.database import execute
from booking.extensions import db
from booking.logs import describe, format_exception, install
from booking.models import Appointment, Contact, Patient, email_key
from booking.services.booking import people


def _post(client, hour: int, n: int = 1):
    return client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "start": local(MONDAY + timedelta(days=1), hour).isoformat(),
            "patient": patient(n),
        },
    )


def test_a_500_from_the_database_logs_its_codes_not_the_patient(
    app, client, world, caplog, monkeypatch
):
    world.make_therapist()
    assert _post(client, 9).status_code == 201  # patient1@example.com is now on record

    def insert_again(details, now):  # a bug: a second contact for the same email
        execute(
            insert(Contact),
            {
                "email": details.email,
                "email_key": email_key(details.email),
                "name": f"{details.name} {details.phone}",
                "created_at": now,
            },
        )

    monkeypatch.setattr(people, "ensure", insert_again)
    caplog.set_level(logging.ERROR)
    response = _post(client, 11)

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_server_error"
    [record] = [r for r in caplog.records if r.name == "booking.errors"]
    assert record.exc_info is None and "IntegrityError" in record.exc_text  # redacted
    assert "unhandled error on POST /api/v1/bookings" in caplog.text
    assert "Traceback (most recent call last)" in caplog.text
    assert "insert_again" in caplog.text  # the frames are all there
    assert "IntegrityError" in caplog.text
    for secret in ("patient1@example.com", "Pat Ient1", "604-555-0199"):
        assert secret not in caplog.text
    assert "INSERT INTO contact" in caplog.text  # the statement, with placeholders
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert "SQLSTATE 23505, constraint uq_contact_email_key, table contact" in caplog.text
        # Nothing of the failed booking written.
        assert db.session.query(Patient).count() == db.session.query(Contact).count() == 1
        assert db.session.query(Appointment).count() == 1


@pytest.mark.postgresql
def test_the_servers_words_are_withheld_and_the_drivers_kept(postgres_url):
    with raw_connection(postgres_url) as conn:
        conn.execute("CREATE TEMP TABLE t (email text CONSTRAINT t_email UNIQUE, n int)")
        conn.execute("INSERT INTO t VALUES ('pat@example.com', 1)")
        with pytest.raises(psycopg.errors.UniqueViolation) as raised:
            conn.execute("INSERT INTO t VALUES ('pat@example.com', 2)")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as bad_input:
            conn.execute("SELECT 'Pat Ient'::int")
    assert "pat@example.com" in str(raised.value)  # what the server says...
    assert describe(raised.value) == (
        "SQLSTATE 23505, constraint t_email, table t"
        " (the server's message is withheld: it may quote patient data)"
    )
    assert "Pat Ient" in str(bad_input.value)
    assert "Pat Ient" not in describe(bad_input.value)
    assert describe(bad_input.value).startswith("SQLSTATE 22P02")

    wrapped = IntegrityError("INSERT INTO t VALUES (%(email)s)", {"email": "x"}, raised.value)
    assert describe(wrapped).startswith("(psycopg.errors.UniqueViolation) SQLSTATE 23505")
    assert describe(wrapped).endswith("[SQL: INSERT INTO t VALUES (%(email)s)]")

    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
    assert describe(refused.value) == str(refused.value)  # no server spoke: nothing to hide


def test_the_traceback_keeps_its_chain_and_frames():
    def fail():
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("looked up") from exc

    try:
        try:
            fail()
        except ValueError:
            raise RuntimeError("while reporting") from None
    except RuntimeError as exc:
        suppressed = format_exception(exc)
    try:
        try:
            fail()
        except ValueError:
            raise RuntimeError("while reporting")  # noqa: B904 - the implicit context is the point
    except RuntimeError as exc:
        text = format_exception(exc)

    assert "KeyError" not in suppressed and suppressed.endswith("RuntimeError: while reporting")
    assert text.count("Traceback (most recent call last):") == 3
    assert text.index("KeyError: 'missing'") < text.index("ValueError: looked up")
    assert "direct cause of the following exception" in text
    assert "During handling of the above exception" in text
    assert 'raise ValueError("looked up") from exc' in text
    assert text.endswith("RuntimeError: while reporting")


@pytest.mark.parametrize("name", ["booking.errors", "booking", "sqlalchemy.pool", "gunicorn.error"])
def test_every_logger_redacts_once_the_app_is_made(app, caplog, name):
    caplog.set_level(logging.ERROR)
    try:
        raise KeyError("x")
    except KeyError:
        logging.getLogger(name).exception("failed")
    [record] = caplog.records
    assert record.exc_info is None and record.exc_text.endswith("KeyError: 'x'")
    assert caplog.text.rstrip().endswith("KeyError: 'x'")
    install()  # a second app in the process does not wrap the factory again
    assert logging.getLogRecordFactory().redacts


def test_a_later_error_of_the_same_session_is_withheld_too(app, clock):
    with app.app_context():
        for _ in range(2):  # the second flush is refused: the email is taken
            contact = Contact(
                email="pat@example.com", email_key="pat@example.com", created_at=clock.now
            )
            db.session.add(contact)
            with pytest.raises(IntegrityError) if _ else nullcontext():
                db.session.flush()
        with pytest.raises(PendingRollbackError) as later:
            db.session.execute(select(Patient.id))
        db.session.rollback()
        if db.engine.dialect.name == "postgresql":
            assert "pat@example.com" in str(later.value)  # SQLAlchemy repeats the first error
    assert "pat@example.com" not in format_exception(later.value)
    assert "PendingRollbackError: the session was rolled back" in format_exception(later.value)
