"""The needling spacing at the desk: the clinic's setting, a phone booking and a move too
close to the patient's other needling visit, each refused with the reason unless overridden."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select
from staffing import csrf_of, sign_in
from support import ANSWERS, MONDAY, local
from test_move import confirm_page
from test_phone_booking import details_form
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment, AuditEvent, Clinic, Service, Source, Status
from booking.services import booking
from booking.services.booking import BookingRequest
from booking.web.params import format_start

TUESDAY = MONDAY + timedelta(days=1)
WEDNESDAY = MONDAY + timedelta(days=2)
THURSDAY = MONDAY + timedelta(days=3)


def assessed(app, world) -> int:
    """Pat Ient1, on record with an assessment on Tuesday at 9:00; their patient id."""
    visit = book(app, local(TUESDAY, 9), world.maya, service="assessment", answers=dict(ANSWERS))
    with app.app_context():
        return db.session.get_one(Appointment, visit).patient_id


def test_the_spacing_is_a_clinic_setting_with_clear_errors(client, app, staff):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/settings").text
    assert "Needling visits of one patient at least this many days apart" in page
    form = dict(re.findall(r'name="([a-z_0-9]+)"[^>]*value="([^"]*)"', page))
    form["csrf_token"] = csrf_of(page)
    assert form["needling_spacing_days"] == "2"
    for bad, said in (("15", "Must be between 0 and 14."), ("-1", "Must be"), ("two", "integer")):
        refused = client.post("/staff/admin/settings", data={**form, "needling_spacing_days": bad})
        assert refused.status_code == 422 and said in refused.text, bad
    with app.app_context():
        assert db.session.get(Clinic, 1).needling_spacing_days == 2
    saved = client.post(
        "/staff/admin/settings",
        data={**form, "needling_spacing_days": "0", "reassess_after_weeks": "12"},
    )
    assert saved.status_code == 302
    with app.app_context():
        clinic = db.session.get(Clinic, 1)
        assert (clinic.needling_spacing_days, clinic.reassess_after_weeks) == (0, 12)


def test_a_phone_booking_too_close_is_refused_with_spaced_times_then_overridden(
    client, app, staff, world
):
    patient = assessed(app, world)
    sign_in(client, staff.reception)
    link = (
        f"/staff/book/details?service=follow-up&therapist={world.maya}"
        f"&start={format_start(local(WEDNESDAY, 9))}&patient={patient}"
    )
    page, data = details_form(client, link)
    assert "closer to the patient&#39;s other one" in page.text  # the override is offered
    refused = client.post(link, data=data)
    assert refused.status_code == 422
    assert "at least 2 days apart" in refused.text and "Tuesday, March 2" in refused.text
    nearest = re.findall(r'id="nearest">(.*?)</ul>', refused.text, re.S)[0]
    starts = [unescape(s) for s in re.findall(r"start=([^&\"]+)", nearest)]
    assert starts and format_start(local(THURSDAY, 9)) in starts
    assert format_start(local(WEDNESDAY, 10)) not in starts
    with app.app_context():
        assert len(db.session.scalars(select(Appointment.id)).all()) == 1
    without_reason = client.post(link, data={**data, "skip_spacing": "y"})
    assert without_reason.status_code == 422 and "Say why" in without_reason.text
    booked = client.post(
        link, data={**data, "skip_spacing": "y", "override_reason": "Travels on Thursday"}
    )
    assert booked.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.after["needling_spacing"] is True
    assert event.after["reason"] == "Travels on Thursday"


def test_a_move_one_day_closer_warns_and_needs_a_reason(client, app, staff, world):
    patient = assessed(app, world)
    with app.app_context():
        visit = booking.book(
            BookingRequest("follow-up", local(THURSDAY, 9), person_id=patient,
                           source=Source.STAFF, therapist_id=world.maya),
            now=app.config["CLOCK"](),
        ).appointment.id  # fmt: skip
    sign_in(client, staff.reception)
    target = {
        "action": f"/staff/appointments/{visit}/move/confirm",
        "sequence": "0",
        "therapist": str(world.maya),
        "start": format_start(local(WEDNESDAY, 9)),
    }
    action, data, page = confirm_page(client, target)
    assert 'id="too-soon"' in page and "Tuesday, March 2" in page
    data.pop("skip_spacing")  # the checkbox, left unticked
    refused = client.post(action, data=data)
    assert refused.status_code == 302
    flashed = client.get(refused.headers["Location"]).text
    assert "at least 2 days apart" in flashed
    with app.app_context():
        assert db.session.get_one(Appointment, visit).start_at == local(THURSDAY, 9)
    moved = client.post(
        action, data={**data, "skip_spacing": "y", "override_reason": "Only day they can come"}
    )
    assert moved.status_code == 302
    with app.app_context():
        assert db.session.get_one(Appointment, visit).start_at == local(WEDNESDAY, 9)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.entity_id == visit
    assert event.after == {"needling_spacing": True, "reason": "Only day they can come"}


def test_a_follow_up_due_a_re_assessment_needs_a_reason_at_the_desk(client, app, staff, world):
    patient = assessed(app, world)
    with app.app_context():
        db.session.add(Service(slug="reassessment", name="IMS re-assessment",
                               duration_minutes=45, requires_ims=True, reassessment=True,
                               prerequisite_id=world.services["assessment"].id))  # fmt: skip
        db.session.scalars(select(Appointment)).one().status = Status.COMPLETED.value
        db.session.commit()
    sign_in(client, staff.reception)
    later = local(TUESDAY + timedelta(weeks=9), 9)
    link = (
        f"/staff/book/details?service=follow-up&therapist={world.maya}"
        f"&start={format_start(later)}&patient={patient}"
    )
    page, data = details_form(client, link)
    assert "although a re-assessment is due" in page.text
    refused = client.post(link, data=data)
    assert refused.status_code == 422
    assert "the next visit is a re-assessment (IMS re-assessment)" in refused.text
    booked = client.post(
        link, data={**data, "skip_reassessment": "y", "override_reason": "Re-assessed by phone"}
    )
    assert booked.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rule_overridden"))
    assert event.after["reassessment"] is True


def test_an_admin_marks_the_re_assessment_service(client, app, staff, world):
    sign_in(client, staff.admin)
    page = client.get("/staff/admin/services/new").text
    assert 'name="reassessment"' in page
    data = {"csrf_token": csrf_of(page), "name": "IMS re-assessment", "slug": "reassessment",
            "duration_minutes": "45", "buffer_minutes": "10", "requires_ims": "y",
            "prerequisite": str(world.services["assessment"].id), "active": "y",
            "reassessment": "y"}  # fmt: skip
    assert client.post("/staff/admin/services/new", data=data).status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(Service).where(Service.slug == "reassessment"))
        assert saved.reassessment and saved.prerequisite_id == world.services["assessment"].id
