"""A demo clinic in Vancouver: therapists, services, hours, time off and weeks of bookings.

Bookings go through `services.booking.book`, so the demo obeys every rule a real clinic does.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.database import write_transaction
from booking.extensions import db
from booking.mail import outbox
from booking.models import (
    Clinic,
    Closure,
    Patient,
    Role,
    Service,
    Source,
    Therapist,
    TimeOff,
    WorkingHours,
)
from booking.models.screening import KEYS
from booking.services import accounts
from booking.services import catalog as catalogs
from booking.services.availability import find_slots
from booking.services.booking import BookingRequest, PatientDetails, Visit, book
from booking.services.errors import BookingError
from booking.services.screening import needs_screening

ASSESSMENT = "ims-initial-assessment"
FOLLOW_UP = "ims-follow-up"
PHYSIO = "physio-assessment"
REASSESSMENT = "ims-re-assessment"
WEEKDAYS = range(5)


def _hours(spec: dict[range | tuple[int, ...], list[tuple[str, str]]]) -> list[WorkingHours]:
    rows = []
    for days, windows in spec.items():
        for weekday in days:
            for start, end in windows:
                rows.append(
                    WorkingHours(
                        weekday=weekday,
                        start_time=time.fromisoformat(start),
                        end_time=time.fromisoformat(end),
                    )
                )
    return rows


def is_seeded() -> bool:
    return db.session.get(Clinic, 1) is not None


def seed(now: datetime, *, rng: random.Random | None = None) -> int:
    """Create the demo clinic unless one exists; return how many appointments were booked."""
    rng = rng or random.Random(2027)
    with write_transaction() as session:
        if is_seeded():
            return 0
        clinic = Clinic(
            name="Cedar Grove Physiotherapy & IMS",
            address="2150 West Broadway, Vancouver, BC V6K 4L9",
            phone="604-555-0142",
            email="appointments@cedargrove.example",
            timezone="America/Vancouver",
        )
        assessment = Service(
            slug=ASSESSMENT,
            name="IMS initial assessment",
            description="A full physical examination for signs of neuropathic pain, your "
            "history and goals, and a first IMS treatment if it is right for you.",
            preparation="Wear loose clothing that exposes the painful area, eat beforehand, "
            "and arrive 10 minutes early. Bring a list of your medications.",
            duration_minutes=60,
            buffer_minutes=10,
            requires_ims=True,
        )
        follow_up = Service(
            slug=FOLLOW_UP,
            name="IMS follow-up",
            description="IMS treatment that continues your course of care.",
            preparation="Wear loose clothing and eat beforehand. Some soreness for a day or "
            "two after needling is normal.",
            duration_minutes=30,
            buffer_minutes=10,
            requires_ims=True,
            prerequisite=assessment,
        )
        physio = Service(
            slug=PHYSIO,
            name="Physiotherapy assessment",
            description="An assessment and treatment plan without needling.",
            preparation="Wear comfortable clothing you can move in.",
            duration_minutes=45,
            buffer_minutes=0,
        )
        # The clinic's re-assessment: after 10 sessions, or 8 weeks away, the next visit.
        reassessment = Service(
            slug=REASSESSMENT,
            name="IMS re-assessment",
            description="A check of how the treatment is going, after a course of sessions or "
            "a long break, and IMS treatment if it still helps.",
            preparation="Wear loose clothing and eat beforehand.",
            duration_minutes=45,
            buffer_minutes=10,
            requires_ims=True,
            prerequisite=assessment,
            reassessment=True,
        )
        everything = [assessment, follow_up, physio, reassessment]
        therapists = [
            Therapist(
                name="Maya Chen",
                email="maya.chen@cedargrove.example",
                bio="Physiotherapist for 12 years; IMS for chronic neck and back pain.",
                ims_certified=True,
                ims_certification_expires=date(2028, 6, 30),
                services=everything,
                hours=_hours({range(4): [("08:00", "12:00"), ("13:00", "17:00")]}),
            ),
            Therapist(
                name="Daniel Okafor",
                email="daniel.okafor@cedargrove.example",
                bio="Sports physiotherapist; IMS for tendon and shoulder problems.",
                ims_certified=True,
                ims_certification_expires=date(2027, 9, 30),
                services=everything,
                hours=_hours(
                    {
                        (1, 2, 3, 4): [("09:00", "13:00"), ("14:00", "18:00")],
                        (5,): [("09:00", "14:00")],
                    }
                ),
            ),
            Therapist(
                name="Priya Sandhu",
                email="priya.sandhu@cedargrove.example",
                bio="Treats headaches, jaw and nerve pain; certified in IMS since 2015.",
                ims_certified=True,
                ims_certification_expires=date(2028, 1, 31),
                services=everything,
                hours=_hours({(0, 2, 4): [("07:30", "11:30"), ("12:30", "15:30")]}),
            ),
            Therapist(
                name="Tom Bergström",
                email="tom.bergstrom@cedargrove.example",
                bio="Physiotherapist focused on exercise rehabilitation (no needling).",
                services=[physio],
                hours=_hours({WEEKDAYS: [("10:00", "14:00"), ("14:30", "19:00")]}),
            ),
        ]
        session.add_all([clinic, *therapists])
        session.flush()
        zone = clinic.zone
        today = now.astimezone(zone).date()
        next_week = today + timedelta(days=7 - today.weekday() + 1)  # a Tuesday
        session.add_all(
            [
                TimeOff(
                    therapist_id=therapists[1].id,
                    start_at=datetime.combine(next_week, time(0), tzinfo=zone),
                    end_at=datetime.combine(next_week + timedelta(days=1), time(0), tzinfo=zone),
                    reason="Conference",
                ),
                TimeOff(
                    therapist_id=therapists[0].id,
                    start_at=datetime.combine(next_week, time(13), tzinfo=zone),
                    end_at=datetime.combine(next_week, time(17), tzinfo=zone),
                    reason="Appointment",
                ),
            ]
        )
        christmas = date(
            today.year if today <= date(today.year, 12, 26) else today.year + 1, 12, 25
        )
        session.add(
            Closure(starts_on=christmas, ends_on=christmas + timedelta(days=1), reason="Holidays")
        )
    _demo_accounts(now, therapists[0].id)
    booked = _book_demo_patients(now, zone, rng)
    # The demo's invented patients get no email: only bookings made from now on send any.
    outbox.discard_pending("Demo data: not sent.")
    return booked


DEMO_PASSWORD = "demo-clinic-password"  # a local demo only: README says so


def _demo_accounts(now: datetime, maya_id: int) -> None:
    """Sign-ins for the demo's staff workspace, one per role."""
    for email, name, role, therapist_id in (
        ("admin@cedargrove.example", "Alex Admin", Role.ADMIN, None),
        ("reception@cedargrove.example", "Rita Reception", Role.RECEPTION, None),
        ("maya.chen@cedargrove.example", "Maya Chen", Role.THERAPIST, maya_id),
    ):
        accounts.create_user(
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            role=role,
            therapist_id=therapist_id,
            actor="demo",
            now=now,
        )


FIRST = [
    "Ava",
    "Liam",
    "Noah",
    "Olivia",
    "Ethan",
    "Sofia",
    "Lucas",
    "Chloe",
    "Aiden",
    "Mia",
    "Jasmine",
    "Owen",
    "Harpreet",
    "Wei",
    "Fatima",
    "Mateo",
    "Grace",
    "Ravi",
    "Emma",
    "Kenji",
]
LAST = [
    "Nguyen",
    "Singh",
    "Tremblay",
    "Wong",
    "MacDonald",
    "Gill",
    "Roy",
    "Kim",
    "Martin",
    "Lee",
    "Brown",
    "Li",
    "Campbell",
    "Dhillon",
    "Taylor",
    "Wilson",
]


def _book_demo_patients(now: datetime, zone: ZoneInfo, rng: random.Random) -> int:
    catalog = catalogs.current()
    services = {s.slug: s for s in catalog.services.values()}
    today = now.astimezone(zone).date()
    booked = 0
    parent: PatientDetails | None = None
    for n in range(24):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        born = date(rng.randint(1945, 2004), rng.randint(1, 12), rng.randint(1, 28))
        patient = PatientDetails(
            name=f"{first} {last}",
            email=f"{first}.{last}.{n}@example.com".lower(),
            phone=f"604-555-{1000 + n:04d}",
            date_of_birth=born,
        )
        if parent is not None and n % 6 == 1:  # a household: the parent books for a child
            patient = PatientDetails(
                name=f"{first} {parent.name.split()[-1]}",
                email=parent.email,
                phone=parent.phone,
                date_of_birth=date(rng.randint(2009, 2014), rng.randint(1, 12), rng.randint(1, 28)),
                booker=parent.name,
            )
        parent = patient
        kind = PHYSIO if n % 5 == 4 else ASSESSMENT
        day = today + timedelta(days=rng.randint(-14, 10))
        therapist_id = None
        person: tuple[int, int] | None = None  # (person, contact) once on record
        for visit in range(1 if kind == PHYSIO else rng.randint(1, 4)):
            slug = kind if visit == 0 else FOLLOW_UP
            made = _book_on_or_after(catalog, services[slug], day, patient, person, therapist_id,
                                     rng)  # fmt: skip
            if made is None:
                break
            booked += 1
            therapist_id = made.therapist_id
            person = (made.patient_id, _contact_of(made.patient_id))
            day = made.start_at.astimezone(zone).date() + timedelta(days=7)
    return booked


def _contact_of(person_id: int) -> int:
    person = db.session.get(Patient, person_id)
    assert person is not None
    return person.contact_id


def _book_on_or_after(
    catalog: catalogs.Catalog,
    service: catalogs.ServiceInfo,
    day: date,
    patient: PatientDetails,
    person: tuple[int, int] | None,
    therapist_id: int | None,
    rng: random.Random,
) -> Visit | None:
    """Book the first free time from `day`: a new patient, or (a return visit) the person on
    record, as a verified household online or by phone."""
    zone = catalog.clinic.zone
    for offset in range(10):
        candidate = day + timedelta(days=offset)
        as_of = datetime.combine(candidate - timedelta(days=2), time(12), tzinfo=zone)
        therapists = catalog.therapists_for(service, therapist_id)
        slots = find_slots(catalog, service, candidate, candidate, now=as_of, therapists=therapists)
        if not slots:
            continue
        slot = rng.choice(slots)
        source = rng.choice([Source.ONLINE, Source.STAFF])
        answers, pending = None, False
        if needs_screening(service):  # some answered by phone later, a few with a "yes"
            pending = source == Source.STAFF and rng.random() < 0.3
            answers = None if pending else {key: rng.random() < 0.08 for key in KEYS}
        request = BookingRequest(
            service=service.slug,
            start=slot.start,
            patient=None if person else patient,
            person_id=person[0] if person else None,
            contact_id=person[1] if person and source == Source.ONLINE else None,
            therapist_id=slot.therapist_id,
            source=source,
            screening=answers,
            screening_pending=pending,
        )
        try:
            return book(request, now=as_of, actor="demo").appointment
        except BookingError:
            continue
    return None
