"""What blocks time reaches the API: time off, closures and a lapsing certification."""

from __future__ import annotations

from datetime import timedelta

from support import MONDAY, local, patient

TUESDAY = MONDAY + timedelta(days=1)


def starts(client, service="physio", day=TUESDAY, therapist=None):
    url = f"/api/v1/availability?service={service}&from={day}&to={day}"
    if therapist:
        url += f"&therapist={therapist}"
    response = client.get(url)
    assert response.headers["Cache-Control"] == "no-store"
    return [s["start"][11:16] for s in response.get_json()["slots"]]


def test_time_off_removes_slots(client, world):
    therapist = world.make_therapist()
    world.time_off(therapist, local(TUESDAY, 10), local(TUESDAY, 14))
    got = starts(client)
    assert "09:00" in got and "09:15" in got
    assert "09:30" not in got  # would run into the time off
    assert not any("10:00" <= s < "14:00" for s in got)
    assert "14:00" in got


def test_a_closure_empties_the_day(client, world):
    world.make_therapist()
    world.closure(TUESDAY, TUESDAY)
    assert starts(client) == []
    assert starts(client, day=TUESDAY + timedelta(days=1))


def test_a_lapsing_certification_ends_ims_slots_after_its_date(client, world):
    therapist = world.make_therapist(expires=TUESDAY)
    assert starts(client, "assessment", TUESDAY, therapist)
    assert starts(client, "assessment", TUESDAY + timedelta(days=1), therapist) == []
    assert starts(client, "physio", TUESDAY + timedelta(days=1), therapist)


def test_not_offering_is_not_called_a_lapse(client, world):
    therapist = world.make_therapist(services=("assessment",))
    response = client.post(
        "/api/v1/bookings",
        json={
            "service": "physio",
            "therapist_id": therapist,
            "start": local(TUESDAY, 9).isoformat(),
            "patient": patient(name="A", email="a@example.com"),
        },
    )
    assert (
        response.get_json()["error"]["message"]
        == "Maya Chen does not offer Physiotherapy assessment."
    )
