"""`inserts.insert_rows`: several rows in one statement (on PostgreSQL, one JSON document),
stored as the ORM would store them, and refused as the columns refuse them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, StatementError
from support import NOW, VANCOUVER

from booking.database import write_transaction
from booking.extensions import db
from booking.inserts import insert_rows
from booking.models import AuditEvent
from booking.services import audit

TABLE = AuditEvent.__table__


def test_rows_are_stored_as_the_orm_stores_them(ctx):
    local = NOW.astimezone(VANCOUVER)  # an aware time in another zone: the same instant
    rows = [
        audit.row("staff:1", "booked", 1, now=local) | {"after": [3, 4]},
        audit.row("staff:1", "booked", 2, now=NOW + timedelta(minutes=1), after={"n": [1, 2]}),
        audit.row("staff:2", "course_planned", 3, entity="course", now=NOW, before={"a": 1}),
    ]
    with write_transaction():
        insert_rows(TABLE, rows)
    stored = db.session.scalars(select(AuditEvent).order_by(AuditEvent.entity_id)).all()
    assert [(e.actor, e.action, e.entity, e.entity_id) for e in stored] == [
        ("staff:1", "booked", "appointment", 1),
        ("staff:1", "booked", "appointment", 2),
        ("staff:2", "course_planned", "course", 3),
    ]
    assert [e.at for e in stored] == [NOW, NOW + timedelta(minutes=1), NOW]
    # A JSON list is one value, not another dimension of the column's array.
    assert [e.after for e in stored] == [[3, 4], {"n": [1, 2]}, None]
    assert [e.before for e in stored] == [None, None, {"a": 1}]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_value_too_long_for_its_column_is_refused_not_cut(ctx):
    rows = [
        audit.row("staff:1", "booked", 1, now=NOW),
        audit.row("x" * 81, "booked", 2, now=NOW),  # the actor column holds 80
    ]
    with pytest.raises(DataError), write_transaction():
        insert_rows(TABLE, rows)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_values_come_back_exactly_as_they_went_in(ctx):
    # Microseconds, text beyond ASCII and JSON's own special characters, a JSON string.
    at = NOW + timedelta(microseconds=123_457)
    rows = [
        audit.row('Zoë "Ò" \\ 🙂', "booked", 1, now=at, after={"note": 'line\n"two"'}),
        audit.row("staff:1", "booked", 2, now=at) | {"after": "just text"},
    ]
    with write_transaction():
        insert_rows(TABLE, rows)
    stored = db.session.scalars(select(AuditEvent).order_by(AuditEvent.entity_id)).all()
    assert [e.at for e in stored] == [at, at]
    assert [e.actor for e in stored] == ['Zoë "Ò" \\ 🙂', "staff:1"]
    assert [e.after for e in stored] == [{"note": 'line\n"two"'}, "just text"]


def test_a_naive_time_is_refused_and_nothing_is_written(ctx):
    rows = [audit.row("staff:1", "booked", 1, now=NOW.replace(tzinfo=None))]
    with pytest.raises((ValueError, StatementError)), write_transaction():
        insert_rows(TABLE, rows)
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0
