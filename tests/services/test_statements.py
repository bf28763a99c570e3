"""Core statements run straight on the driver: the same values in and out as SQLAlchemy's own."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, create_engine, event, insert, select, text
from sqlalchemy.exc import IntegrityError, NoResultFound, OperationalError, StatementError

from booking import database, statements
from booking.extensions import db
from booking.models import Contact, Therapist

CONTACTS = Contact.__table__
WHEN = datetime(2027, 3, 14, 9, 30, tzinfo=UTC)
_BY_ID = select(Therapist.id, Therapist.name).where(
    Therapist.id.in_(bindparam("ids", expanding=True)), Therapist.active.is_(True)
)
_CREATED = select(CONTACTS.c.created_at).where(CONTACTS.c.email_key == bindparam("email"))
_ADD = insert(CONTACTS)


def _contact(email: str, **extra) -> dict[str, object]:
    return {"name": "Ana Silva", "email": email, "email_key": email, "created_at": WHEN, **extra}


def test_values_go_in_and_come_out_through_the_column_types(ctx):
    with database.write_transaction():
        database.execute(_ADD, _contact("ana@example.com"))

    created = database.execute(_CREATED, {"email": "ana@example.com"}).scalar_one()

    assert created == WHEN and created.tzinfo is not None  # aware UTC, on SQLite too
    assert db.session.scalar(select(Contact.created_at)) == WHEN  # as the ORM reads it


def test_each_length_of_an_in_list_gets_its_own_statement(ctx, world):
    ids = [world.make_therapist(f"T{n}") for n in range(3)]
    world.make_therapist("Away", active=False)

    found = {n: database.execute(_BY_ID, {"ids": ids[:n]}).all() for n in (1, 3, 2, 1)}

    assert found[1] == [(ids[0], "T0")]
    assert sorted(found[2]) == [(ids[0], "T0"), (ids[1], "T1")]
    assert len(found[3]) == 3
    # the value bound in the statement itself (active is true) is sent as well
    assert database.execute(_BY_ID, {"ids": [*ids, ids[-1] + 1]}).all() != []


def test_a_statement_that_needs_python_defaults_is_left_to_sqlalchemy(ctx):
    params = {
        "email": "ben@example.com",
        "email_key": "ben@example.com",
    }  # name, created_at defaulted

    with database.write_transaction():
        database.execute(_ADD, params)

    assert statements._plan(_ADD, db.engine.dialect, params) is None
    contact = db.session.scalars(select(Contact)).one()
    assert contact.name == "" and contact.created_at is not None


def test_a_refusal_is_sqlalchemys_error_and_never_shows_the_values(ctx):
    with database.write_transaction():
        database.execute(_ADD, _contact("cara@example.com"))

    with pytest.raises(IntegrityError) as refused, database.write_transaction():
        database.execute(_ADD, _contact("cara@example.com", name="Secret Name"))

    assert database.violated(refused.value, "uq_contact_email_key", "contact.email_key")
    assert "parameters hidden" in str(refused.value)
    assert "Secret Name" not in str(refused.value)
    assert db.session.scalar(select(db.func.count()).select_from(CONTACTS)) == 1


def test_while_something_listens_statements_go_through_sqlalchemy(ctx, monkeypatch):
    seen = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, context))  # a tracer keeps its state on the context

    direct = []
    monkeypatch.setattr(statements, "_cursor_execute", lambda *args: direct.append(args))
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        database.execute(_CREATED, {"email": "nobody@example.com"})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)

    [(statement, context)] = [(s, c) for s, c in seen if s != "BEGIN"]
    assert "FROM contact" in statement and context is not None
    assert direct == []


def test_with_the_engine_logging_statements_every_statement_is_logged(ctx, caplog, monkeypatch):
    direct = []
    monkeypatch.setattr(statements, "_cursor_execute", lambda *args: direct.append(args))
    db.session.remove()  # a connection reads the engine logger's level when it opens
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    database.execute(_CREATED, {"email": "nobody@example.com"})
    assert "FROM contact" in caplog.text
    assert direct == []


def test_what_the_direct_path_cannot_express_is_left_to_sqlalchemy(ctx, world):
    ids = [world.make_therapist(f"T{n}") for n in range(3)]
    by_entity = select(Therapist).where(Therapist.id == bindparam("id"))
    counter = iter(range(3))
    computed = select(Therapist.id).where(
        Therapist.id == bindparam("id", callable_=lambda: ids[next(counter)])
    )
    dialect = db.engine.dialect

    assert statements._plan(by_entity, dialect, {"id": ids[0]}) is None  # ORM entities
    assert statements._plan(computed, dialect, {}) is None  # a value computed each time
    assert statements._plan(_BY_ID, dialect, {"ids": set(ids)}) is None  # not a list
    assert database.execute(computed).scalar() == ids[0]
    assert database.execute(computed).scalar() == ids[1]
    assert len(database.execute(_BY_ID, {"ids": set(ids[:2])}).all()) == 2
    assert len(database.execute(_BY_ID, {"ids": set(ids)}).all()) == 3


def test_a_missing_value_or_a_wrong_row_count_is_sqlalchemys_error(ctx):
    with pytest.raises(StatementError):
        database.execute(_CREATED, {})
    naive = _contact("x@example.com", created_at=WHEN.replace(tzinfo=None))
    with pytest.raises(StatementError, match="naive"), database.write_transaction():
        database.execute(_ADD, naive)
    with pytest.raises(NoResultFound):
        database.execute(_CREATED, {"email": "nobody@example.com"}).scalar_one()


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_lost_mid_transaction_is_invalidated_and_replaced(ctx, database_url):
    with pytest.raises(OperationalError) as lost, database.write_transaction():
        pid = database.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with other.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.dispose()
        database.execute(_CREATED, {"email": "dan@example.com"})

    assert lost.value.connection_invalidated
    again = database.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert again != pid


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_after_a_lost_connection_the_idle_ones_are_not_trusted_either(app):
    def backend() -> int:
        with app.app_context():
            return database.execute(text("SELECT pg_backend_pid()")).scalar_one()

    with app.app_context():  # two pooled connections, both idle now
        first, second = db.engine.connect(), db.engine.connect()
        pids = {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in (first, second)}
        first.close()
        second.close()
        killer = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with killer.connect() as conn:  # as if the server restarted
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()

    with pytest.raises(OperationalError):
        backend()  # the first request meets a dead connection ...

    assert backend() not in pids  # ... and the next one is not handed the other


def test_a_second_connection_inside_a_write_transaction_is_refused_at_once(ctx):
    with pytest.raises(RuntimeError, match="second connection"), database.write_transaction():
        database.execute(_ADD, _contact("eve@example.com"))
        with db.engine.connect() as other:  # on SQLite this would wait for our own lock
            other.execute(select(Contact.id))

    assert database.execute(_CREATED, {"email": "eve@example.com"}).first() is None
