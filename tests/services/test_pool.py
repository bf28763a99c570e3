"""Pooled connections: one that sat idle is checked before use; one in steady use is not."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from booking import database
from booking.extensions import db


def _backend_pid(app) -> int:
    with app.app_context():
        return db.session.scalar(text("SELECT pg_backend_pid()"))


def _count_pings(monkeypatch) -> list[int]:
    pings = []
    real = database._ping

    def counted(dbapi_connection) -> None:
        pings.append(1)
        real(dbapi_connection)

    monkeypatch.setattr(database, "_ping", counted)
    return pings


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_the_server_dropped_while_idle_is_replaced(
    app, client, world, database_url, monkeypatch
):
    assert client.get("/api/v1/services").status_code == 200
    dropped = _backend_pid(app)  # the pool's one connection
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    engine.dispose()
    pings = _count_pings(monkeypatch)
    monkeypatch.setattr(database, "IDLE_BEFORE_PING", 0.0)  # as if it sat idle for long

    response = client.get("/api/v1/services")

    assert response.status_code == 200
    assert pings  # the dead connection was found out before the request used it
    assert _backend_pid(app) != dropped


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_connection_in_steady_use_is_not_pinged(client, world, monkeypatch):
    pings = _count_pings(monkeypatch)
    for _ in range(3):
        assert client.get("/api/v1/services").status_code == 200

    assert pings == []
