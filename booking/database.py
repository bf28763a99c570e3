"""Database plumbing shared by every write path: SQLite set-up and the write transaction.

On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock instead of failing when their read snapshot goes stale; the overlap triggers
then see every committed appointment. PostgreSQL needs nothing special: its exclusion
constraints hold under concurrent READ COMMITTED transactions.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from booking.extensions import db

_write = ContextVar("write_transaction", default=False)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Deadlock and serialization failure: PostgreSQL asks the client to run the transaction again.
# Concurrent inserts checking one exclusion constraint can deadlock when three or more race.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 4
P = ParamSpec("P")
T = TypeVar("T")


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write.get() else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run the block as one transaction that commits at the end or rolls back entirely."""
    session = db.session()
    if session.in_transaction():
        session.rollback()  # only reads came before: GET and views never write
    session.expire_all()  # every rule is checked against what this transaction reads
    token = _write.set(True)
    try:
        session.connection()  # begin now, taking SQLite's write lock up front
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _write.reset(token)


@contextmanager
def read_session() -> Iterator[Session]:
    """Open a short session of its own, for reads only, even inside a write transaction."""
    token = _write.set(False)  # a second writer on SQLite would wait for our own lock
    try:
        with Session(db.engine, expire_on_commit=False) as session:
            yield session
    finally:
        _write.reset(token)


def transactional(work: Callable[P, T]) -> Callable[P, T]:
    """Run `work` as one write transaction, from the start again when the database asks."""

    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(ATTEMPTS):
            try:
                with write_transaction():
                    return work(*args, **kwargs)
            except OperationalError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate not in RETRY_SQLSTATES or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * 2**attempt))  # let the winner commit
        raise AssertionError("unreachable")

    return run


# The first key of PostgreSQL's two-key advisory locks: this app's namespace for therapists.
THERAPIST_LOCKS = 0x424B


def lock_therapists(therapist_ids: Iterable[int]) -> None:
    """Queue this transaction behind any other one booking the same therapists (PostgreSQL).

    Not what prevents double booking (the exclusion constraints do), but racers for one
    therapist then wait in line and see the winner, instead of meeting inside the constraint's
    index, where three or more can deadlock and wait a second for PostgreSQL to notice. SQLite
    needs nothing: BEGIN IMMEDIATE already lets one writer in at a time.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for therapist_id in sorted(set(therapist_ids)):  # one order everywhere: no lock cycles
        db.session.execute(_ADVISORY_LOCK, {"space": THERAPIST_LOCKS, "id": therapist_id})


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:space, :id)")


def violated(exc: IntegrityError, *names: str) -> bool:
    """Return whether the database refused a write because of one of the named constraints."""
    diag = getattr(exc.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint is not None:
        return constraint in names
    message = str(exc.orig)
    return any(name in message for name in names)
