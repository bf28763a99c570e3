"""The whole authorization matrix: every route of the app, for every kind of visitor.

Visitors: someone signed out (a patient, whose manage links carry their token), `maya` (a
therapist account linked to Maya: "own" means Maya's, "other" Daniel's), reception and admin.
A cell is the status a request gets: "ok" (200, 201, 302/303 after a change, or 422 when
allowed but the empty form or body was refused), 400, 403, 404, or "login" (302 to the
sign-in page, to come back from). Form POSTs carry a valid CSRF token, so 403 means "not
allowed", not "bad form".

`ROUTES` must name every rule of `app.url_map` with each of its methods: a new route without
an entry here fails `test_every_route_is_in_the_matrix`. Entries run in order, for each
visitor on a fresh clinic; those that change something use places of their own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

import pytest
from staffing import account_id, csrf_of, sign_in
from support import BORN, MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import (
    Appointment,
    Closure,
    Course,
    PatientChange,
    Role,
    Service,
    TimeOff,
)
from booking.services import booking, feeds
from booking.services.booking import BookingRequest, PatientDetails

TUESDAY = MONDAY + timedelta(days=1)
THURSDAY = MONDAY + timedelta(days=3)
OK, DENY, LOGIN, GONE = "ok", 403, "login", 404
VISITORS = ("anonymous", "maya", "reception", "admin")
# Which visitor stands for each role (a new role must be added to the matrix).
ROLES = {Role.THERAPIST: "maya", Role.RECEPTION: "reception", Role.ADMIN: "admin"}


def staff(admin: object, reception: object, maya: object) -> dict[str, object]:
    """A staff route: signed-out visitors are sent to the sign-in page."""
    return dict(anonymous=LOGIN, admin=admin, reception=reception, maya=maya)


EVERYONE = dict.fromkeys(VISITORS, OK)  # public, or opened by the token in its address
NOBODY = dict.fromkeys(VISITORS, GONE)  # a forged or unknown token, whoever asks
STAFF = staff(admin=OK, reception=OK, maya=OK)
DESK = staff(admin=OK, reception=OK, maya=DENY)
ADMIN = staff(admin=OK, reception=DENY, maya=DENY)
START = "20270302T1800Z"  # Tuesday 10:00 in Vancouver: free for Maya
LATER = "20270304T2300Z"  # Thursday 15:00: free too

# (method, route, {visitor: expected}[, form fields]). Routes use the places of `places`.
ROUTES = [
    # The patient site, the API and calendar feeds: open, or opened by a token.
    ("GET", "/", EVERYONE),
    ("GET", "/static/css/site.css", EVERYONE),
    ("GET", "/book", EVERYONE),
    ("GET", "/book/physio", EVERYONE),
    ("GET", "/book/physio/times?therapist=any", EVERYONE),
    ("GET", f"/book/physio/details?therapist=any&start={START}", EVERYONE),
    ("POST", "/book/physio/details", EVERYONE, {"therapist": "any", "start": START}),
    ("GET", "/manage/{token}", EVERYONE),
    ("GET", "/manage/{forged}", NOBODY),
    ("GET", "/manage/{token}/confirmed", EVERYONE),
    ("GET", "/manage/{forged}/confirmed", NOBODY),
    ("GET", "/manage/{token}/appointment.ics", EVERYONE),
    ("GET", "/manage/{forged}/appointment.ics", NOBODY),
    ("GET", "/manage/{token}/reschedule", EVERYONE),
    ("GET", "/manage/{forged}/reschedule", NOBODY),
    ("GET", f"/manage/{{token}}/reschedule/confirm?start={START}", EVERYONE),
    ("GET", f"/manage/{{forged}}/reschedule/confirm?start={START}", NOBODY),
    ("POST", "/manage/{token}/reschedule/confirm", EVERYONE, {"start": LATER}),  # moves it
    ("POST", "/manage/{forged}/reschedule/confirm", NOBODY, {"start": LATER}),
    ("GET", "/manage/{token}/screening", EVERYONE),
    ("GET", "/manage/{forged}/screening", NOBODY),
    ("POST", "/manage/{token}/screening", EVERYONE),
    ("POST", "/manage/{forged}/screening", NOBODY),
    ("GET", "/manage/{token}/cancel", EVERYONE),
    ("GET", "/manage/{forged}/cancel", NOBODY),
    ("POST", "/manage/{forged}/cancel", NOBODY),
    ("POST", "/manage/{cancel_token}/cancel", EVERYONE),
    # One-tap rebooking: that visit's person has a visit booked, so there is nothing to book
    # (409); the POST without a chosen time is refused (422).
    ("GET", "/manage/{token}/next", dict.fromkeys(VISITORS, 409)),
    ("GET", "/manage/{forged}/next", NOBODY),
    ("POST", "/manage/{token}/next", EVERYONE),
    ("POST", "/manage/{forged}/next", NOBODY),
    # Returning patients: Been here before?, the emailed link, My visits (a verified session).
    ("GET", "/been-here-before", EVERYONE),
    ("POST", "/been-here-before", EVERYONE),
    ("GET", "/been-here-before/sent", EVERYONE),
    ("GET", "/my/{forged}", dict.fromkeys(VISITORS, 410)),  # gone, or never was: one answer
    ("POST", "/my/{forged}", dict.fromkeys(VISITORS, 410)),
    ("POST", "/my/from-manage/{token}", EVERYONE),
    ("POST", "/my/from-manage/{forged}", NOBODY),
    ("GET", "/my", EVERYONE),
    ("POST", "/my/book-for", dict.fromkeys(VISITORS, 400)),  # no verified household: no one
    ("POST", "/my/book-for/anyone", EVERYONE),
    ("POST", "/my/sign-out", EVERYONE),
    ("POST", "/api/v1/access-links", EVERYONE),
    ("POST", "/api/v1/access-tokens", EVERYONE),
    ("GET", "/api/v1/household", dict.fromkeys(VISITORS, 401)),  # a staff session is no token
    ("GET", "/calendar/therapists/{own}/{feed}.ics", EVERYONE),
    ("GET", "/calendar/therapists/{other}/{feed}.ics", NOBODY),  # Maya's token, Daniel's feed
    ("GET", "/calendar/therapists/{own}/{forged}.ics", NOBODY),
    ("GET", "/api/v1/openapi.json", EVERYONE),
    ("GET", "/api/v1/services", EVERYONE),
    ("GET", "/api/v1/therapists", EVERYONE),
    ("GET", "/api/v1/availability?service=physio&from=2027-03-02&to=2027-03-03", EVERYONE),
    ("POST", "/api/v1/bookings", EVERYONE),
    ("GET", "/api/v1/bookings/{token}", EVERYONE),
    ("GET", "/api/v1/bookings/{forged}", NOBODY),
    ("POST", "/api/v1/bookings/{token}/reschedule", EVERYONE),
    ("POST", "/api/v1/bookings/{forged}/reschedule", NOBODY),
    ("POST", "/api/v1/bookings/{forged}/cancel", NOBODY),
    ("POST", "/api/v1/bookings/{api_cancel_token}/cancel", EVERYONE),
    # The staff workspace.
    ("GET", "/staff/login", EVERYONE),
    ("POST", "/staff/login", EVERYONE),
    ("GET", "/staff/grid.css", EVERYONE),  # placement classes only, no data
    ("GET", "/staff/", STAFF),
    ("GET", "/staff/day", STAFF),
    ("GET", "/staff/needs-moving", STAFF),
    ("GET", "/staff/reports", STAFF),  # a therapist sees their own numbers
    ("GET", "/staff/reports?from=2027-03&to=2026-01", staff(admin=400, reception=400, maya=400)),
    ("GET", "/staff/therapists/{own}/week", STAFF),
    ("GET", "/staff/therapists/{other}/week", DESK),
    ("GET", "/staff/therapists/{own}/hours", STAFF),
    ("POST", "/staff/therapists/{own}/hours", STAFF),
    ("GET", "/staff/therapists/{other}/hours", DESK),
    ("POST", "/staff/therapists/{other}/hours", DESK),
    ("GET", "/staff/therapists/{own}/time-off", STAFF),
    ("POST", "/staff/therapists/{own}/time-off", STAFF),
    ("GET", "/staff/therapists/{other}/time-off", DESK),
    ("POST", "/staff/therapists/{other}/time-off", DESK),
    ("POST", "/staff/therapists/{own}/time-off/{own_time_off}/delete", STAFF),
    ("POST", "/staff/therapists/{other}/time-off/{other_time_off}/delete", DESK),
    # Daniel's time off through Maya's address: no such time off, for anyone.
    ("POST", "/staff/therapists/{own}/time-off/{other_time_off}/delete", staff(GONE, GONE, GONE)),
    ("GET", "/staff/therapists/{own}/calendar-feed", STAFF),
    ("GET", "/staff/therapists/{other}/calendar-feed", DESK),
    ("POST", "/staff/therapists/{other}/calendar-feed", DESK),
    ("POST", "/staff/therapists/{own}/calendar-feed", STAFF),
    ("GET", "/staff/therapists/{own}/move-day", DESK),
    ("GET", "/staff/appointments/{own_visit}", STAFF),
    ("GET", "/staff/appointments/{other_visit}", DESK),
    ("GET", "/staff/appointments/{own_visit}/move", DESK),
    # Allowed, but a move needs a chosen time: 400 without one.
    ("POST", "/staff/appointments/{own_visit}/move", staff(admin=400, reception=400, maya=DENY)),
    ("GET", "/staff/appointments/{own_visit}/move/confirm?start=20270302T1800Z&sequence=0", DESK),
    ("GET", "/staff/appointments/{own_visit}/cancel", DESK),
    ("POST", "/staff/appointments/{spare_visit}/cancel", DESK),
    ("POST", "/staff/appointments/{own_visit}/mark/arrived", DESK),
    ("POST", "/staff/appointments/{own_visit}/screening/reviewed", staff(OK, DENY, OK)),
    ("POST", "/staff/appointments/{other_visit}/screening/reviewed", staff(OK, DENY, DENY)),
    ("GET", "/staff/book", DESK),
    ("GET", f"/staff/book/details?service=physio&therapist={{own}}&start={START}", DESK),
    ("POST", f"/staff/book/details?service=physio&therapist={{own}}&start={START}", DESK),
    ("GET", "/staff/patients?q=Pat", DESK),
    ("POST", "/staff/patients", DESK),
    ("GET", "/staff/patients/{patient}", DESK),
    ("POST", "/staff/patients/{patient}/details", DESK),  # the empty form: 422
    ("POST", "/staff/patients/{patient}/email", DESK),
    ("POST", "/staff/patients/{patient}/changes/{change}/reject", DESK),
    ("GET", "/staff/patients/{patient}/merge?other={twin}", DESK),
    ("POST", "/staff/patients/{patient}/merge?other={twin}", DESK),  # no choice made: 422
    ("POST", "/staff/appointments/{own_visit}/resend", DESK),
    ("GET", "/staff/appointments/{own_visit}/course", STAFF),
    ("GET", "/staff/appointments/{other_visit}/course", DESK),
    ("POST", "/staff/appointments/{own_visit}/course", STAFF),  # the empty form: 422
    ("GET", "/staff/courses/{own_course}", STAFF),
    ("GET", "/staff/courses/{other_course}", DESK),
    ("GET", "/staff/courses/{own_course}/book", STAFF),
    ("POST", "/staff/courses/{own_course}/book", STAFF),  # the empty form: 422
    ("POST", "/staff/courses/{other_course}/sessions", DESK),  # the empty form: 422
    ("POST", "/staff/courses/{other_course}/end", DESK),  # the empty form: 422
    ("GET", "/staff/courses/drop-off", DESK),
    ("POST", "/staff/courses/999/next-times", DESK),  # no such course: said, then back
    ("GET", "/staff/admin", ADMIN),
    ("GET", "/staff/admin/settings", ADMIN),
    ("POST", "/staff/admin/settings", ADMIN),
    ("GET", "/staff/admin/closures", ADMIN),
    ("POST", "/staff/admin/closures", ADMIN),
    ("POST", "/staff/admin/closures/{closure}/delete", ADMIN),
    ("GET", "/staff/admin/therapists/new", ADMIN),
    ("POST", "/staff/admin/therapists/new", ADMIN),
    ("GET", "/staff/admin/therapists/{own}", ADMIN),
    ("POST", "/staff/admin/therapists/{own}", ADMIN),
    ("GET", "/staff/admin/services/new", ADMIN),
    ("POST", "/staff/admin/services/new", ADMIN),
    ("GET", "/staff/admin/services/{service}", ADMIN),
    ("POST", "/staff/admin/services/{service}", ADMIN),
    ("GET", "/staff/admin/accounts/new", ADMIN),
    ("POST", "/staff/admin/accounts/new", ADMIN),
    ("GET", "/staff/admin/accounts/{desk_account}/password", ADMIN),
    ("POST", "/staff/admin/accounts/{desk_account}/password", ADMIN),
    ("POST", "/staff/admin/accounts/{desk_account}/enable", ADMIN),
    ("POST", "/staff/admin/accounts/{desk_account}/disable", ADMIN),
    ("GET", "/staff/password", STAFF),
    ("POST", "/staff/password", STAFF),
    ("POST", "/staff/logout", STAFF),  # last: it ends the session
]  # fmt: skip


@pytest.fixture
def places(app, world, staff, clock):
    app.config["BOOKING_RATE_LIMIT"] = "1000 per minute"  # every visitor's POSTs, in one minute
    app.config["LOGIN_RATE_LIMIT"] = "1000 per minute"
    clock.now = local(TUESDAY, 8, 30)  # arrivals for 09:00 can be marked
    own_visit = book_at(app, clock, world.maya, 1)
    spare_visit = book_at(app, clock, world.maya, 3, hour=15)
    with app.test_request_context():
        feed = feeds.feed_url(world.maya, now=clock.now, actor="test")
    with app.app_context():
        patient = db.session.get(Appointment, own_visit).patient_id
        service = db.session.query(Service.id).filter_by(slug="physio").scalar()
    week_on = TUESDAY + timedelta(days=7)
    for therapist in (world.maya, world.daniel):
        world.time_off(therapist, local(week_on, 9), local(week_on, 10))
    world.closure(MONDAY + timedelta(days=60), MONDAY + timedelta(days=60))
    with app.app_context():
        own_time_off, other_time_off = (
            db.session.query(TimeOff.id).filter_by(therapist_id=t).scalar()
            for t in (world.maya, world.daniel)
        )
        closure = db.session.query(Closure.id).scalar()
    twin = person_at(app, clock, world.daniel, 1, "pat.twin@example.com")
    with app.app_context():
        change = PatientChange(patient_id=patient, field="phone", value="+16045550111")
        db.session.add(change)
        db.session.commit()
        change_id = change.id
        own_course, other_course = (
            Course(patient_id=patient, therapist_id=t, service_id=service, created_by="test")
            for t in (world.maya, world.daniel)
        )
        db.session.add_all([own_course, other_course])
        db.session.commit()
        courses = {"own_course": own_course.id, "other_course": other_course.id}
    return courses | {
        "twin": twin,
        "change": change_id,
        "own": world.maya,
        "other": world.daniel,
        "own_visit": own_visit,
        "other_visit": book_at(app, clock, world.daniel, 2),
        "spare_visit": spare_visit,
        # On Thursday, before the cutoff: their pages can still change the visit.
        "token": token_at(app, clock, world.maya, 4, hour=11, day=THURSDAY),
        "cancel_token": token_at(app, clock, world.maya, 5, hour=13, day=THURSDAY),
        "api_cancel_token": token_at(app, clock, world.maya, 6, hour=14, day=THURSDAY),
        "forged": "not-a-real-token-" + "x" * 20,
        "feed": re.search(r"/([^/]+)\.ics$", feed).group(1),
        "patient": patient,
        "service": service,
        "own_time_off": own_time_off,
        "other_time_off": other_time_off,
        "closure": closure,
        "desk_account": account_id(app, staff.reception),
    }


def book_at(app, clock, therapist, n, hour=9):
    saved, clock.now = clock.now, local(MONDAY, 8)
    try:
        return book(app, local(TUESDAY, hour), therapist, n=n)
    finally:
        clock.now = saved


def person_at(app, clock, therapist, n, email):
    """A second record of patient `n` (another email), with a visit on Thursday."""
    saved, clock.now = clock.now, local(MONDAY, 8)
    try:
        with app.app_context():
            return booking.book(
                BookingRequest(
                    service="physio",
                    start=local(THURSDAY, 16),
                    therapist_id=therapist,
                    patient=PatientDetails(f"Pat Ient{n}", email, "604-555-0199", BORN),
                ),
                now=clock.now,
            ).appointment.patient_id
    finally:
        clock.now = saved


def token_at(app, clock, therapist, n, hour, day=TUESDAY):
    """The manage token of a new visit with `therapist` on `day` at `hour`."""
    saved, clock.now = clock.now, local(MONDAY, 8)
    try:
        with app.app_context():
            return booking.book(
                BookingRequest(
                    service="physio",
                    start=local(day, hour),
                    therapist_id=therapist,
                    patient=PatientDetails(
                        f"Pat Ient{n}", f"patient{n}@example.com", "604-555-0199", BORN
                    ),
                ),
                now=clock.now,
            ).manage_token
    finally:
        clock.now = saved


def status_of(response) -> object:
    if response.status_code == 302 and "/staff/login?next=" in response.headers["Location"]:
        return LOGIN  # not a signing out's own redirect to the sign-in page
    # 422: allowed, but the empty form or body was refused.
    if response.status_code in (200, 201, 302, 303, 422):
        return OK
    return response.status_code


@pytest.mark.parametrize("role", VISITORS)
def test_the_authorization_matrix(client, staff, places, role):
    if role != "anonymous":
        sign_in(client, getattr(staff, role))
    token = csrf_of(client.get("/staff/login" if role == "anonymous" else "/staff/password").text)
    wrong = []
    for method, route, expected, *fields in ROUTES:
        url = route.format(**places)
        if method == "GET":
            response = client.get(url)
        elif url.startswith("/api/"):
            response = client.post(url, json={})
        else:
            data = {"csrf_token": token, "sequence": "0", **(fields[0] if fields else {})}
            response = client.post(url, data=data)
        response.close()  # a static file's answer holds the file open
        if status_of(response) != expected[role]:
            wrong.append(f"{method} {url}: {status_of(response)}, expected {expected[role]}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_route_is_in_the_matrix(app):
    """Each rule of the URL map, with each of its methods, has at least one entry."""
    adapter = app.url_map.bind("clinic.test")
    placeholders = defaultdict(lambda: "1")
    covered = set()
    for method, route, expected, *_ in ROUTES:
        assert set(expected) == set(VISITORS), route
        path = route.format_map(placeholders).partition("?")[0]
        rule, _ = adapter.match(path, method=method, return_rule=True)
        covered.add((rule.rule, method))
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (rule.rule, method) not in covered
    ]
    assert not missing, "routes with no entry in ROUTES:\n" + "\n".join(missing)
    assert set(ROLES) == set(Role)
