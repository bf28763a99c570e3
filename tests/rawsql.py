"""Raw database access that bypasses the app and SQLAlchemy, to test the database itself."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import psycopg
from sqlalchemy.engine import make_url

INTEGRITY = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)

T9 = datetime(2027, 3, 2, 17, 0, tzinfo=UTC)  # 09:00 in Vancouver


def raw_connection(url: str):
    """Open a DB-API connection that bypasses the app and SQLAlchemy entirely."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite3.connect(parsed.database, isolation_level=None, timeout=30)
    return psycopg.connect(
        parsed.set(drivername="postgresql").render_as_string(False), autocommit=True
    )


def stamp(url: str, instant: datetime) -> str:
    """Render an instant the way each database stores it."""
    if url.startswith("sqlite"):
        return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return instant.isoformat()
