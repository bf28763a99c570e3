"""Merging two records of one person: everything follows the kept one, never a clash."""

from __future__ import annotations

from datetime import date

import pytest
from records_support import ACTOR, TUESDAY, book, person_of, trail
from sqlalchemy import func, select
from support import NOW, details, local

from booking.extensions import db
from booking.models import (
    Appointment,
    AuditEvent,
    Contact,
    OutboxMessage,
    Patient,
    PatientChange,
    Screening,
)
from booking.services import booking, merge, patients
from booking.services.errors import InvalidRequest, NotFound
from booking.services.merge import MergeRefused


@pytest.fixture
def maya(world):
    world.daniel = world.make_therapist("Daniel Okafor", email="daniel@clinic.example")
    world.maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    return world.maya


def run(app, keep, drop):
    with app.app_context():
        return merge.merge(keep, drop, actor=ACTOR, now=NOW)


def counts(app):
    with app.app_context():
        return {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Patient, Contact, Appointment, PatientChange, OutboxMessage, Screening)
        }


def test_merge_moves_visits_screening_changes_and_messages(app, maya, world):
    keep = person_of(app, 1)
    # The same person, booked from another email: an assessment with its screening, and a
    # later visit typed with another phone (a proposed change).
    assessment = book(app, local(TUESDAY, 13), details(1, email="pat.work@example.com"),
                      service="assessment", therapist_id=world.daniel)  # fmt: skip
    drop = assessment.appointment.patient_id
    later = book(app, local(TUESDAY, 16), details(1, email="pat.work@example.com",
                 phone="604-555-0111"))  # fmt: skip
    assert later.appointment.patient_id == drop and keep != drop
    before = counts(app)
    merged = run(app, keep, drop)
    assert sorted(merged.appointment_ids) == sorted([assessment.appointment.id,
                                                     later.appointment.id])  # fmt: skip
    assert merged.contact_removed is True
    with app.app_context():
        assert db.session.get(Patient, drop) is None
        visits = db.session.scalars(
            select(Appointment.id).where(Appointment.patient_id == keep)
        ).all()
        assert len(visits) == 3
        assert db.session.get(Screening, assessment.appointment.id) is not None
        assert {c.patient_id for c in db.session.scalars(select(PatientChange))} == {keep}
        # The unsent messages about the moved visits now go to the kept record's address.
        to = db.session.scalars(
            select(OutboxMessage.to_address).where(
                OutboxMessage.recipient == "patient", OutboxMessage.status == "pending"
            )
        ).all()
        assert set(to) == {"patient1@example.com"}
        # The history of the kept record shows the merged one's, audit rows untouched.
        actions = [(e.action, e.entity_id) for e in patients.history(keep)]
        assert ("created", drop) in actions and ("merged", keep) in actions
    after = counts(app)
    assert after == before | {"patient": before["patient"] - 1, "contact": before["contact"] - 1}
    merged_row = next(t for t in trail(app) if t[0] == "merged")
    assert merged_row[1] == keep
    assert merged_row[2]["merged"]["id"] == drop and merged_row[2]["kept"]["name"] == "Pat Ient1"
    assert sorted(merged_row[3]["appointment_ids"]) == sorted(merged.appointment_ids)
    assert next(t for t in trail(app) if t[0] == "merged_into")[3]["patient_id"] == keep


def test_merge_keeps_a_contact_that_still_has_people(app, maya):
    keep = person_of(app, 1)
    drop = person_of(app, 1, email="second@example.com", date_of_birth=date(1980, 5, 18))
    person_of(app, 5, email="second@example.com")  # someone else of that household
    merged = run(app, keep, drop)
    assert merged.contact_removed is False
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_merge_is_refused_when_one_person_would_be_in_two_places(app, maya, world):
    keep = book(app, local(TUESDAY, 9), details(1), therapist_id=world.maya)
    drop = book(app, local(TUESDAY, 9, 30), details(1, email="two@example.com"),
                therapist_id=world.daniel)  # fmt: skip
    before, audited = counts(app), len(trail(app))
    with pytest.raises(MergeRefused) as refused:
        run(app, keep.appointment.patient_id, drop.appointment.patient_id)
    assert refused.value.clashes == [(keep.appointment.id, drop.appointment.id)]
    assert "two places at once" in refused.value.message
    assert counts(app) == before and len(trail(app)) == audited


def test_a_cancelled_clash_does_not_stop_the_merge(app, maya, world):
    keep = book(app, local(TUESDAY, 9), details(1), therapist_id=world.maya)
    drop = book(app, local(TUESDAY, 9), details(1, email="two@example.com"),
                therapist_id=world.daniel)  # fmt: skip
    with app.app_context():
        booking.cancel(drop.appointment.id, now=NOW, reason="twice", actor=ACTOR,
                       enforce_cutoff=False)  # fmt: skip
    run(app, keep.appointment.patient_id, drop.appointment.patient_id)


def test_the_database_is_the_last_line_against_a_clash(app, maya, world, monkeypatch):
    """Were the check to miss a clash (a visit booked as the merge runs), the database's
    constraint refuses, and the merge answers the same clear refusal."""
    keep = book(app, local(TUESDAY, 9), details(1), therapist_id=world.maya)
    drop = book(app, local(TUESDAY, 9), details(1, email="two@example.com"),
                therapist_id=world.daniel)  # fmt: skip
    monkeypatch.setattr(merge, "clashes", lambda keep_id, drop_id: [])
    before = counts(app)
    with pytest.raises(MergeRefused) as refused:
        run(app, keep.appointment.patient_id, drop.appointment.patient_id)
    assert "two places at once" in refused.value.message
    assert counts(app) == before
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "merged")
            )
            == 0
        )


def test_merge_with_itself_or_nobody_is_refused(app, maya):
    pid = person_of(app, 1)
    with pytest.raises(InvalidRequest):
        run(app, pid, pid)
    with pytest.raises(NotFound):
        run(app, pid, 999)
    assert counts(app)["patient"] == 1
