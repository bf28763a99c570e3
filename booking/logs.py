"""Loggers whose tracebacks never quote patient data from the database.

`hide_parameters` keeps a failed statement's values out of SQLAlchemy's error text, but the
database's own words still carry them: PostgreSQL's DETAIL names the key of a unique violation
("Key (email)=(pat@example.com) already exists"), lists the whole failing row of a check or
not-null violation, and quotes the input it could not parse. Logged as they are, those land a
patient's email, name or phone in the log of any unexpected database error.

Every module logs through `get_logger`, whose filter rewrites a record's traceback so that a
database error says only what identifies it: its class, SQLSTATE, constraint, table and column,
plus the statement (which holds placeholders, not values). Errors raised by the driver itself,
before the server answered (a refused connection, say), keep their words: they hold no data.
"""

from __future__ import annotations

import logging
import traceback

from sqlalchemy.exc import DBAPIError, StatementError

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


class RedactDatabaseErrors(logging.Filter):
    """Replace a record's traceback by `format_exception`'s; the record is always kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info[1])
            # Handlers that format `exc_info` themselves would print the original words.
            record.exc_info = None
        return True


_FILTER = RedactDatabaseErrors()


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)`, with database errors redacted from its tracebacks."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


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
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    diag = getattr(original, "diag", None)  # psycopg's diagnostics of a server error
    sqlstate = getattr(diag, "sqlstate", None)
    if not sqlstate:
        return str(exc)
    names = [f"SQLSTATE {sqlstate}"]
    for label in ("constraint", "table", "column"):
        value = getattr(diag, f"{label}_name", None)
        if value:
            names.append(f"{label} {value}")
    text = ", ".join(names) + " (the server's message is withheld: it may quote patient data)"
    if isinstance(exc, DBAPIError):
        text = f"({_qualified(type(original))}) {text}"
    if isinstance(exc, StatementError) and exc.statement:
        text += f"\n[SQL: {exc.statement}]"
    return text


def _qualified(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
