"""Reception moves a visit to another time or therapist, from real free times."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from html import unescape

from sqlalchemy import select
from staffing import csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, Therapist
from booking.web.params import format_start

TUESDAY = MONDAY + timedelta(days=1)


def move_forms(html: str) -> list[dict[str, str]]:
    """The move page's free times: each opens the confirm step (a GET), nothing moves yet."""
    return [f for f in day_forms(html) if "start" in f]


def day_forms(html: str) -> list[dict[str, str]]:
    found = []
    pattern = r'<form method="(?:get|post)" action="([^"]+)" class="inline-form">(.*?)</form>'
    for action, block in re.findall(pattern, html, re.S):
        fields = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', block))
        found.append({"action": unescape(action)} | {k: unescape(v) for k, v in fields.items()})
    return found


def confirm_page(client, form: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """Open the confirm step a free time leads to; return its form's action, fields, page."""
    query = {k: v for k, v in form.items() if k != "action"}
    page = client.get(form["action"], query_string=query)
    assert page.status_code == 200, page.text
    action, block = re.search(
        r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S
    ).groups()
    fields = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', block))
    return unescape(action), {k: unescape(v) for k, v in fields.items()}, page.text


def test_moving_to_another_therapist_updates_everyone(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visit}/move?therapist={world.daniel}")
    assert page.status_code == 200
    forms = move_forms(page.text)
    target = next(f for f in forms if f["start"] == format_start(local(TUESDAY, 10)))
    assert target["therapist"] == str(world.daniel)
    assert target["action"] == f"/staff/appointments/{visit}/move/confirm"
    action, data, _ = confirm_page(client, target)
    assert action == f"/staff/appointments/{visit}/move"
    moved = client.post(action, data=data)
    assert moved.status_code == 302
    history = client.get(moved.headers["Location"]).text
    assert "Moved. The patient and the therapists" in history
    assert "from Maya Chen to Daniel Okafor" in history
    with app.app_context():
        row = db.session.get(Appointment, visit)
        assert (row.therapist_id, row.start_at, row.sequence) == (
            world.daniel,
            local(TUESDAY, 10),
            1,
        )
        sent = db.session.execute(
            select(OutboxMessage.to_address, OutboxMessage.method).where(
                OutboxMessage.sequence == 1, OutboxMessage.method != ""
            )
        ).all()
    assert sorted(sent) == [
        ("daniel@clinic.example", "REQUEST"),
        ("maya@clinic.example", "CANCEL"),
        ("patient1@example.com", "REQUEST"),
    ]


def test_a_move_that_would_collide_is_refused_and_changes_nothing(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visit}/move").text
    target = next(f for f in move_forms(page) if f["start"] == format_start(local(TUESDAY, 11)))
    _, target, _ = confirm_page(client, target)
    book(app, local(TUESDAY, 11), world.maya, n=2)  # taken meanwhile
    refused = client.post(f"/staff/appointments/{visit}/move", data=target)
    assert refused.status_code == 302
    assert "That time is no longer available." in client.get(refused.headers["Location"]).text
    stale = client.post(f"/staff/appointments/{visit}/move", data={**target, "sequence": "5"})
    assert "changed after you opened the page" in client.get(stale.headers["Location"]).text
    with app.app_context():
        row = db.session.get(Appointment, visit)
        assert (row.start_at, row.sequence) == (local(TUESDAY, 9), 0)


def test_its_own_time_is_not_offered_but_its_neighbours_are(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    starts = {f["start"] for f in move_forms(client.get(f"/staff/appointments/{visit}/move").text)}
    assert format_start(local(TUESDAY, 9)) not in starts
    assert format_start(local(TUESDAY, 9, 15)) in starts  # overlaps only itself


def test_therapists_cannot_move_visits(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.maya)
    token = csrf_of(client.get("/staff/password").text)
    assert client.get(f"/staff/appointments/{visit}/move").status_code == 403
    assert client.get(f"/staff/therapists/{world.maya}/move-day").status_code == 403
    data = {"csrf_token": token, "sequence": "0", "start": format_start(local(TUESDAY, 10))}
    assert client.post(f"/staff/appointments/{visit}/move", data=data).status_code == 403


def test_a_sick_day_lists_each_visit_with_alternatives(client, app, staff, world):
    first = book(app, local(TUESDAY, 9), world.maya, n=1)
    second = book(app, local(TUESDAY, 13), world.maya, n=2)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/therapists/{world.maya}/move-day?date={TUESDAY}").text
    assert "Pat Ient1" in page and "Pat Ient2" in page
    forms = [f for f in day_forms(page) if "/move" in f["action"]]
    assert {f["action"] for f in forms} == {
        f"/staff/appointments/{first}/move/confirm",
        f"/staff/appointments/{second}/move/confirm",
    }
    tuesday = format_start(local(TUESDAY, 12))[:8]  # the day being cleared, as YYYYMMDD
    assert not [f for f in forms if f["therapist"] == str(world.maya) and f["start"][:8] == tuesday]
    chosen = next(
        f
        for f in forms
        if f["action"].endswith(f"/{first}/move/confirm") and f["therapist"] == str(world.daniel)
    )
    action, data, _ = confirm_page(client, chosen)
    done = client.post(action, data=data)
    assert done.status_code == 302 and "/move-day?date=" in done.headers["Location"]
    page = client.get(done.headers["Location"]).text
    assert "Moved." in page and "Pat Ient1" not in page and "Pat Ient2" in page
    with app.app_context():
        assert db.session.get(Appointment, first).therapist_id == world.daniel
        assert db.session.get(Appointment, second).therapist_id == world.maya
    assert client.get(f"/staff/therapists/{world.maya}/move-day?date=x").status_code == 400


def test_a_sick_day_offers_other_days_when_no_one_else_can_take_the_visit(
    client, app, staff, world
):
    visit = book(app, local(TUESDAY, 9), world.maya)
    with app.app_context():
        db.session.get(Therapist, world.daniel).active = False  # Maya alone offers it now
        db.session.commit()
    sign_in(client, staff.reception)
    page = client.get(f"/staff/therapists/{world.maya}/move-day?date={TUESDAY}").text
    forms = [f for f in day_forms(page) if f["action"].endswith(f"/{visit}/move/confirm")]
    tuesday = format_start(local(TUESDAY, 12))[:8]
    assert len(forms) == 5
    assert all(f["therapist"] == str(world.maya) and f["start"][:8] != tuesday for f in forms)


def test_the_confirm_step_shows_before_after_and_who_is_emailed(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visit}/move?therapist={world.daniel}").text
    target = next(f for f in move_forms(page) if f["start"] == format_start(local(TUESDAY, 10)))
    _, data, shown = confirm_page(client, target)
    before = re.search(r'<tr id="before">(.*?)</tr>', shown, re.S).group(1)
    after = re.search(r'<tr id="after">(.*?)</tr>', shown, re.S).group(1)
    assert f'datetime="{utc(local(TUESDAY, 9))}"' in before and "Maya Chen" in before
    assert f'datetime="{utc(local(TUESDAY, 10))}"' in after and "Daniel Okafor" in after
    told = re.search(r'<ul class="told">(.*?)</ul>', shown, re.S).group(1)
    lines = [unescape(re.sub(r"<[^>]+>", "", li)) for li in re.findall(r"<li>(.*?)</li>", told)]
    assert len(lines) == 3
    assert "patient1@example.com" in lines[0] and "updated calendar invite" in lines[0]
    assert "maya@clinic.example" in lines[1] and "a cancellation" in lines[1]
    assert "daniel@clinic.example" in lines[2] and "updated calendar invite" in lines[2]
    assert (data["therapist"], data["start"], data["sequence"]) == (
        str(world.daniel),
        format_start(local(TUESDAY, 10)),
        "0",
    )
    with app.app_context():  # the preview changed nothing and sent nothing
        row = db.session.get(Appointment, visit)
        assert (row.therapist_id, row.start_at, row.sequence) == (world.maya, local(TUESDAY, 9), 0)
        assert not db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.sequence == 1)
        ).all()


def utc(instant) -> str:
    return instant.astimezone(UTC).isoformat()


def test_a_time_move_tells_only_the_patient_and_the_therapist(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    form = {
        "action": f"/staff/appointments/{visit}/move/confirm",
        "start": format_start(local(TUESDAY, 11)),
        "sequence": "0",
    }
    _, _, shown = confirm_page(client, form)
    told = re.search(r'<ul class="told">(.*?)</ul>', shown, re.S).group(1)
    assert told.count("<li>") == 2 and "cancellation" not in told


def test_the_confirm_step_refuses_what_the_move_would(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    book(app, local(TUESDAY, 11), world.maya, n=2)
    sign_in(client, staff.reception)
    confirm = f"/staff/appointments/{visit}/move/confirm"
    cases = [
        ({"start": format_start(local(TUESDAY, 11)), "sequence": "0"}, "no longer available"),
        ({"start": format_start(local(TUESDAY, 10)), "sequence": "3"}, "changed after you opened"),
        ({"start": format_start(local(TUESDAY, 9)), "sequence": "0"}, "where the appointment is"),
    ]
    for query, message in cases:
        refused = client.get(confirm, query_string=query)
        assert refused.status_code == 302, query
        assert refused.headers["Location"].endswith(f"/staff/appointments/{visit}/move")
        assert message in client.get(refused.headers["Location"]).text, query
    assert client.get(confirm, query_string={"start": "x", "sequence": "0"}).status_code == 400
    bad = {"start": format_start(local(TUESDAY, 10)), "sequence": "0", "therapist": "999"}
    assert client.get(confirm, query_string=bad).status_code == 404
    with app.app_context():
        assert db.session.get(Appointment, visit).sequence == 0
