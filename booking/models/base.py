"""Declarative base, constraint naming convention and the one column type for instants."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, SQLColumnExpression, Table, and_
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware UTC in Python, `timestamptz` on PostgreSQL, fixed-width text on SQLite.

    Naive datetimes are refused at the boundary, so a wall-clock time can never be stored
    by mistake. SQLite keeps SQLAlchemy's fixed-width ISO text, which sorts and compares
    correctly as text; the SQLite overlap triggers rely on that.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime refused: store aware instants only")
        instant = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return instant.replace(tzinfo=None)
        return instant

    # DateTime's own result processing (the driver's, or SQLite's text parser) runs first.
    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values: type[enum.StrEnum]) -> str:
    """A CHECK constraint's text: `column` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def utcnow() -> datetime:
    """Return the current instant, aware UTC (for column defaults only)."""
    return datetime.now(UTC)


def overlaps_sql(
    start_col: SQLColumnExpression[datetime],
    end_col: SQLColumnExpression[datetime],
    start: SQLColumnExpression[datetime] | datetime,
    end: SQLColumnExpression[datetime] | datetime,
) -> ColumnElement[bool]:
    """SQL twin of `booking.availability.intervals.overlaps` (half-open)."""
    return and_(start_col < end, end_col > start)


class Base(DeclarativeBase):
    # Every model maps one table (DeclarativeBase allows any FromClause, e.g. a join).
    __table__: ClassVar[Table]

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )
