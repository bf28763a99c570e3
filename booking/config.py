"""Configuration from the environment; no secret has a default outside debug and tests.

Every boolean, number and URL is parsed strictly, by environs (marshmallow's fields): a value
that cannot be read stops the start-up with an error naming each such variable, instead of
quietly becoming something else (`SESSION_COOKIE_SECURE=ture` used to turn the secure cookie
off). An empty value means the default, as an unset one does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from environs import Env, EnvValidationError, ValidationError, validate
from limits import parse_many

# What storage_from_string knows; limits leaves it out of its __all__, and has no public twin.
from limits.storage import SCHEMES as RATELIMIT_SCHEMES  # type: ignore[attr-defined]
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS

T = TypeVar("T")
V = TypeVar("V")
Validator = Callable[[Any], Any]

POSITIVE = validate.Range(min=1)
NOT_NEGATIVE = validate.Range(min=0)
PORT = validate.Range(min=1, max=65535)
SECONDS = validate.Range(min=0, min_inclusive=False)
WEB_ADDRESS = validate.URL(
    schemes={"http", "https"},
    require_tld=False,
    error="Not a web address such as https://book.example-clinic.ca.",
)


class _Source(Env):
    """environs' parsers over the mapping given, where an empty value counts as unset."""

    def __init__(self, source: Mapping[str, str]) -> None:
        super().__init__(eager=True)
        self._source = source

    def _get_value(self, env_key: str, default: Any) -> Any:
        # environs' hook for where values come from (its own FileAwareEnv overrides it too).
        value = self._source.get(env_key)
        return default if value is None or value == "" else value


class Reader:
    """Typed, strict reads of settings; `done` then names every one that could not be read."""

    def __init__(self, source: Mapping[str, str]) -> None:
        self._env = _Source(source)
        self._errors: dict[str, str] = {}

    def boolean(self, name: str, default: bool) -> bool:
        invalid = "Not a valid boolean: use true or false (or 1 or 0)."
        return self._read(
            name,
            default,
            # environs hands other keywords on to marshmallow's field; its types list `validate`.
            lambda: self._env.bool(name, None, error_messages={"invalid": invalid}),  # type: ignore[call-overload]
        )

    def integer(self, name: str, default: T, *, validate: Validator) -> int | T:
        return self._read(name, default, lambda: self._env.int(name, None, validate=validate))

    def real(self, name: str, default: float, *, validate: Validator) -> float:
        return self._read(name, default, lambda: self._env.float(name, None, validate=validate))

    def string(self, name: str, default: T, *, validate: Validator | None = None) -> str | T:
        return self._read(name, default, lambda: self._env.str(name, None, validate=validate))

    def _read(self, name: str, default: T, parse: Callable[[], V | None]) -> V | T:
        """Return what `parse` reads (it answers None when unset), else `default`."""
        try:
            value = parse()
        except EnvValidationError as exc:
            # The default stands in until `done`, so later settings can still be worked out.
            self._errors[name] = " ".join(map(str, exc.error_messages))
            return default
        return default if value is None else value

    def done(self) -> None:
        """Refuse to go on if any setting could not be read, naming each."""
        if self._errors:
            lines = "".join(f"\n  {name}: {error}" for name, error in self._errors.items())
            raise RuntimeError(f"Settings in the environment that cannot be read:{lines}")


def database_url(raw: str | None, instance_path: str) -> str:
    """Return the SQLAlchemy URL for `raw`, defaulting to a SQLite file in the instance folder."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'booking.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw.removeprefix(prefix)
    return raw


def sqlalchemy_url(raw: str) -> None:
    """Refuse a DATABASE_URL that SQLAlchemy cannot read or that names another database."""
    try:
        url = make_url(database_url(raw, ""))
    except (ArgumentError, ValueError):  # their words quote the URL, password and all
        raise ValidationError("Not a URL such as postgresql://user@host/booking.") from None
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ValidationError("Use a postgresql:// or sqlite:// URL.")


def storage_uri(raw: str) -> None:
    """Refuse a RATELIMIT_STORAGE_URI that names no store the `limits` package knows."""
    if "://" not in raw or urlsplit(raw).scheme not in RATELIMIT_SCHEMES:
        raise ValidationError("Not a store such as memory:// or redis://host:6379.")


# Werkzeug's default: scrypt with n=2**15, r=8, p=1. Hashes record their own method, so a
# password hashed with other parameters still verifies.
DEFAULT_PASSWORD_HASH = "scrypt"
MIN_SCRYPT_N, MIN_SCRYPT_R = 2**15, 8
MIN_PBKDF2_ITERATIONS = 600_000  # OWASP's advice for PBKDF2-HMAC-SHA256


def weak_password_hash(method: str) -> bool:
    """Return whether a Werkzeug hash method is cheaper than these minimums, or unknown."""
    name, *args = method.split(":")
    try:
        if name == "scrypt" and len(args) in (0, 3):
            n, r, p = map(int, args) if args else (MIN_SCRYPT_N, MIN_SCRYPT_R, 1)
            return n < MIN_SCRYPT_N or r < MIN_SCRYPT_R or p < 1
        if name == "pbkdf2" and len(args) <= 2:
            digest = args[0] if args else "sha256"
            rounds = int(args[1]) if len(args) == 2 else DEFAULT_PBKDF2_ITERATIONS
            return digest not in ("sha256", "sha512") or rounds < MIN_PBKDF2_ITERATIONS
    except ValueError:
        pass
    return True


def from_environment(instance_path: str, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Return the settings read from `env`, or raise RuntimeError naming those it cannot read."""
    read = Reader(env)
    debug = read.boolean("FLASK_DEBUG", False)
    settings = {
        "SECRET_KEY": read.string("SECRET_KEY", None),
        "SQLALCHEMY_DATABASE_URI": database_url(
            read.string("DATABASE_URL", None, validate=sqlalchemy_url), instance_path
        ),
        "DEBUG": debug,
        "MAX_CONTENT_LENGTH": read.integer("MAX_CONTENT_LENGTH", 64 * 1024, validate=POSITIVE),
        # hide_parameters: a failed statement's values (patient details) never reach the logs.
        # Idle pooled connections are checked before use: see booking.database.IDLE_BEFORE_PING.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # Cookies: never readable by scripts, never sent cross-site on a POST, and only over
        # HTTPS unless SESSION_COOKIE_SECURE=false (the local run command sets that).
        "SESSION_COOKIE_SECURE": read.boolean("SESSION_COOKIE_SECURE", not debug),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Asset URLs carry a digest of their content (templating.asset), so browsers may keep
        # them a year: after the first visit, each page is a single request.
        "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,
        # A patient in pain may leave a form open for a while before sending it.
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        # Rate limits on the POSTs that book or change appointments, per client address.
        # Several app processes must share one store: RATELIMIT_STORAGE_URI=redis://...
        "RATELIMIT_STORAGE_URI": read.string(
            "RATELIMIT_STORAGE_URI", "memory://", validate=storage_uri
        ),
        "BOOKING_RATE_LIMIT": read.string("BOOKING_RATE_LIMIT", "10 per minute; 50 per hour"),
        # How many reverse proxies (load balancer, nginx) stand in front of the app. Their
        # X-Forwarded-For/-Proto/-Host headers are then believed: rate limits count patients,
        # not the proxy, and links in pages and calendars are https.
        "TRUSTED_PROXIES": read.integer("TRUSTED_PROXIES", 0, validate=NOT_NEGATIVE),
        # Where patients reach this site, for the links in emails and calendars. Never taken
        # from a request's Host header, which a client chooses.
        "BASE_URL": read.string(
            "BASE_URL", "http://127.0.0.1:5000" if debug else "", validate=WEB_ADDRESS
        ).rstrip("/"),
        # Outgoing mail, with Flask-Mail's names. Without MAIL_SERVER, messages are written as
        # .eml files under instance/mail/ (MAIL_FILE_DIR) instead of being sent.
        "MAIL_SERVER": read.string("MAIL_SERVER", ""),
        "MAIL_PORT": read.integer("MAIL_PORT", 0, validate=PORT),  # 0: 465 SSL, 587 TLS, else 25
        "MAIL_USE_TLS": read.boolean("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": read.boolean("MAIL_USE_SSL", False),
        "MAIL_USERNAME": read.string("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": read.string("MAIL_PASSWORD", ""),
        "MAIL_DEFAULT_SENDER": read.string("MAIL_DEFAULT_SENDER", ""),  # else the clinic's email
        "MAIL_TIMEOUT": read.real("MAIL_TIMEOUT", 20.0, validate=SECONDS),
        "MAIL_FILE_DIR": read.string("MAIL_FILE_DIR", str(Path(instance_path) / "mail")),
        # Staff sessions end after this long without a request, and at the latest after
        # STAFF_SESSION_MAX_HOURS however busy (a shared front-desk computer).
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=read.integer("STAFF_IDLE_MINUTES", 120, validate=POSITIVE)
        ),
        "STAFF_SESSION_MAX_HOURS": read.integer("STAFF_SESSION_MAX_HOURS", 12, validate=POSITIVE),
        "LOGIN_RATE_LIMIT": read.string("LOGIN_RATE_LIMIT", "5 per minute; 30 per hour"),
        # How staff passwords are hashed (Werkzeug's method string). Not read from the
        # environment: only the tests change it, to cheap parameters (see `check`).
        "PASSWORD_HASH_METHOD": DEFAULT_PASSWORD_HASH,
    }
    # Unset: the worker's outbox.MAX_ATTEMPTS.
    if attempts := read.integer("OUTBOX_MAX_ATTEMPTS", None, validate=POSITIVE):
        settings["OUTBOX_MAX_ATTEMPTS"] = attempts
    read.done()
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
    method = config.get("PASSWORD_HASH_METHOD", DEFAULT_PASSWORD_HASH)
    if not config.get("TESTING") and weak_password_hash(method):
        raise RuntimeError(
            f"PASSWORD_HASH_METHOD {method!r} is weaker than {DEFAULT_PASSWORD_HASH!r}: cheap "
            "hashing is for the tests only"
        )
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        raise RuntimeError("Set MAIL_USE_TLS (STARTTLS) or MAIL_USE_SSL, not both")
    for name in ("BOOKING_RATE_LIMIT", "LOGIN_RATE_LIMIT"):
        try:  # read on each request: a typo would otherwise turn every booking into a 500
            parse_many(config[name])
        except ValueError:
            raise RuntimeError(
                f"{name} must read like '10 per minute; 50 per hour', not {config[name]!r}"
            ) from None
