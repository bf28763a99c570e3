"""A booked course's email, through a real SMTP server: each visit's own invite, then one
summary listing every visit with its own link."""

from __future__ import annotations

import re
from datetime import timedelta

from inbox import deliver
from support import ANSWERS, MONDAY, NOW, details, local

from booking.services import booking
from booking.services import catalog as catalogs
from booking.services.booking import BookingRequest
from booking.services.courses.book import Pick, book_course
from booking.services.courses.plan import Plan, propose

TUESDAY = MONDAY + timedelta(days=1)
LINK = re.compile(r"https://clinic\.test/manage/([A-Za-z0-9_\-]+)")


def test_each_visit_gets_its_invite_and_the_patient_one_summary(clinic, mail_app, smtp):
    with mail_app.app_context():
        first = booking.book(
            BookingRequest("assessment", local(TUESDAY, 9), details(1, name="Ann Gill"),
                           therapist_id=clinic.maya, screening=dict(ANSWERS)),
            now=NOW,
        )  # fmt: skip
        plan = Plan(first.appointment.patient_id, "follow-up", clinic.maya,
                    TUESDAY + timedelta(days=7), sessions=4)  # fmt: skip
        proposal = propose(catalogs.current(), plan, now=NOW)
        booked = book_course(
            plan, [Pick(v.number, v.start, v.therapist_id) for v in proposal.visits],
            now=NOW, actor="staff:1",
        )  # fmt: skip
    deliver(mail_app)
    to_ann = [m for m in smtp.inbox if m.to == "patient1@example.com"]
    invites = [m for m in to_ann if m.message["Subject"].startswith("Booked: IMS follow-up")]
    assert len(invites) == 4
    uids = {m.event()["UID"] for m in invites}
    assert uids == {b.appointment.calendar_uid for b in booked.visits}  # one event per visit
    [summary] = [m for m in to_ann if m.message["Subject"].startswith("Your course: 4 visits")]
    assert summary.calendar_part() is None  # the invites carry the calendar, not the summary
    text, html = summary.text(), summary.html()
    assert text.count("Reschedule or cancel:") == 4
    assert set(LINK.findall(text)) == {b.manage_token for b in booked.visits}
    assert set(LINK.findall(html)) == {b.manage_token for b in booked.visits}
    # The therapist gets each visit's invite, and no summary.
    to_maya = [m for m in smtp.inbox if m.to == "maya@clinic.example"]
    assert not [m for m in to_maya if "course" in m.message["Subject"].lower()]
