"""Configuration comes from the environment, and production refuses to start without a secret."""

from __future__ import annotations

import pytest

from booking import create_app
from booking.config import database_url, from_environment


def test_a_secret_key_is_required_outside_development(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_debug_and_tests_run_without_one(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert create_app({"TESTING": True}).testing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "sqlite:////srv/instance/booking.sqlite3"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_url(raw, expected):
    assert database_url(raw, "/srv/instance") == expected


def test_settings_are_read_from_the_environment():
    settings = from_environment("/i", {"SECRET_KEY": "s", "DATABASE_URL": "postgresql://h/d"})
    assert settings["SECRET_KEY"] == "s"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://h/d"


def test_the_site_explains_an_unconfigured_clinic(client):
    response = client.get("/")
    assert response.status_code == 404
    assert b"seed-demo" in response.data


def test_html_error_pages(client, world):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("name", ["BOOKING_RATE_LIMIT", "LOGIN_RATE_LIMIT"])
def test_a_rate_limit_that_does_not_parse_stops_the_start(monkeypatch, name):
    monkeypatch.setenv(name, "ten per minute")
    with pytest.raises(RuntimeError, match=f"{name} must read like"):
        create_app({"TESTING": True})
