"""Finding people (name, email, phone, date of birth) and what their record lists around them."""

from __future__ import annotations

from datetime import date

import pytest
from support import person

from booking.extensions import db
from booking.models import Patient
from booking.services import patients


@pytest.fixture
def people(world):
    """Zoë and her son in one household (a Gmail address), and a namesake elsewhere."""
    zoe = person("Zoë Gill", "Zoe.Gill@gmail.com", born=date(1980, 5, 17), phone="+16045550199")
    zoe.preferred_name = "Zo"
    tom = Patient(name="Tom Gill", date_of_birth=date(2014, 9, 3), phone="", contact=zoe.contact)
    other = person("Zoe Gill", "zgill@example.com", born=date(1980, 5, 17))
    undated = Patient(name="Zoe Gill", date_of_birth=None, phone="", contact=zoe.contact)
    world.add(zoe, tom, other, undated)
    return {"zoe": zoe.id, "tom": tom.id, "other": other.id, "undated": undated.id}


def found(ctx, query, **kw):
    return [p.id for p in patients.search(query, **kw)]


@pytest.mark.parametrize(
    ("query", "who"),
    [("zoe gill", {"zoe", "other", "undated"}), ("ZOË", {"zoe", "other", "undated"}),
     ("tom", {"tom"}), ("Zo", {"zoe", "tom", "other", "undated"}),  # Tom: by the email
     ("zoegill@gmail.com", {"zoe", "tom", "undated"}),  # Gmail's dots aside
     ("ZOE.GILL@", {"zoe", "tom", "undated"}), ("zgill@", {"other"}),
     ("604 555 0199", {"zoe"}), ("(604) 555-0199", {"zoe"}),
     ("1980-05-17", {"zoe", "other"}), ("May 17, 1980", {"zoe", "other"}),
     ("17 may 1980", {"zoe", "other"}), ("2014-09-03", {"tom"}),
     ("1980-02-30", set()), ("z", set()), ("%", set()), ("_", set())],
)  # fmt: skip
def test_search_by_name_email_phone_or_date_of_birth(ctx, people, query, who):
    assert set(found(ctx, query)) == {people[w] for w in who}


def test_search_in_the_clinics_language(ctx, people):
    assert set(found(ctx, "17 mai 1980", locale="fr_CA")) == {people["zoe"], people["other"]}


def test_household_and_possible_duplicates(ctx, people):
    zoe = db.session.get(Patient, people["zoe"])
    assert [p.id for p in patients.household(zoe)] == [people["tom"], people["undated"]]
    # The namesake with Zoë's birthday elsewhere, and the undated Zoe of her household.
    assert [p.id for p in patients.duplicates(zoe)] == [people["other"], people["undated"]]
    undated = db.session.get(Patient, people["undated"])
    assert [p.id for p in patients.duplicates(undated)] == [people["zoe"]]
    tom = db.session.get(Patient, people["tom"])
    assert patients.duplicates(tom) == []


def test_a_household_of_twenty(ctx, world):
    parent = person("Ada Many", "many@example.com", born=date(1970, 1, 1))
    children = [
        Patient(name=f"Child {n}", date_of_birth=date(2000 + n % 20, 1, 1 + n),
                contact=parent.contact)
        for n in range(19)
    ]  # fmt: skip
    world.add(parent, *children)
    ada = db.session.get(Patient, parent.id)
    assert len(patients.household(ada)) == 19
    assert len(patients.search("many@example.com", limit=50)) == 20


@pytest.mark.parametrize(
    ("text", "day"),
    [("1980-05-17", date(1980, 5, 17)), ("May 17, 1980", date(1980, 5, 17)),
     ("Saturday, May 17, 1980", date(1980, 5, 17)), ("17 May 1980", date(1980, 5, 17)),
     ("Feb 29, 2000", date(2000, 2, 29)), ("Feb 29, 2001", None), ("May 1980", None),
     ("May 17, 1980 Gill", None), ("17/05/1980", None)],
)  # fmt: skip
def test_typed_dates(text, day):
    assert patients.typed_date(text) == day
