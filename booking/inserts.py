"""Several rows into one table with one INSERT statement, as the ORM would store them.

One statement, not `executemany`: psycopg runs that as a pipeline of one INSERT per row,
which costs more than the rows themselves. On PostgreSQL the rows go as one JSON document,
which the server turns back into rows of the table's own type (`json_populate_recordset`):
the statement's text is the same for any number of rows, so the driver prepares it once
and the server plans it once, and the rows cost one `json.dumps` at C speed. An array per
column (`unnest`) cost the driver more than the server took to insert a course's 21 outbox
rows (docs/benchmarks.md). Each value is converted by its column type's bind processor
first, as for any statement; the server then reads each JSON value with the column type's
own input function, so a value the column cannot hold (too long, not a time) is refused,
never cut. SQLite takes a multi-row VALUES list, built once per row count.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Table, Text, TextClause, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Executable

from booking.database import dialect_name, execute
from booking.statements import Rows

_PG = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


def insert_rows(
    table: Table, rows: Sequence[Mapping[str, Any]], *, returning: tuple[str, ...] = ()
) -> Rows:
    """Insert `rows` (each with the same keys) with one INSERT statement.

    `returning` names columns to read back, in no particular order (SQLite promises none):
    return a key with them.
    """
    if not rows:
        return Rows([])
    columns = tuple(rows[0])
    if dialect_name() == "postgresql":
        convert = _converters(table, columns)
        if convert:
            rows = [{**row, **{c: f(row[c]) for c, f in convert}} for row in rows]
        document = json.dumps(rows, default=_json_value, ensure_ascii=False, separators=(",", ":"))
        return execute(_json_insert(table, columns, returning), {"rows": document})
    params = {f"{column}_{n}": row[column] for n, row in enumerate(rows) for column in columns}
    return execute(_multi_row_insert(table, columns, len(rows), returning), params)


@functools.cache
def _converters(
    table: Table, columns: tuple[str, ...]
) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    # A JSON column's value goes in as it is, nested in the document: its bind processor
    # would make it a string first, stored as a JSON string.
    found = []
    for column in columns:
        column_type = table.c[column].type
        if isinstance(column_type, JSON):
            continue
        process = column_type.dialect_impl(_PG).bind_processor(_PG)
        if process is not None:
            found.append((column, process))
    return tuple(found)


def _json_value(value: Any) -> str:
    """A value JSON has no type for, as the text PostgreSQL's input functions read."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written by insert_rows")


def _quoted(names: Iterable[str]) -> str:
    # Names are quoted, since some of ours ("at", "before") are SQL words.
    return ", ".join(f'"{name}"' for name in names)


def _returning(table: Table, statement: TextClause, returning: tuple[str, ...]) -> Executable:
    return statement.columns(*(table.c[c] for c in returning)) if returning else statement


@functools.cache
def _json_insert(table: Table, columns: tuple[str, ...], returning: tuple[str, ...]) -> Executable:
    names = _quoted(columns)
    back = f" RETURNING {_quoted(returning)}" if returning else ""
    statement = text(
        f'INSERT INTO "{table.name}" ({names}) SELECT {names}'
        f' FROM json_populate_recordset(NULL::"{table.name}", CAST(:rows AS json)){back}'
    ).bindparams(bindparam("rows", type_=Text()))
    return _returning(table, statement, returning)


@functools.cache
def _multi_row_insert(
    table: Table, columns: tuple[str, ...], count: int, returning: tuple[str, ...] = ()
) -> Executable:
    # As text: SQLAlchemy never caches the compiled form of a multi-row `insert().values()`,
    # and compiling it each time would cost more than executemany. The bound types still
    # convert each value.
    rows = ", ".join(
        "(" + ", ".join(f":{column}_{n}" for column in columns) + ")" for n in range(count)
    )
    back = f" RETURNING {_quoted(returning)}" if returning else ""
    statement = text(
        f'INSERT INTO "{table.name}" ({_quoted(columns)}) VALUES {rows}{back}'
    ).bindparams(
        *(
            bindparam(f"{column}_{n}", type_=table.c[column].type)
            for n in range(count)
            for column in columns
        )
    )
    return _returning(table, statement, returning)
