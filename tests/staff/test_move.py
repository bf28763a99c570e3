"""Reception moves a visit to another time or therapist, from real free times."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select
from staffing import csrf_of, sign_in
from support import MONDAY, local
from test_workspace import book

from booking.extensions import db
from booking.models import Appointment, OutboxMessage, Therapist
from booking.public.params import format_start

TUESDAY = MONDAY + timedelta(days=1)


def move_forms(html: str) -> list[dict[str, str]]:
    forms = []
    for block in re.findall(r'<form method="post" class="inline-form">(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', block))
        if "start" in fields:
            forms.append({k: unescape(v) for k, v in fields.items()})
    return forms


def test_moving_to_another_therapist_updates_everyone(client, app, staff, world):
    visit = book(app, local(TUESDAY, 9), world.maya)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/appointments/{visit}/move?therapist={world.daniel}")
    assert page.status_code == 200
    forms = move_forms(page.text)
    target = next(f for f in forms if f["start"] == format_start(local(TUESDAY, 10)))
    assert target["therapist"] == str(world.daniel)
    moved = client.post(f"/staff/appointments/{visit}/move", data=target)
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


def day_forms(html: str) -> list[dict[str, str]]:
    found = []
    pattern = r'<form method="post" action="([^"]+)" class="inline-form">(.*?)</form>'
    for action, block in re.findall(pattern, html, re.S):
        fields = dict(re.findall(r'name="([^"]+)"[^>]*value="([^"]*)"', block))
        found.append({"action": unescape(action)} | {k: unescape(v) for k, v in fields.items()})
    return found


def test_a_sick_day_lists_each_visit_with_alternatives(client, app, staff, world):
    first = book(app, local(TUESDAY, 9), world.maya, n=1)
    second = book(app, local(TUESDAY, 13), world.maya, n=2)
    sign_in(client, staff.reception)
    page = client.get(f"/staff/therapists/{world.maya}/move-day?date={TUESDAY}").text
    assert "Pat Ient1" in page and "Pat Ient2" in page
    forms = [f for f in day_forms(page) if "/move" in f["action"]]
    assert {f["action"] for f in forms} == {
        f"/staff/appointments/{first}/move",
        f"/staff/appointments/{second}/move",
    }
    tuesday = format_start(local(TUESDAY, 12))[:8]  # the day being cleared, as YYYYMMDD
    assert not [f for f in forms if f["therapist"] == str(world.maya) and f["start"][:8] == tuesday]
    chosen = next(
        f
        for f in forms
        if f["action"].endswith(f"/{first}/move") and f["therapist"] == str(world.daniel)
    )
    done = client.post(chosen["action"], data=chosen)
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
    forms = [f for f in day_forms(page) if f["action"].endswith(f"/{visit}/move")]
    tuesday = format_start(local(TUESDAY, 12))[:8]
    assert len(forms) == 5
    assert all(f["therapist"] == str(world.maya) and f["start"][:8] != tuesday for f in forms)
