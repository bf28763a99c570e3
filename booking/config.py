"""Configuration from the environment; no secret has a default outside debug and tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from limits import parse_many

TRUE = {"1", "true", "yes", "on"}


def database_url(raw: str | None, instance_path: str) -> str:
    """Return the SQLAlchemy URL for `raw`, defaulting to a SQLite file in the instance folder."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'booking.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw.removeprefix(prefix)
    return raw


def flag(raw: str | None, default: bool) -> bool:
    return default if raw is None or raw == "" else raw.lower() in TRUE


def from_environment(instance_path: str, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Return the settings read from `env`."""
    debug = env.get("FLASK_DEBUG", "").lower() in TRUE
    settings = {
        "SECRET_KEY": env.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL"), instance_path),
        "DEBUG": debug,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 64 * 1024)),
        # hide_parameters: a failed statement's values (patient details) never reach the logs.
        # Idle pooled connections are checked before use: see booking.database.IDLE_BEFORE_PING.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # Cookies: never readable by scripts, never sent cross-site on a POST, and only over
        # HTTPS unless SESSION_COOKIE_SECURE=false (the local run command sets that).
        "SESSION_COOKIE_SECURE": flag(env.get("SESSION_COOKIE_SECURE"), default=not debug),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Asset URLs carry a digest of their content (templating.asset), so browsers may keep
        # them a year: after the first visit, each page is a single request.
        "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,
        # A patient in pain may leave a form open for a while before sending it.
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        # Rate limits on the POSTs that book or change appointments, per client address.
        # Several app processes must share one store: RATELIMIT_STORAGE_URI=redis://...
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "BOOKING_RATE_LIMIT": env.get("BOOKING_RATE_LIMIT", "10 per minute; 50 per hour"),
        # How many reverse proxies (load balancer, nginx) stand in front of the app. Their
        # X-Forwarded-For/-Proto/-Host headers are then believed: rate limits count patients,
        # not the proxy, and links in pages and calendars are https.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", 0)),
        # Where patients reach this site, for the links in emails and calendars. Never taken
        # from a request's Host header, which a client chooses.
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000" if debug else "").rstrip("/"),
        # Outgoing mail, with Flask-Mail's names. Without MAIL_SERVER, messages are written as
        # .eml files under instance/mail/ (MAIL_FILE_DIR) instead of being sent.
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT") or 0),  # 0: 465 with SSL, 587 with TLS, else 25
        "MAIL_USE_TLS": flag(env.get("MAIL_USE_TLS"), default=False),
        "MAIL_USE_SSL": flag(env.get("MAIL_USE_SSL"), default=False),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", ""),  # else the clinic's email
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT") or 20),
        "MAIL_FILE_DIR": env.get("MAIL_FILE_DIR") or str(Path(instance_path) / "mail"),
        # Staff sessions end after this long without a request, and at the latest after
        # STAFF_SESSION_MAX_HOURS however busy (a shared front-desk computer).
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=int(env.get("STAFF_IDLE_MINUTES") or 120)),
        "STAFF_SESSION_MAX_HOURS": int(env.get("STAFF_SESSION_MAX_HOURS") or 12),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "5 per minute; 30 per hour"),
    }
    if attempts := env.get("OUTBOX_MAX_ATTEMPTS"):  # else the worker's outbox.MAX_ATTEMPTS
        settings["OUTBOX_MAX_ATTEMPTS"] = int(attempts)
    return settings


def check(config: Mapping[str, Any]) -> None:
    """Refuse to start with settings that are unsafe in production."""
    relaxed = config.get("DEBUG") or config.get("TESTING")
    if not config.get("SECRET_KEY") and not relaxed:
        raise RuntimeError("SECRET_KEY must be set in the environment outside development")
    base = config.get("BASE_URL") or ""
    if not base and not relaxed:
        raise RuntimeError(
            "BASE_URL must be set outside development: the site's public address, such as "
            "https://book.example-clinic.ca, for the links in emails and calendars"
        )
    if base and not base.startswith(("http://", "https://")):
        raise RuntimeError("BASE_URL must start with https:// (or http://)")
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        raise RuntimeError("Set MAIL_USE_TLS (STARTTLS) or MAIL_USE_SSL, not both")
    for name in ("BOOKING_RATE_LIMIT", "LOGIN_RATE_LIMIT"):
        try:  # read on each request: a typo would otherwise turn every booking into a 500
            parse_many(config[name])
        except ValueError:
            raise RuntimeError(
                f"{name} must read like '10 per minute; 50 per hour', not {config[name]!r}"
            ) from None
