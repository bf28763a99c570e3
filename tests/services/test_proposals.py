"""Reception decides the changes a patient typed online: accept, reject, and only once."""

from __future__ import annotations

from datetime import date

import pytest
from records_support import ACTOR, person_of, trail
from sqlalchemy import select
from support import NOW

from booking.extensions import db
from booking.models import Patient, PatientChange
from booking.services import proposals
from booking.services.errors import NotFound, Stale
from booking.services.person_edits import SamePerson


@pytest.fixture
def maya(world):
    return world.make_therapist("Maya Chen")


def proposed(app, pid):
    with app.app_context():
        rows = db.session.scalars(
            select(PatientChange).where(PatientChange.patient_id == pid).order_by(PatientChange.id)
        ).all()
        return {c.field: (c.id, c.value, c.status, c.decided_at, c.decided_by) for c in rows}


def record(app, pid):
    with app.app_context():
        p = db.session.get(Patient, pid)
        return (p.name, p.phone, p.date_of_birth)


def decide(app, change_id, accept, **kw):
    with app.app_context():
        return proposals.decide(change_id, accept=accept, actor=ACTOR, now=NOW, **kw)


def test_accepting_applies_the_value_and_is_audited(app, maya):
    pid = person_of(app, 1)
    assert person_of(app, 1, phone="604-555-0111", name="pat  ient1") == pid  # online again
    changes = proposed(app, pid)
    assert set(changes) == {"phone", "name"}
    decide(app, changes["phone"][0], True)
    assert record(app, pid)[1] == "+16045550111"
    _, _, status, decided_at, decided_by = proposed(app, pid)["phone"]
    assert (status, decided_at, decided_by) == ("accepted", NOW, ACTOR)
    action, entity_id, before, after = trail(app)[-1]
    assert (action, entity_id) == ("change_accepted", pid)
    assert before == {"change_id": changes["phone"][0], "status": "pending",
                      "phone": "+16045550199"}  # fmt: skip
    assert after == {"change_id": changes["phone"][0], "status": "accepted", "field": "phone",
                     "phone": "+16045550111"}  # fmt: skip


def test_rejecting_keeps_the_record_and_is_audited(app, maya):
    pid = person_of(app, 1)
    person_of(app, 1, name="PAT IENT1")
    change_id = proposed(app, pid)["name"][0]
    decide(app, change_id, False)
    assert record(app, pid)[0] == "Pat Ient1"
    assert proposed(app, pid)["name"][2:] == ("rejected", NOW, ACTOR)
    action, _, before, after = trail(app)[-1]
    assert action == "change_rejected"
    assert before == {"change_id": change_id, "status": "pending"}
    assert after == {"change_id": change_id, "status": "rejected", "field": "name"}


@pytest.mark.parametrize(("first", "then"), [(True, True), (True, False), (False, True)])
def test_a_decided_change_is_stale_and_nothing_changes(app, maya, first, then):
    pid = person_of(app, 1)
    person_of(app, 1, phone="604-555-0111")
    change_id = proposed(app, pid)["phone"][0]
    decide(app, change_id, first)
    after_first, audited = record(app, pid), len(trail(app))
    with pytest.raises(Stale) as stale:
        decide(app, change_id, then)
    assert "already" in stale.value.message
    assert record(app, pid) == after_first and len(trail(app)) == audited
    assert proposed(app, pid)["phone"][2] == ("accepted" if first else "rejected")


def test_a_date_of_birth_change_that_makes_a_twin_is_refused_and_stays_pending(app, maya):
    # A legacy record without a date of birth proposes one; the household already holds a
    # person with that name and date: accepting would make them one person (a merge).
    pid = person_of(app, 1)
    with app.app_context():
        other = Patient(name="Pat Ient1", date_of_birth=date(1990, 1, 1), phone="",
                        contact_id=db.session.get(Patient, pid).contact_id)  # fmt: skip
        db.session.add(other)
        db.session.commit()
        other_id = other.id
        change = PatientChange(patient_id=other_id, field="date_of_birth", value="1980-05-17")
        db.session.add(change)
        db.session.commit()
        change_id = change.id
    with pytest.raises(SamePerson) as refused:
        decide(app, change_id, True)
    assert refused.value.other_id == pid
    assert proposed(app, other_id)["date_of_birth"][2] == "pending"
    assert record(app, other_id)[2] == date(1990, 1, 1)


def test_a_change_of_another_person_or_none_is_not_found(app, maya):
    pid = person_of(app, 1)
    person_of(app, 1, phone="604-555-0111")
    change_id = proposed(app, pid)["phone"][0]
    with pytest.raises(NotFound):
        decide(app, change_id, True, patient_id=pid + 1)
    with pytest.raises(NotFound):
        decide(app, 999, True)
    assert proposed(app, pid)["phone"][2] == "pending"
