"""Bookings for one therapist queue on an advisory lock on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from booking.database import PATIENT_LOCKS, THERAPIST_LOCKS, lock_therapists, write_transaction

HELD = text(
    "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory'"
    " AND pid = pg_backend_pid() ORDER BY classid, objid"
)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_therapists_lock_is_held_until_the_transaction_ends(ctx):
    with write_transaction() as session:
        lock_therapists([7, 3, 7])
        assert session.execute(HELD).all() == [(THERAPIST_LOCKS, 3), (THERAPIST_LOCKS, 7)]
    with write_transaction() as session:
        assert session.execute(HELD).all() == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_person_and_their_therapists_are_locked_in_one_round_trip(ctx):
    with write_transaction() as session:
        lock_therapists([5, 2], patient_id=9)
        held = session.execute(HELD).all()
        assert held == [(THERAPIST_LOCKS, 2), (THERAPIST_LOCKS, 5), (PATIENT_LOCKS, 9)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_needs_no_lock_of_its_own(ctx):
    with write_transaction():
        lock_therapists([1])  # BEGIN IMMEDIATE already serializes writers


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_generic_plans_last_only_as_long_as_the_booking_transaction(ctx):
    mode = text("SHOW plan_cache_mode")
    with write_transaction() as session:
        assert session.execute(mode).scalar() == "auto"
        lock_therapists([3])
        assert session.execute(mode).scalar() == "force_generic_plan"
    with write_transaction() as session:  # the same pooled connection, next transaction
        assert session.execute(mode).scalar() == "auto"
