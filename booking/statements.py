"""Run Core statements straight on the driver's cursor, compiled once per dialect.

SQLAlchemy spends several times what the driver does on each execution: an execution context,
the compiled-cache lookup, parameter construction, a result object. A booking runs a handful of
fixed statements, so `run` does only what those need, with SQLAlchemy's own pieces: each
statement is compiled by SQLAlchemy for the connection's dialect, and its values go through
the column types' own bind and result processors, so the same code runs on PostgreSQL and
SQLite and stores exactly what the ORM would. Whatever a plan cannot express (Python-side
column defaults, literal-rendered parameters, values computed per execution, ORM entities)
is left to `Connection.execute`.

Errors come out as SQLAlchemy's (`IntegrityError`, `OperationalError`, `StatementError`,
`NoResultFound`, ...), with the values hidden as the engine's `hide_parameters` says; a lost
connection is invalidated and so is the rest of the pool, as SQLAlchemy does. While anything
listens to `before_cursor_execute` / `after_cursor_execute` (a tracer, a test counting
statements), or the engine logs its statements (`SQLALCHEMY_ECHO`, or the `sqlalchemy.engine`
logger at INFO), every statement goes through `Connection.execute`, so that listeners get the
execution context they expect and the log misses nothing; `bench/profile_app.py` times
`_cursor_execute` instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import (
    DBAPIError,
    InvalidRequestError,
    MultipleResultsFound,
    NoResultFound,
    StatementError,
)
from sqlalchemy.sql import ClauseElement, Executable, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.sqltypes import TupleType

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIModule

_Processor = Callable[[Any], Any]
_MAX_PLANS = 512  # statements are module constants; this only bounds a caller's mistake


class Rows:
    """The rows a statement returned, already converted by their column types."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows

    def first(self) -> tuple[Any, ...] | None:
        """The first row, or None if there is no row."""
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        """The first column of the first row, or None if there is no row."""
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row; raise if there is not exactly one row."""
        if not self.rows:
            raise NoResultFound("No row was found when one was required")
        if len(self.rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return self.rows[0][0]


class _Plan:
    """One statement compiled for one dialect, one set of keys and one length of each IN list."""

    __slots__ = (
        "defaults",
        "dialect",
        "expansion",
        "positions",
        "processors",
        "results",
        "sql",
        "statement",
        "types",
    )

    def __init__(self, statement: Executable, compiled: SQLCompiler, params: Mapping[str, Any]):
        dialect = compiled.dialect
        state = compiled.construct_expanded_state(params, escape_names=False)
        self.statement = statement  # held, so that its id is never reused while cached
        self.dialect = dialect
        self.sql = state.statement
        self.positions = tuple(state.positiontup) if state.positiontup is not None else None
        self.expansion = {name: tuple(names) for name, names in state.parameter_expansion.items()}
        self.defaults = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if name not in params and not bind.required
        }
        processors: dict[str, _Processor] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                for expanded in self.expansion.get(name, (name,)):
                    processors[expanded] = process
        self.processors = tuple(processors.items())
        # The types of the columns it returns, turned into processors at the first result.
        columns = getattr(statement, "exported_columns", None) or ()
        self.types = tuple(column.type.dialect_impl(dialect) for column in columns)
        self.results: dict[tuple[Any, ...], tuple[_Processor | None, ...]] = {}

    def values(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        try:
            values = {**self.defaults, **params}
            for name, names in self.expansion.items():
                values.update(zip(names, values.pop(name), strict=True))
            for name, process in self.processors:
                values[name] = process(values[name])
        except (KeyError, TypeError, ValueError) as exc:  # a missing or unconvertible value
            raise StatementError(str(exc), self.sql, None, exc, hide_parameters=True) from exc
        if self.positions is None:
            return values
        return [values[name] for name in self.positions]


_plans: dict[tuple[Any, ...], _Plan | None] = {}
_lock = threading.Lock()


def run(
    connection: Connection,
    statement: Executable,
    params: Mapping[str, Any] | None,
    *,
    plain: bool = False,
) -> Rows:
    """Execute `statement` with `params` on the connection's current transaction.

    `plain` takes SQLAlchemy's own path (`Connection.execute`), which the driver path must
    agree with (tests/services/test_statements_paths.py compares the two).
    """
    params = params or {}
    dialect = connection.dialect
    events = connection.dispatch
    # A tracer, or the engine's echo (SQLALCHEMY_ECHO, or the sqlalchemy.engine logger at
    # INFO), sees every statement: those take SQLAlchemy's own path.
    direct = not (
        plain or events.before_cursor_execute or events.after_cursor_execute or connection._echo
    )
    plan = _plan(statement, dialect, params) if direct else None
    if plan is None:
        result = connection.execute(statement, dict(params))
        rows = [tuple(row) for row in result] if result.returns_rows else []
        return Rows(rows)
    values = plan.values(params)
    driver = connection.connection.driver_connection
    if driver is None:  # the connection was invalidated and not yet replaced
        raise InvalidRequestError("the connection is closed")
    cursor = None
    try:
        cursor = driver.cursor()
        _cursor_execute(cursor, plan.sql, values)
        description = cursor.description
        raw = cursor.fetchall() if description is not None else []
    except dialect.loaded_dbapi.Error as exc:
        raise _translated(connection, cursor, plan.sql, values, exc) from exc
    except BaseException as exc:
        if not isinstance(exc, Exception):  # interrupted mid-statement: the state is unknown
            connection.invalidate(exc)
        raise
    finally:
        if cursor is not None:
            cursor.close()
    if raw and plan.types:
        if len(description) != len(plan.types):
            raise RuntimeError(f"{len(description)} columns came back, not {len(plan.types)}")
        processors = _result_processors(plan, dialect, description)
        if any(processors):  # column by column: `map` runs each processor at C speed
            columns = [
                column if p is None else list(map(p, column))
                for p, column in zip(processors, zip(*raw, strict=True), strict=True)
            ]
            raw = list(zip(*columns, strict=True))
    return Rows(raw)


def _cursor_execute(cursor: Any, sql: str, values: Any) -> None:
    """The driver's own call: one seam for a profiler to time."""
    cursor.execute(sql, values)


def _plan(statement: Executable, dialect: Dialect, params: Mapping[str, Any]) -> _Plan | None:
    lengths = tuple((name, len(value)) for name, value in params.items() if _is_list(value))
    key = (id(statement), id(dialect), tuple(params), lengths)
    if key in _plans:
        plan = _plans[key]
        if plan is None or (plan.statement is statement and plan.dialect is dialect):
            return plan
    if not isinstance(statement, ClauseElement):  # nothing to compile: Connection.execute
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(params))
    plan = None
    if isinstance(compiled, SQLCompiler) and _simple(compiled, statement, params):
        try:
            plan = _Plan(statement, compiled, params)
        except InvalidRequestError:  # a value is missing: SQLAlchemy's own path says which
            plan = None
    with _lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[key] = plan
    return plan


def _simple(compiled: SQLCompiler, statement: ClauseElement, params: Mapping[str, Any]) -> bool:
    """Whether a plan can run the compiled statement as it is, value for value."""
    return (
        not (
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.literal_execute_params
            or compiled.escaped_bind_names
            or any(not bind.expanding for bind in compiled.post_compile_params)
        )
        and all(
            bind.callable is None  # a value computed at each execution
            and not (bind.expanding and isinstance(bind.type, TupleType))  # (a, b) IN (...)
            and (not bind.expanding or _is_list(params.get(name, bind.value)))
            for name, bind in compiled.binds.items()
        )
        and not _has_entities(statement)
    )


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _has_entities(statement: ClauseElement) -> bool:
    """Whether the statement selects ORM entities, whose columns only the ORM can map."""
    if not isinstance(statement, Select):
        return False
    return any(isinstance(d["type"], type) for d in statement.column_descriptions)


def _result_processors(
    plan: _Plan, dialect: Dialect, description: Sequence[Any]
) -> tuple[_Processor | None, ...]:
    codes = tuple(column[1] for column in description)  # what the driver says each column is
    processors = plan.results.get(codes)
    if processors is None:
        processors = tuple(
            type_.result_processor(dialect, code)
            for type_, code in zip(plan.types, codes, strict=True)
        )
        plan.results[codes] = processors
    return processors


def _translated(
    connection: Connection, cursor: Any, sql: str, values: Any, exc: Exception
) -> BaseException:
    """Return SQLAlchemy's exception for the driver's, invalidating a connection that is gone."""
    dialect = connection.dialect
    # `exc` is the driver's own Error (see `run`); the stubs name only the PEP 249 protocol.
    lost = dialect.is_disconnect(
        cast("DBAPIModule.Error", exc), connection.connection.dbapi_connection, cursor
    )
    if lost:
        # The server went away for every pooled connection, not only this one: start afresh.
        connection.invalidate(exc)
        connection.engine.dispose()  # closes the idle ones: the next checkout connects afresh
    return DBAPIError.instance(
        sql,
        values,
        exc,
        dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        connection_invalidated=lost,
        dialect=dialect,
    )
