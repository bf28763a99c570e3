"""`flask` commands; each one calls a service."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from booking import clock, demo
from booking.extensions import db
from booking.links import webcal
from booking.mail import outbox
from booking.mail.delivery import Worker, run_loop
from booking.models import Delivery, OutboxMessage, Role
from booking.services import accounts, feeds
from booking.services import clinic as clinic_service
from booking.services.errors import BookingError

clinic_cli = AppGroup("clinic", help="Show or change the clinic's settings.")
outbox_cli = AppGroup("outbox", help="Send queued emails; list and retry failed ones.")
therapist_cli = AppGroup("therapist", help="Therapists' calendar feeds.")


def _refused(exc: BookingError) -> click.ClickException:
    """The refusal as the command's error, naming each field at fault."""
    details = "; ".join(f"{k}: {v}" for k, v in exc.details.get("fields", {}).items())
    return click.ClickException(details or exc.message)


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
@click.option(
    "--short-reminder-ok",
    is_flag=True,
    help="Accept a reminder lead not longer than the cut-off (such reminders give the phone).",
)
def clinic_set(name: str, value: str, short_reminder_ok: bool) -> None:
    """Change one clinic setting, e.g. `clinic set booking_horizon_days 60`."""
    try:
        stored = clinic_service.change_setting(
            name, value, actor="cli", now=clock.now(), short_reminder_ok=short_reminder_ok
        )
    except BookingError as exc:
        raise _refused(exc) from None
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


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, sending messages as they fall due.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between rounds.")
def outbox_deliver(loop: bool, interval: float) -> None:
    """Send every due message (over SMTP, or as .eml files without MAIL_SERVER)."""
    worker = Worker()
    if loop:
        click.echo(f"Delivering every {interval:g} s as {worker.name} (Ctrl-C stops).")
        report = run_loop(worker, interval=interval)
    else:
        report = worker.deliver_due()
    click.echo(str(report))


@outbox_cli.command("list")
@click.option(
    "--status",
    type=click.Choice([d.value for d in Delivery]),
    default=Delivery.FAILED.value,
    show_default=True,
)
@click.option("--limit", default=50, show_default=True)
def outbox_list(status: str, limit: int) -> None:
    """List messages by status (no addresses: see the staff pages for those)."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == status)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    for m in rows:
        click.echo(
            f"{m.id}\tappointment {m.appointment_id}\t{m.event}\t{m.recipient}\t"
            f"tries {m.attempts}\tdue {m.due_at:%Y-%m-%d %H:%M}Z\t{m.detail}"
        )
    if not rows:
        click.echo(f"No {status} messages.")


@outbox_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Retry every failed message.")
def outbox_retry(ids: tuple[int, ...], every: bool) -> None:
    """Queue failed messages again, by id (or --all)."""
    if not ids and not every:
        raise click.UsageError("Give message ids, or --all.")
    count = outbox.retry(None if every else list(ids), clock.now())
    click.echo(f"{count} message(s) queued again.")


@therapist_cli.command("feed-url")
@click.argument("therapist_id", type=int)
@click.option("--regenerate", is_flag=True, help="Make a new URL; the old one stops working.")
def therapist_feed_url(therapist_id: int, regenerate: bool) -> None:
    """Print a therapist's private calendar-feed URL (to subscribe to in a calendar app)."""
    try:
        url = feeds.feed_url(therapist_id, now=clock.now(), regenerate=regenerate, actor="cli")
    except BookingError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(url)
    click.echo(webcal(url))


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.ADMIN.value)
@click.option("--therapist", "therapist_id", type=int, help="The therapist a therapist account is.")
@click.password_option(help="Prompted for (twice) when not given.")
@with_appcontext
def create_user(email: str, name: str, role: str, therapist_id: int | None, password: str) -> None:
    """Create a staff account, e.g. the first admin."""
    try:
        user = accounts.create_user(
            email=email,
            name=name,
            password=password,
            role=Role(role),
            therapist_id=therapist_id,
            actor="cli",
            now=clock.now(),
        )
    except BookingError as exc:
        raise _refused(exc) from None
    click.echo(f"Created {user.role} account {user.email}.")


@click.command("set-password")
@click.argument("email")
@click.password_option(help="Prompted for (twice) when not given.")
@with_appcontext
def set_password(email: str, password: str) -> None:
    """Give a staff account a new password (a locked-out admin, say); signs it out everywhere."""
    try:
        user = accounts.reset_password(
            accounts.find(email).id, password, actor="cli", now=clock.now()
        )
    except BookingError as exc:
        raise _refused(exc) from None
    click.echo(f"New password set for {user.email}; its sessions are signed out.")


def register(app: Flask) -> None:
    app.cli.add_command(clinic_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(therapist_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(set_password)
