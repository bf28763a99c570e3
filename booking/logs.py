"""Log records whose tracebacks never quote patient data from the database.

`hide_parameters` keeps a failed statement's values out of SQLAlchemy's error text, but the
database's own words still carry them: PostgreSQL's DETAIL names the key of a unique violation
("Key (email)=(pat@example.com) already exists"), lists the whole failing row of a check or
not-null violation, and quotes the input it could not parse; SQLAlchemy repeats that text in
later errors of the same session. Logged as they are, those land a patient's email, name or
phone in the log of any unexpected database error.

`install` (called by `create_app`) makes every log record of the process, whichever logger
and handler it goes through (the app's, SQLAlchemy's pool, gunicorn's), carry the traceback
`format_exception` gives: a database error says only what identifies it, its class, SQLSTATE,
constraint, table and column, plus the statement (which holds placeholders, not values).
Errors raised by the driver itself, before the server answered (a refused connection, say),
keep their words: they hold no data.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from sqlalchemy.exc import PendingRollbackError, StatementError

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
_WITHHELD = "(the server's message is withheld: it may quote patient data)"


def install() -> None:
    """Redact the traceback of every log record made from now on, in this process.

    A record factory rather than a filter: a logger's filters see only the records made on
    that logger, and handlers belong to whoever runs the app.
    """
    make = logging.getLogRecordFactory()
    if getattr(make, "redacts", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1])
            # Handlers that format `exc_info` themselves would print the original words.
            record.exc_info = None
        return record

    redacting.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)


def format_exception(exc: BaseException) -> str:
    """The traceback of `exc` and the exceptions it came from, as Python prints it, except that
    database errors are described by `describe`. Ends without a newline, as logging expects."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    parts: list[str] = []
    for older, newer in zip(reversed(chain), [*reversed(chain[:-1]), None], strict=True):
        if older.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(older.__traceback__))
        parts.append(f"{_qualified(type(older))}: {describe(older)}\n")
        if newer is not None:
            parts.append(_CAUSE if newer.__cause__ is older else _CONTEXT)
    return "".join(parts).rstrip("\n")


def describe(exc: BaseException) -> str:
    """The exception's message, or for an error the database server sent, its identifiers."""
    if isinstance(exc, PendingRollbackError):  # its message repeats the earlier error's
        return f"the session was rolled back after an earlier error {_WITHHELD}"
    original = exc.orig if isinstance(exc, StatementError) else exc
    diag = getattr(original, "diag", None)  # psycopg's diagnostics of a server error
    sqlstate = getattr(diag, "sqlstate", None)
    if not sqlstate:
        return str(exc)
    names = [f"SQLSTATE {sqlstate}"]
    for label in ("constraint", "table", "column"):
        value = getattr(diag, f"{label}_name", None)
        if value:
            names.append(f"{label} {value}")
    text = f"{', '.join(names)} {_WITHHELD}"
    if isinstance(exc, StatementError):
        text = f"({_qualified(type(original))}) {text}"
        if exc.statement:
            text += f"\n[SQL: {exc.statement}]"
    return text


def _qualified(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
