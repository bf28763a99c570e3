"""Configuration comes from the environment, and production refuses to start without a secret."""

from __future__ import annotations

from datetime import timedelta

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


def test_passwords_are_hashed_with_werkzeugs_default_outside_the_tests():
    assert from_environment("/i", {})["PASSWORD_HASH_METHOD"] == "scrypt"


PRODUCTION = {"SECRET_KEY": "s", "BASE_URL": "https://clinic.test"}


@pytest.mark.parametrize(
    "method",
    ["scrypt:256:8:1", "scrypt:16384:8:1", "scrypt:32768:1:1", "scrypt:32768:8:0",
     "pbkdf2:sha256:1", "pbkdf2:sha256:100000", "pbkdf2:md5", "scrypt:x:8:1", "scrypt:32768",
     "sha256", ""],
)  # fmt: skip
def test_cheap_password_hashing_is_refused_outside_the_tests(method):
    with pytest.raises(RuntimeError, match=r"PASSWORD_HASH_METHOD .* is weaker than 'scrypt'"):
        create_app({**PRODUCTION, "PASSWORD_HASH_METHOD": method})
    assert create_app({**PRODUCTION, "PASSWORD_HASH_METHOD": method, "TESTING": True}).testing


@pytest.mark.parametrize(
    "method", ["scrypt", "scrypt:32768:8:1", "scrypt:131072:8:1", "pbkdf2", "pbkdf2:sha512:600000"]
)
def test_password_hashing_as_strong_as_the_default_is_accepted(method):
    assert (
        create_app({**PRODUCTION, "PASSWORD_HASH_METHOD": method}).config["PASSWORD_HASH_METHOD"]
        == method
    )


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


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("SESSION_COOKIE_SECURE", "ture"),
        ("SESSION_COOKIE_SECURE", "secure"),
        ("MAIL_USE_TLS", "tls"),
        ("MAIL_USE_TLS", "ye"),
        ("MAIL_USE_SSL", "2"),
        ("FLASK_DEBUG", "debug"),
        ("MAX_CONTENT_LENGTH", "64k"),
        ("MAX_CONTENT_LENGTH", "0"),
        ("MAIL_PORT", "-25"),
        ("MAIL_PORT", "70000"),
        ("MAIL_PORT", "smtp"),
        ("MAIL_TIMEOUT", "-1"),
        ("MAIL_TIMEOUT", "0"),
        ("MAIL_TIMEOUT", "nan"),
        ("MAIL_TIMEOUT", "20s"),
        ("TRUSTED_PROXIES", "-1"),
        ("TRUSTED_PROXIES", "one"),
        ("TRUSTED_PROXIES", "1.5"),
        ("STAFF_IDLE_MINUTES", "0"),
        ("STAFF_IDLE_MINUTES", "2h"),
        ("STAFF_SESSION_MAX_HOURS", "-12"),
        ("OUTBOX_MAX_ATTEMPTS", "0"),
        ("OUTBOX_MAX_ATTEMPTS", "many"),
        ("BASE_URL", "book.clinic.ca"),
        ("BASE_URL", "https//book.clinic.ca"),
        ("BASE_URL", "ftp://book.clinic.ca"),
        ("DATABASE_URL", "postgres//u:pw@h/db"),
        ("DATABASE_URL", "postgresql://u:pw@h:port/db"),
        ("DATABASE_URL", "mysql://u:pw@h/db"),
        ("RATELIMIT_STORAGE_URI", "memory"),
        ("RATELIMIT_STORAGE_URI", "memroy://"),
    ],
)
def test_a_setting_that_cannot_be_read_stops_the_start(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(RuntimeError, match=f"cannot be read:\n  {name}: ") as refused:
        create_app({"TESTING": True})
    assert "pw" not in str(refused.value)  # a database URL's password is never repeated


def test_every_setting_that_cannot_be_read_is_named_at_once():
    env = {"MAIL_USE_TLS": "ture", "MAIL_PORT": "-1", "BASE_URL": "clinic"}
    with pytest.raises(RuntimeError) as refused:
        from_environment("/i", env)
    for name in env:
        assert f"\n  {name}: " in str(refused.value)


@pytest.mark.parametrize(
    ("name", "raw", "setting", "value"),
    [
        ("SESSION_COOKIE_SECURE", "False", "SESSION_COOKIE_SECURE", False),
        ("SESSION_COOKIE_SECURE", "0", "SESSION_COOKIE_SECURE", False),
        ("SESSION_COOKIE_SECURE", "", "SESSION_COOKIE_SECURE", True),  # empty: the default
        ("MAIL_USE_TLS", "yes", "MAIL_USE_TLS", True),
        ("MAIL_USE_TLS", "", "MAIL_USE_TLS", False),
        ("FLASK_DEBUG", "1", "DEBUG", True),
        ("FLASK_DEBUG", "", "DEBUG", False),
        ("MAIL_PORT", "587", "MAIL_PORT", 587),
        ("MAIL_PORT", "", "MAIL_PORT", 0),  # 0: chosen from MAIL_USE_SSL / MAIL_USE_TLS
        ("MAIL_TIMEOUT", "2.5", "MAIL_TIMEOUT", 2.5),
        ("MAIL_TIMEOUT", "", "MAIL_TIMEOUT", 20),
        ("MAX_CONTENT_LENGTH", "1048576", "MAX_CONTENT_LENGTH", 1048576),
        ("TRUSTED_PROXIES", "0", "TRUSTED_PROXIES", 0),
        ("TRUSTED_PROXIES", "2", "TRUSTED_PROXIES", 2),
        ("STAFF_IDLE_MINUTES", "30", "PERMANENT_SESSION_LIFETIME", timedelta(minutes=30)),
        ("STAFF_IDLE_MINUTES", "", "PERMANENT_SESSION_LIFETIME", timedelta(hours=2)),
        ("STAFF_SESSION_MAX_HOURS", "8", "STAFF_SESSION_MAX_HOURS", 8),
        ("OUTBOX_MAX_ATTEMPTS", "5", "OUTBOX_MAX_ATTEMPTS", 5),
        ("BASE_URL", "https://book.clinic.ca/", "BASE_URL", "https://book.clinic.ca"),
        ("BASE_URL", "http://booking:8000", "BASE_URL", "http://booking:8000"),
        ("DATABASE_URL", "", "SQLALCHEMY_DATABASE_URI", "sqlite:////i/booking.sqlite3"),
        ("RATELIMIT_STORAGE_URI", "redis://cache:6379/0", "RATELIMIT_STORAGE_URI", None),
        ("RATELIMIT_STORAGE_URI", "", "RATELIMIT_STORAGE_URI", "memory://"),
    ],
)
def test_settings_that_read(name, raw, setting, value):
    settings = from_environment("/i", {name: raw})
    assert settings[setting] == (raw if value is None else value)


def test_an_unset_outbox_limit_leaves_the_workers_own():
    assert "OUTBOX_MAX_ATTEMPTS" not in from_environment("/i", {"OUTBOX_MAX_ATTEMPTS": ""})
