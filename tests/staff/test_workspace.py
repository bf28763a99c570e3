"""The authorization matrix, cell by cell; the day and week views; an appointment's page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from staffing import csrf_of, sign_in
from support import BORN, MONDAY, local

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, Therapist
from booking.services import booking
from booking.services.booking import BookingRequest, PatientDetails

TUESDAY = MONDAY + timedelta(days=1)


def book(app, start, therapist_id, *, n=1, service="physio", answers=None):
    with app.app_context():
        return booking.book(
            BookingRequest(
                service=service,
                start=start,
                therapist_id=therapist_id,
                screening=answers,
                patient=PatientDetails(
                    f"Pat Ient{n}", f"patient{n}@example.com", "604-555-0199", date_of_birth=BORN
                ),
            ),
            now=app.config["CLOCK"](),
        ).appointment.id


@pytest.fixture
def visits(app, world, staff):
    """One visit with each therapist on Tuesday."""
    world.maya_visit = book(app, local(TUESDAY, 9), world.maya, n=1)
    world.daniel_visit = book(app, local(TUESDAY, 10), world.daniel, n=2)
    return world


def pages(world) -> dict[str, str]:
    return {
        "day": f"/staff/day?date={TUESDAY}",
        "own week": f"/staff/therapists/{world.maya}/week?date={TUESDAY}",
        "colleague's week": f"/staff/therapists/{world.daniel}/week?date={TUESDAY}",
        "own visit": f"/staff/appointments/{world.maya_visit}",
        "colleague's visit": f"/staff/appointments/{world.daniel_visit}",
        "cancel page": f"/staff/appointments/{world.maya_visit}/cancel",
    }


# role -> page -> expected status; "maya" is a therapist account linked to Maya.
MATRIX = {
    "admin": {"day": 200, "own week": 200, "colleague's week": 200, "own visit": 200,
              "colleague's visit": 200, "cancel page": 200},
    "reception": {"day": 200, "own week": 200, "colleague's week": 200, "own visit": 200,
                  "colleague's visit": 200, "cancel page": 200},
    "maya": {"day": 200, "own week": 200, "colleague's week": 403, "own visit": 200,
             "colleague's visit": 403, "cancel page": 403},
}  # fmt: skip


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_authorization_matrix_for_pages(app, client, visits, staff, role):
    sign_in(client, getattr(staff, role))
    for page, url in pages(visits).items():
        assert client.get(url).status_code == MATRIX[role][page], (role, page)


def test_nobody_signed_out_sees_any_staff_page(client, visits):
    for url in pages(visits).values():
        response = client.get(url)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("reception", True), ("maya", False)]
)
def test_the_authorization_matrix_for_changes(app, client, visits, staff, clock, role, allowed):
    clock.now = local(TUESDAY, 8, 30)
    sign_in(client, getattr(staff, role))
    own = visits.maya_visit
    token = csrf_of(client.get("/staff/password").text)
    checked_in = client.post(
        f"/staff/appointments/{own}/mark/arrived", data={"csrf_token": token, "sequence": "0"}
    )
    cancelled = client.post(
        f"/staff/appointments/{own}/cancel",
        data={"csrf_token": token, "sequence": "0", "reason": "Patient phoned"},
    )
    assert (checked_in.status_code, cancelled.status_code) == (
        (302, 302) if allowed else (403, 403)
    )
    with app.app_context():
        visit = db.session.get(Appointment, own)
        assert (visit.status == "cancelled") is allowed
        assert (visit.arrived_at is not None) is allowed


def test_the_day_view_shows_every_working_therapist(client, app, visits, staff, world):
    world.time_off(world.daniel, local(TUESDAY, 14), local(TUESDAY, 16))
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    assert "Tuesday, March 2, 2027" in page
    assert "Maya Chen" in page and "Daniel Okafor" in page
    assert "Pat Ient1" in page and "Pat Ient2" in page
    assert "9:00 a.m.\u20139:45 a.m." in page and "10:00 a.m.\u201310:45 a.m." in page
    assert "Time off: off (2:00 p.m.\u20134:00 p.m.)" in page
    assert "Break" in page  # 12:00-13:00 between the two windows
    assert f"/staff/day?date={TUESDAY - timedelta(days=1)}" in page
    assert f"/staff/day?date={TUESDAY + timedelta(days=1)}" in page


def test_a_therapist_sees_only_their_own_column(client, visits, staff):
    sign_in(client, staff.maya)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    assert "Pat Ient1" in page
    assert "Pat Ient2" not in page and "Daniel Okafor" not in page


@pytest.mark.parametrize(
    "raw", ["2027-02-30", "tomorrow", "2027-3-1", "\uff12\uff10\uff12\uff17-03-01"]
)
def test_a_bad_date_is_a_clear_400(client, staff, raw):
    sign_in(client, staff.reception)
    response = client.get("/staff/day", query_string={"date": raw})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.text


def test_the_week_view(client, visits, staff):
    sign_in(client, staff.maya)
    page = client.get(f"/staff/therapists/{visits.maya}/week?date={TUESDAY}").text
    assert "Maya Chen" in page and "week of Monday, March 1, 2027" in page
    assert "Pat Ient1" in page
    assert page.count('class="column-head') == 7
    assert client.get("/staff/therapists/999/week").status_code in (403, 404)


def test_a_lapsed_certification_is_flagged_on_the_day(client, app, visits, staff, world):
    assessment = book(app, local(TUESDAY, 13), world.daniel, n=3, service="assessment",
                      answers={k: False for k in ("blood_thinners", "pregnant", "implant",
                      "needle_phobia", "skin_problem", "lymphoedema", "immunocompromised",
                      "metal_allergy")})  # fmt: skip
    with app.app_context():
        db.session.get(Therapist, world.daniel).ims_certification_expires = MONDAY
        db.session.commit()
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    assert "IMS certification lapsed" in page
    assert f"/staff/appointments/{assessment}" in page


def test_a_closed_day_says_so(client, visits, staff, world):
    world.closure(TUESDAY + timedelta(days=1), TUESDAY + timedelta(days=1))
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY + timedelta(days=1)}").text
    assert "The clinic is closed on this day." in page


def test_the_appointment_page_shows_details_screening_history_and_messages(
    client, app, staff, world, clock
):
    answers = {k: k == "blood_thinners" for k in ("blood_thinners", "pregnant", "implant",
               "needle_phobia", "skin_problem", "lymphoedema", "immunocompromised",
               "metal_allergy")}  # fmt: skip
    visit = book(app, local(TUESDAY, 9), world.maya, service="assessment", answers=answers)
    with app.app_context():
        booking.reschedule(visit, local(TUESDAY, 13), now=clock.now, therapist_id=world.daniel,
                           actor="staff:2", enforce_cutoff=False)  # fmt: skip
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visit}").text
    assert (
        "patient1@example.com" in page and "(604) 555-0199" in page
    )  # stored +16045550199, shown nationally
    assert "Answers to review before needling." in page
    assert "Booked" in page and "Rescheduled" in page
    assert (
        "from Tuesday, March 2, 2027, 9:00 a.m. (Pacific time) to Tuesday, March 2, 2027, 1:00 p.m."
        in page
    )
    assert "from Maya Chen to Daniel Okafor" in page
    assert "by Rita Desk (reception)" in page
    assert "REQUEST, sequence 1" in page and "CANCEL, sequence 1" in page
    assert "maya@clinic.example" in page  # the message that took it off Maya's calendar


def test_cancelling_from_the_desk_emails_and_is_audited(client, app, visits, staff):
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visits.maya_visit}/cancel"
    page = client.get(url).text
    missing = client.post(url, data={"csrf_token": csrf_of(page), "sequence": "0", "reason": ""})
    assert missing.status_code == 200 and "aria-invalid" in missing.text
    stale = client.post(url, data={"csrf_token": csrf_of(page), "sequence": "7", "reason": "x"})
    assert stale.status_code == 302
    assert "changed after you opened the page" in client.get(stale.headers["Location"]).text
    done = client.post(
        url, data={"csrf_token": csrf_of(page), "sequence": "0", "reason": "Feeling better"}
    )
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).text
    assert "cancelled" in page and "Feeling better" in page
    with app.app_context():
        cancels = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.method == "CANCEL")
        )
    assert cancels == 2  # the patient and Maya


def test_marks_follow_the_clock(client, app, visits, staff, clock):
    clock.now = local(TUESDAY, 6)
    sign_in(client, staff.reception)
    url = f"/staff/appointments/{visits.maya_visit}"
    token = csrf_of(client.get(url).text)

    def mark(what):
        response = client.post(f"{url}/mark/{what}", data={"csrf_token": token, "sequence": "0"})
        assert response.status_code == 302
        return client.get(url).text

    assert "from 2 hours before" in mark("arrived")  # 06:00: too early
    assert "once it has started" in mark("completed")
    clock.now = local(TUESDAY, 8, 50)
    assert "arrived 8:50 a.m." in mark("arrived")
    clock.now = local(TUESDAY, 9, 40)
    assert "Marked completed." in mark("completed")
    assert "This appointment is completed." in mark("no_show")
    assert client.post(f"{url}/mark/vanished", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{url}/mark/arrived", data={"sequence": "0"}).status_code == 400


def test_unknown_appointments_are_404(client, staff):
    sign_in(client, staff.reception)
    assert client.get("/staff/appointments/999").status_code == 404


def test_staff_pages_are_never_cached(client, staff, visits):
    sign_in(client, staff.reception)
    response = client.get(f"/staff/appointments/{visits.maya_visit}")
    assert response.headers["Cache-Control"] == "no-store"


def test_free_time_in_the_day_view_opens_booking(client, app, visits, staff, world):
    physio_only = world.make_therapist("Tom Bergstrom", services=("physio",))
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    assert "Free 9:45 a.m.\u201312:00 p.m." in page  # after Maya's 09:00-09:45 visit
    assert "Free 1:00 p.m.\u20135:00 p.m." in page
    link = f"/staff/book?therapist={physio_only}&amp;date={TUESDAY}"
    assert link in page
    booking_page = client.get(link.replace("&amp;", "&"))
    assert booking_page.status_code == 200  # a service Tom offers is chosen for him
    assert '<option value="physio" selected>' in booking_page.text
    sign_in(therapist := app.test_client(), staff.maya)
    assert "Free 9:45 a.m." not in therapist.get(f"/staff/day?date={TUESDAY}").text


def test_a_therapist_switched_off_keeps_their_visits_on_the_day(client, app, visits, staff, world):
    with app.app_context():
        db.session.get(Therapist, world.daniel).active = False
        db.session.commit()
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    assert "Daniel Okafor" in page and "Pat Ient2" in page


def test_a_whole_day_off_fills_the_column(client, app, visits, staff, world):
    world.time_off(world.daniel, local(TUESDAY, 0), local(TUESDAY + timedelta(days=1), 0))
    sign_in(client, staff.reception)
    page = client.get(f"/staff/day?date={TUESDAY}").text
    block = re.search(r'class="time-off gc-3 r-(\d+) s-(\d+)"', page)
    assert block and int(block.group(1)) == 2 and int(block.group(2)) >= 100  # 08:00 to 17:00+


def test_a_message_that_gave_up_is_visible_on_the_appointment(client, app, visits, staff):
    from sqlalchemy import update

    with app.app_context():  # as the worker leaves it after its last try
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.appointment_id == visits.maya_visit, OutboxMessage.method != "")
            .values(status="failed", attempts=36, detail="server answered 550")
        )
        db.session.commit()
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visits.maya_visit}").text
    assert page.count('class="flag-row"') >= 2  # the patient's and Maya's invites
    assert "failed" in page and "server answered 550" in page and ">36<" in page


def test_the_grid_stylesheet_is_cached_but_staff_pages_are_not(client, staff, visits):
    sign_in(client, staff.reception)
    assert client.get("/staff/grid.css").headers["Cache-Control"] == "public, max-age=86400"
    assert client.get("/staff/day").headers["Cache-Control"] == "no-store"
