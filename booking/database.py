"""Database plumbing shared by every write path: SQLite set-up and the write transaction.

On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock instead of failing when their read snapshot goes stale; the overlap triggers
then see every committed appointment. PostgreSQL needs nothing special: its exclusion
constraints hold under concurrent READ COMMITTED transactions.

A lost connection (the server restarting, say) is `Unavailable`, which the app answers with
503 and `Retry-After`. Lost before COMMIT was sent, the transaction cannot have committed,
so `transactional` runs it once more on a fresh connection; lost while committing, it may
have committed, so it is `OutcomeUnknown` and never run again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.sql import Executable

from booking import statements
from booking.extensions import db
from booking.logs import describe
from booking.statements import Rows

log = logging.getLogger(__name__)
_write = ContextVar("write_transaction", default=False)
_connection: ContextVar[Connection | None] = ContextVar("write_connection", default=None)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Deadlock and serialization failure: PostgreSQL asks the client to run the transaction again.
# Concurrent inserts checking one exclusion constraint can deadlock when three or more race.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 4
# A connection lost before COMMIT: run the transaction once more, on a fresh connection.
RECONNECTS = 1
# What the server says when it stops or starts (admin_shutdown, crash_shutdown,
# cannot_connect_now), besides class 08, connection exceptions.
_LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
P = ParamSpec("P")
T = TypeVar("T")


class Unavailable(Exception):
    """The database could not be reached, or the connection to it broke: try again later.

    `saved` is False when the work is known to have been rolled back, None when nothing
    is known about it.
    """

    saved: bool | None = None


class NothingSaved(Unavailable):
    """A transaction lost its connection before COMMIT, again when run once more."""

    saved = False


class OutcomeUnknown(Unavailable):
    """The connection broke while committing: the change may or may not have been saved."""


def connection_lost(exc: BaseException) -> bool:
    """Return whether `exc` says the database could not be reached or the connection broke.

    Not a refusal, a deadlock or a full disk: those are answers from a server still there.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy found the connection closed or broken
        return True
    original = exc.orig
    if not type(original).__module__.startswith("psycopg"):
        return False  # SQLite is a file: "database is locked" is not a lost connection
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _LOST_SQLSTATES
    # psycopg's own OperationalError, with no server answer: it could not connect, or the
    # server closed the connection.
    return isinstance(exc, OperationalError)


def summary(exc: BaseException) -> str:
    """One line on what went wrong, never quoting patient data (see `booking.logs`)."""
    return describe(exc).partition("\n")[0]


@contextmanager
def _committing() -> Iterator[None]:
    """Turn a connection lost during COMMIT into `OutcomeUnknown`: it may have committed."""
    try:
        yield
    except DBAPIError as exc:
        if connection_lost(exc):
            raise OutcomeUnknown("the connection broke during COMMIT") from exc
        raise


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


# A pooled connection that sat unused this long is checked with a round trip before a request
# gets it: the server may have restarted or dropped it meanwhile. One in steady use is not, and
# a connection lost mid-use fails that request alone, since SQLAlchemy then replaces the pool.
IDLE_BEFORE_PING = 10.0  # seconds


@event.listens_for(Pool, "checkin")
def _remember_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < IDLE_BEFORE_PING:
        return  # new, or in steady use
    if type(dbapi_connection).__module__ == "sqlite3":
        return  # a file: nothing to lose touch with
    try:
        _ping(dbapi_connection)
    except Exception as exc:  # the driver's own disconnect error, whatever its class
        raise DisconnectionError("the pooled connection no longer answers") from exc


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT 1")
    cursor.close()
    dbapi_connection.rollback()


@event.listens_for(Engine, "begin")
def _begin(conn: Connection) -> None:
    current = _connection.get()
    if (
        _write.get()
        and current is not None
        and current is not conn
        and current.engine is conn.engine
    ):
        # On SQLite it would wait for the write lock its own transaction holds.
        raise RuntimeError("a second connection inside a write transaction: use `execute`")
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
        # Begin now, taking SQLite's write lock up front; `execute` reuses the connection.
        connection = _connection.set(session.connection())
        try:
            yield session
        finally:
            _connection.reset(connection)
        session.flush()  # lost here, the connection is lost before COMMIT: nothing is saved
        with _committing():
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
        conflicts = reconnects = 0
        while True:
            try:
                # A connection lost in here is lost before COMMIT: the transaction is rolled
                # back by the server, so it is safe to run again. One lost while committing
                # comes out as OutcomeUnknown, which is not caught here.
                with write_transaction():
                    return work(*args, **kwargs)
            except DBAPIError as exc:
                if connection_lost(exc):
                    if reconnects == RECONNECTS:
                        raise NothingSaved("the database connection was lost again") from exc
                    reconnects += 1
                    log.warning(
                        "database connection lost, %s runs again: %s", work.__name__, summary(exc)
                    )
                    continue
                sqlstate = getattr(exc.orig, "sqlstate", None)
                if sqlstate not in RETRY_SQLSTATES or conflicts == ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * 2**conflicts))  # let the winner commit
                conflicts += 1

    return run


# The first key of PostgreSQL's two-key advisory locks: this app's namespace for therapists,
# and for people (patients).
THERAPIST_LOCKS = 0x424B
PATIENT_LOCKS = 0x4250


def lock_therapists(therapist_ids: Iterable[int], *, patient_id: int | None = None) -> None:
    """Queue this transaction behind any other one booking the same therapists (PostgreSQL).

    Not what prevents double booking (the exclusion constraints do), but racers for one
    therapist then wait in line and see the winner, instead of meeting inside the constraint's
    index, where three or more can deadlock and wait a second for PostgreSQL to notice. SQLite
    needs nothing: BEGIN IMMEDIATE already lets one writer in at a time. The lock's statement
    also has this transaction plan repeated statements once (see `_ADVISORY_LOCKS`).
    `patient_id` takes that person's lock first (`lock_patient`) in the same round trip.
    """
    if dialect_name() != "postgresql":
        return
    # One round trip for all of them, taken in one order everywhere: no lock cycles.
    ids = sorted(set(therapist_ids))
    spaces = [THERAPIST_LOCKS] * len(ids)
    if patient_id is not None:
        ids, spaces = [patient_id, *ids], [PATIENT_LOCKS, *spaces]
    execute(_ADVISORY_LOCKS, {"spaces": spaces, "ids": ids})


def lock_patient(patient_id: int) -> None:
    """Queue this transaction behind any other one booking needling for the same person.

    The spacing between one person's needling visits is a rule across rows (other days,
    other therapists) that no constraint holds, so two bookings of adjacent days must not
    check it side by side. Taken before any therapist's lock, everywhere: no lock cycles.
    SQLite's BEGIN IMMEDIATE already lets one writer in at a time.
    """
    if dialect_name() != "postgresql":
        return
    execute(_ADVISORY_LOCKS, {"spaces": [PATIENT_LOCKS], "ids": [patient_id]})


# The same round trip tells PostgreSQL to plan the rest of this transaction's repeated
# statements once (transaction-local): otherwise it re-plans the availability check for every
# booking, and planning its time range probes the index for the newest start (new bookings
# lie beyond the column's statistics), at a cost that grows with the table and exceeded the
# query's own. Only here: for other queries, such as the staff's day view, generic plans
# can be worse than planning each time. `unnest` yields the keys in the arrays' order (the
# caller's: a person first, then therapists by id), and each row takes its lock before the
# next row is read.
_ADVISORY_LOCKS = text(
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
    " count(pg_advisory_xact_lock(held.space, held.id))"
    " FROM unnest(CAST(:spaces AS integer[]), CAST(:ids AS integer[])) AS held(space, id)"
)


def execute(statement: Executable, params: Mapping[str, Any] | None = None) -> Rows:
    """Run a Core statement on the session's connection, past the ORM and SQLAlchemy's engine.

    For the hot paths: each booking runs a handful of fixed statements and reads back a few
    values, never objects; the unit of work and the engine's execution machinery cost several
    times what the driver does (see `booking.statements`).
    """
    connection = _connection.get() or db.session.connection()
    return statements.run(connection, statement, params)


def dialect_name() -> str:
    """Return the name of the database's dialect: "postgresql" or "sqlite"."""
    connection = _connection.get()
    return (connection or db.session.get_bind()).dialect.name


def violated(exc: IntegrityError, *names: str) -> bool:
    """Return whether the database refused a write because of one of the named constraints."""
    diag = getattr(exc.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint is not None:
        return constraint in names
    message = str(exc.orig)
    return any(name in message for name in names)
