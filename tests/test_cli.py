"""The `flask` commands: clinic settings and the demo clinic."""

from __future__ import annotations

from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Service, Therapist


def test_seed_demo_creates_the_clinic_once(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo clinic created" in first.output
    with app.app_context():
        therapists = db.session.scalars(select(Therapist)).all()
        assert len(therapists) == 4
        assert sum(t.ims_certified for t in therapists) == 3
        services = {s.slug: s for s in db.session.scalars(select(Service))}
        assert services["ims-initial-assessment"].duration_minutes == 60
        assert services["ims-follow-up"].prerequisite.slug == "ims-initial-assessment"
        assert services["physio-assessment"].duration_minutes == 45
        assert all(services["physio-assessment"] in t.services for t in therapists)
        booked = db.session.scalar(select(func.count()).select_from(Appointment))
        assert booked > 30
    again = runner.invoke(args=["seed-demo"])
    assert "nothing to do" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == booked


def test_clinic_show_and_set(app, runner, world):
    shown = runner.invoke(args=["clinic", "show"])
    assert "booking_horizon_days = 90" in shown.output
    assert "timezone = America/Vancouver" in shown.output
    changed = runner.invoke(args=["clinic", "set", "booking_horizon_days", "60"])
    assert changed.exit_code == 0
    assert "booking_horizon_days = 60" in runner.invoke(args=["clinic", "show"]).output
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "setting_changed"))
        assert (event.before, event.after) == (
            {"booking_horizon_days": 90},
            {"booking_horizon_days": 60},
        )


def test_clinic_set_refuses_bad_values(runner, world):
    for args, message in [
        (["booking_horizon_days", "abc"], "whole number"),
        (["booking_horizon_days", "²"], "whole number"),
        (["booking_horizon_days", "0"], "between 1 and 730"),
        (["timezone", "Mars/Olympus"], "not a time zone"),
        (["colour", "blue"], "unknown setting"),
    ]:
        result = runner.invoke(args=["clinic", "set", *args])
        assert result.exit_code != 0
        assert message in result.output
    assert "booking_horizon_days = 90" in runner.invoke(args=["clinic", "show"]).output


def test_clinic_show_before_set_up_explains(runner):
    result = runner.invoke(args=["clinic", "show"])
    assert result.exit_code != 0
    assert "seed-demo" in result.output
