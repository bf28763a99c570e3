"""Database plumbing shared by every write path: SQLite set-up and the write transaction.

On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so writers queue on the
database lock instead of failing when their read snapshot goes stale; the overlap triggers
then see every committed appointment. PostgreSQL needs nothing special: its exclusion
constraints hold under concurrent READ COMMITTED transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.extensions import db

_write = ContextVar("write_transaction", default=False)
SQLITE_BUSY_TIMEOUT_MS = 30_000


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


def violated(exc: IntegrityError, *names: str) -> bool:
    """Return whether the database refused a write because of one of the named constraints."""
    diag = getattr(exc.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    if constraint is not None:
        return constraint in names
    message = str(exc.orig)
    return any(name in message for name in names)
