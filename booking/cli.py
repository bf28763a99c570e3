"""`flask` commands; each one calls a service."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from booking import clock, demo
from booking.services import clinic as clinic_service
from booking.services.errors import BookingError

clinic_cli = AppGroup("clinic", help="Show or change the clinic's settings.")


@clinic_cli.command("show")
def clinic_show() -> None:
    """Print every clinic setting."""
    try:
        settings = clinic_service.settings()
    except BookingError as exc:
        raise click.ClickException(exc.message) from None
    for name, value in settings.items():
        click.echo(f"{name} = {value}")


@clinic_cli.command("set")
@click.argument("name")
@click.argument("value")
def clinic_set(name: str, value: str) -> None:
    """Change one clinic setting, e.g. `clinic set booking_horizon_days 60`."""
    try:
        stored = clinic_service.change_setting(name, value, actor="cli")
    except BookingError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.details.get("fields", {}).items())
        raise click.ClickException(details or exc.message) from None
    click.echo(f"{name} = {stored}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo clinic if the database has no clinic yet."""
    if demo.is_seeded():
        click.echo("A clinic exists already; nothing to do.")
        return
    booked = demo.seed(clock.now())
    click.echo(f"Demo clinic created with {booked} appointments.")


def register(app: Flask) -> None:
    app.cli.add_command(clinic_cli)
    app.cli.add_command(seed_demo)
