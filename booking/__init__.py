"""booking: online booking for physiotherapy clinics that offer IMS."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from booking import config as settings
from booking import logs

ROOT = Path(__file__).resolve().parent.parent


class _InOrderJSON(DefaultJSONProvider):
    sort_keys = False  # keep fields in the order the API documents them


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, then extensions, blueprints, error handlers, commands."""
    logs.install()  # before anything can log: no traceback quotes the database's words
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(settings.from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    settings.check(app.config)
    app.json = _InOrderJSON(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_web(app)
    return app


def register_extensions(app: Flask) -> None:
    from booking import (
        database,  # noqa: F401  (installs the SQLite engine hooks)
        ratelimit,
    )
    from booking.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True
    )
    csrf.init_app(app)
    ratelimit.init_app(app)
    login_manager.init_app(app)


def register_blueprints(app: Flask) -> None:
    from booking.api import bp as api
    from booking.extensions import csrf
    from booking.feeds import bp as feeds
    from booking.manage import bp as manage
    from booking.public import bp as public
    from booking.security import BoundedInt
    from booking.staff import bp as staff

    app.url_map.converters["int"] = BoundedInt  # before any route is added
    app.register_blueprint(public)
    app.register_blueprint(manage, url_prefix="/manage")
    app.register_blueprint(feeds, url_prefix="/calendar")
    app.register_blueprint(staff, url_prefix="/staff")
    csrf.exempt(api)  # JSON API: no cookies authorize it, a manage token does
    app.register_blueprint(api, url_prefix="/api/v1")


def register_errorhandlers(app: Flask) -> None:
    from booking.errors import register

    register(app)


def register_web(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from booking import security, templating

    if proxies := app.config.get("TRUSTED_PROXIES"):
        # Flask's documented way to wrap the WSGI app in middleware; its types see a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    security.register(app)
    templating.register(app)


def register_commands(app: Flask) -> None:
    from booking.cli import register

    register(app)
