"""What the database itself refuses, whichever code path writes: raw SQL included."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from rawsql import INTEGRITY, T9, raw_connection, stamp
from sqlalchemy import select

from booking.extensions import db
from booking.models import AuditEvent, UTCDateTime


def refused(exc_info) -> str:
    return str(exc_info.value)


@pytest.mark.parametrize(
    ("offset", "minutes", "clash"),
    [
        (-60, 60, False),  # ends exactly at 09:00: touching is fine
        (-60, 61, True),  # one minute into the visit
        (0, 30, True),  # same start
        (30, 15, True),  # inside
        (60, 30, True),  # inside the 10-minute buffer after 09:00-10:00
        (70, 30, False),  # starts exactly when the buffer ends
        (-120, 240, True),  # wraps it
    ],
)
def test_raw_inserts_that_overlap_a_therapist_are_refused(raw_insert, offset, minutes, clash):
    raw_insert(T9)
    start = T9 + timedelta(minutes=offset)
    if clash:
        with pytest.raises(INTEGRITY) as exc_info:
            raw_insert(start, minutes, buffer=0, patient_id=2)
        assert "appointment_no_therapist_overlap" in refused(exc_info)
    else:
        raw_insert(start, minutes, buffer=0, patient_id=2)


def test_raw_inserts_that_put_a_patient_in_two_places_are_refused(raw_insert):
    raw_insert(T9)
    with pytest.raises(INTEGRITY) as exc_info:
        raw_insert(T9 + timedelta(minutes=30), therapist_id=raw_insert.other_therapist)
    assert "appointment_no_patient_overlap" in refused(exc_info)
    # The patient's own buffer is the therapist's cleaning time, not the patient's.
    raw_insert(T9 + timedelta(minutes=60), therapist_id=raw_insert.other_therapist)


def test_cancelled_appointments_hold_no_time(raw_insert, database_url):
    raw_insert(T9, status="cancelled")
    raw_insert(T9, patient_id=2)
    with raw_connection(database_url) as conn, pytest.raises(INTEGRITY):
        # Reviving the cancelled one would now collide.
        conn.execute("UPDATE appointment SET status = 'booked' WHERE reference = 'REF-0001'")


def test_updates_that_move_into_an_overlap_are_refused(raw_insert, database_url):
    raw_insert(T9)
    raw_insert(T9 + timedelta(hours=2), patient_id=2)
    moved = stamp(database_url, T9 + timedelta(minutes=30))
    marker = "?" if database_url.startswith("sqlite") else "%s"
    with raw_connection(database_url) as conn:
        with pytest.raises(INTEGRITY) as exc_info:
            conn.execute(
                f"UPDATE appointment SET start_at = {marker} WHERE reference = 'REF-0002'", (moved,)
            )
        assert "appointment_no_therapist_overlap" in refused(exc_info)
        # Moving within its own time is no clash with itself.
        conn.execute(
            f"UPDATE appointment SET end_at = {marker}, occupied_until = {marker} "
            "WHERE reference = 'REF-0001'",
            (stamp(database_url, T9 + timedelta(minutes=50)),) * 2,
        )


def test_an_appointment_longer_than_a_day_is_refused(raw_insert):
    with pytest.raises(INTEGRITY):
        raw_insert(T9, minutes=60 * 25)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("text", ["2027-03-02T17:00:00Z", "2027-03-02 17:00", "tomorrow"])
def test_sqlite_refuses_time_text_it_cannot_compare(raw_insert, text):
    """PostgreSQL parses timestamptz input itself; SQLite's triggers need one text form."""
    with pytest.raises(sqlite3.IntegrityError, match="appointment_time_valid"):
        raw_insert(T9, start_text=text)


def test_the_audit_trail_is_append_only(ctx, database_url):
    db.session.add(AuditEvent(actor="t", action="booked", entity="appointment", entity_id=1))
    db.session.commit()
    with raw_connection(database_url) as conn:
        for sql in ("UPDATE audit_event SET actor = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(INTEGRITY, match="append"):
                conn.execute(sql)
    assert db.session.scalar(select(AuditEvent.actor)) == "t"


def test_instants_round_trip_as_aware_utc_and_naive_ones_are_refused(ctx):
    from datetime import timezone

    column = UTCDateTime()
    dialect = db.engine.dialect
    pacific = timezone(timedelta(hours=-8))
    stored = column.process_bind_param(datetime(2027, 3, 2, 9, tzinfo=pacific), dialect)
    assert column.process_result_value(stored, dialect) == T9
    assert column.process_result_value(stored, dialect).tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2027, 3, 2, 9), dialect)
    with pytest.raises(TypeError):
        column.process_bind_param("2027-03-02", dialect)


def test_models_and_migrations_agree(ctx):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clinic SET phone = '604-555-0000'",
        "UPDATE service SET name = name",
        "UPDATE therapist SET bio = 'new'",
        "DELETE FROM therapist_service",
        "DELETE FROM working_hours",
        "INSERT INTO closure (starts_on, ends_on, reason) VALUES ('2027-12-25', '2027-12-26', '')",
    ],
)
def test_every_change_to_reference_data_bumps_the_catalog_version(world, database_url, statement):
    world.make_therapist()
    with raw_connection(database_url) as conn:
        before = conn.execute("SELECT version FROM catalog_version").fetchone()[0]
        conn.execute(statement)
        after = conn.execute("SELECT version FROM catalog_version").fetchone()[0]
    assert after > before
