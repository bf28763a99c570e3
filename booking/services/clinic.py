"""Reading and changing the clinic's settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError

from booking.database import write_transaction
from booking.dates import known_locale
from booking.extensions import db
from booking.models import AuditEvent, Clinic
from booking.services import outbox
from booking.services.errors import InvalidRequest, NotFound
from booking.services.validation import mail_address, name_problem

log = logging.getLogger(__name__)


def get_clinic() -> Clinic:
    """Return the clinic's settings row."""
    clinic = db.session.get(Clinic, 1)
    if clinic is None:
        raise NotFound("The clinic is not set up yet: run `flask --app wsgi seed-demo`.")
    return clinic


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a time zone name such as America/Vancouver") from exc
    return value


def _address(value: str) -> str:
    """The clinic's email: patients write to it, and it is the invites' organizer."""
    if not value.strip():
        return ""
    try:
        return mail_address(value)
    except EmailNotValidError:
        raise ValueError("must be an email address like appointments@clinic.ca") from None


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not (value.isascii() and value.strip().isdigit()):
            raise ValueError("must be a whole number")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse


def _name(value: str) -> str:
    """The clinic's name: the invites' organizer and the From of every email."""
    value = _text(120)(value)
    if problem := name_problem(value):
        raise ValueError(problem.removeprefix("Please ").rstrip("."))
    return value


def _text(limit: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value.strip()

    return parse


def _yes_no(value: str) -> bool:
    answer = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    parsed = answer.get(value.strip().lower())
    if parsed is None:
        raise ValueError("must be true or false")
    return parsed


SETTINGS: dict[str, Callable[[str], Any]] = {
    "name": _name,
    "address": _text(300),
    "phone": _text(40),
    "email": _address,
    "timezone": _timezone,
    "slot_step_minutes": _bounded_int(5, 240),
    "min_notice_minutes": _bounded_int(0, 60 * 24 * 60),
    "booking_horizon_days": _bounded_int(1, 730),
    "cancel_cutoff_minutes": _bounded_int(0, 60 * 24 * 60),
    "reminder_lead_minutes": _bounded_int(0, 60 * 24 * 7),
    "change_grace_minutes": _bounded_int(0, 24 * 60),
    # The ranges of the clinic table's checks (migration 0012).
    "needling_spacing_days": _bounded_int(0, 14),
    "reassess_after_sessions": _bounded_int(0, 50),
    "reassess_after_weeks": _bounded_int(0, 104),
    "locale": known_locale,
    "clock_24h": _yes_no,
}


def settings() -> dict[str, Any]:
    """Return every setting by name."""
    clinic = get_clinic()
    return {name: getattr(clinic, name) for name in SETTINGS}


def change_setting(
    name: str, raw: str, *, actor: str, now: datetime, short_reminder_ok: bool = False
) -> Any:
    """Set one clinic setting from its text form, audited; return the stored value."""
    change_settings({name: raw}, actor=actor, now=now, short_reminder_ok=short_reminder_ok)
    return getattr(get_clinic(), name)


def local_day_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the instants at which local `first_day` starts and local `last_day` ends."""
    start = datetime.combine(first_day, time(), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone)
    return start, end


def change_settings(
    changes: dict[str, str], *, actor: str, now: datetime, short_reminder_ok: bool = False
) -> None:
    """Set several settings at once (all or none), each checked and audited.

    A reminder lead not longer than the cut-off is refused unless `short_reminder_ok`: such a
    reminder goes out when online changes have closed, so it can only give the phone number.
    """
    parsed, errors = {}, {}
    for name, raw in changes.items():
        parse = SETTINGS.get(name)
        if parse is None:
            errors[name] = f"unknown setting; choose one of {', '.join(SETTINGS)}"
            continue
        try:
            parsed[name] = parse(raw)
        except ValueError as exc:
            errors[name] = str(exc).capitalize() + "."
    if errors:
        raise InvalidRequest(errors)
    if not parsed:
        return
    with write_transaction() as session:
        clinic = get_clinic()
        if not short_reminder_ok:
            _require_reminder_before_cutoff(clinic, parsed)
        before = {name: getattr(clinic, name) for name in parsed}
        for name, value in parsed.items():
            setattr(clinic, name, value)
        if "reminder_lead_minutes" in parsed:
            outbox.move_reminders(clinic.reminder_lead, now)
        session.add(
            AuditEvent(
                at=now,
                actor=actor,
                action="setting_changed",
                entity="clinic",
                entity_id=clinic.id,
                before=before,
                after=parsed,
            )
        )
    log.info("clinic settings %s changed", ", ".join(sorted(parsed)))


def reminder_too_short(lead_minutes: int, cutoff_minutes: int) -> bool:
    """Return whether reminders would go out once online changes have closed."""
    return 0 < lead_minutes <= cutoff_minutes


def _require_reminder_before_cutoff(clinic: Clinic, parsed: dict[str, Any]) -> None:
    if not {"reminder_lead_minutes", "cancel_cutoff_minutes"} & parsed.keys():
        return  # a clinic set up that way on purpose is not asked again for each change
    lead = parsed.get("reminder_lead_minutes", clinic.reminder_lead_minutes)
    cutoff = parsed.get("cancel_cutoff_minutes", clinic.cancel_cutoff_minutes)
    if reminder_too_short(lead, cutoff):
        raise InvalidRequest(
            {
                "reminder_lead_minutes": (
                    f"Online changes close {cutoff} minutes before a visit, so a reminder "
                    f"{lead} minutes before could only give the phone number. Make it longer "
                    "than the cut-off, or confirm that this is what you want."
                )
            }
        )
