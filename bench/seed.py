"""Create, migrate and seed the benchmark database with set-based SQL.

The clinic: 20 IMS-certified therapists offering the three services of `booking/demo.py`,
working Mon-Sat 08:00-12:00 and 13:00-18:00 (America/Vancouver). Appointments are 30-minute
IMS follow-ups (10-minute buffer) on a grid of 12 starts a day, 45 minutes apart, so no two
of one therapist overlap, and the 20 appointments sharing a start have 20 different patients:
the database's exclusion constraints accept every row (they are re-checked after the load).

* The measured week (the Monday after `now`, for 7 days) has 40% of its grid cells booked,
  the same cells at every size.
* `COURSE_PEOPLE` people of their own, each with one `completed` IMS initial assessment in the
  lunch hour (11:45, between the grid's mornings and afternoons) of the two weeks before the
  measured week, therapist by therapist: the courses the benchmark plans and books start from
  them, the same at every size.
* The other N - F - COURSE_PEOPLE appointments are `completed` history, packed backwards day
  by day from the Saturday before the measured week: ~2 days of history at 1k, ~1.3 years at
  100k, ~13 years at 1M. History size is the only thing that changes with N.

Usable alone: `python bench/seed.py --size 100000` leaves a seeded `booking_bench`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

ZONE = ZoneInfo("America/Vancouver")
# Sunday 4 April 2027, 12:00 in Vancouver: the app's frozen "now" (config CLOCK).
NOW = datetime(2027, 4, 4, 12, 0, tzinfo=ZONE).astimezone(UTC)
THERAPISTS = 20
# The load stands in for many patients from one address: the rate limit is still checked on
# every booking (its cost is measured), never reached.
UNLIMITED = "100000000 per minute"
# What an IMS initial assessment's booking must carry (the API's `screening` object).
SCREENING = {
    **dict.fromkeys(
        ("blood_thinners", "pregnant", "implant", "needle_phobia", "skin_problem",
         "lymphoedema", "immunocompromised", "metal_allergy"),
        False,
    ),
    "consent": True,
}  # fmt: skip
# 45-minute grid: 08:00 .. 11:00 (5 starts), 13:00 .. 17:30 (7 starts).
GRID = [(8 * 60 + 45 * i) for i in range(5)] + [(13 * 60 + 45 * i) for i in range(7)]
FUTURE_FILL = "((d * 12 + p) * 7 + t * 3) %% 5 < 2"  # 40% of the measured week's cells
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_NAME = "booking_bench"

# The three services exactly as booking/demo.py defines them.
SERVICES = [
    {
        "id": 1,
        "slug": "ims-initial-assessment",
        "name": "IMS initial assessment",
        "description": "A full physical examination for signs of neuropathic pain, your "
        "history and goals, and a first IMS treatment if it is right for you.",
        "preparation": "Wear loose clothing that exposes the painful area, eat beforehand, "
        "and arrive 10 minutes early. Bring a list of your medications.",
        "duration_minutes": 60,
        "buffer_minutes": 10,
        "requires_ims": True,
        "prerequisite_id": None,
    },
    {
        "id": 2,
        "slug": "ims-follow-up",
        "name": "IMS follow-up",
        "description": "IMS treatment that continues your course of care.",
        "preparation": "Wear loose clothing and eat beforehand. Some soreness for a day or "
        "two after needling is normal.",
        "duration_minutes": 30,
        "buffer_minutes": 10,
        "requires_ims": True,
        "prerequisite_id": 1,
    },
    {
        "id": 3,
        "slug": "physio-assessment",
        "name": "Physiotherapy assessment",
        "description": "An assessment and treatment plan without needling.",
        "preparation": "Wear comfortable clothing you can move in.",
        "duration_minutes": 45,
        "buffer_minutes": 0,
        "requires_ims": False,
        "prerequisite_id": None,
    },
]
FOLLOW_UP_ID = 2
ASSESSMENT_ID = 1
# People with an assessment on record and nothing else, for the course measure: one per course
# (a person has one active course), 12 working days x 20 therapists.
COURSE_PEOPLE = 12 * THERAPISTS


@dataclass(frozen=True)
class Seeded:
    size: int
    patients: int
    future: int
    history: int
    assessments: int  # the course people's, one each
    oldest: date
    week_start: date
    seconds: float


def measured_week(now: datetime = NOW) -> date:
    """Return the Monday after `now` (local): the first day of the measured week."""
    today = now.astimezone(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


def app_url(admin_url: str, name: str) -> str:
    base = admin_url.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def libpq_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def recreate_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def migrate(url: str) -> None:
    """Run the real Alembic migrations, in process, as tests/conftest.py does."""
    from flask_migrate import upgrade

    from booking import create_app
    from booking.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _appointment_extras(cur: psycopg.Cursor) -> tuple[list[str], list[str]]:
    """Return (drop, create) statements for the appointment table's secondary structures.

    Constraints and indexes other than the primary key are dropped before the bulk load and
    rebuilt after it from their own catalog definitions; rebuilding checks every row, so the
    seeded data provably satisfies the migration's exclusion, unique and foreign-key rules.
    """
    cur.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'appointment'::regclass AND contype IN ('x', 'u', 'f')
        ORDER BY contype, conname
        """
    )
    constraints = cur.fetchall()
    cur.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'appointment'::regclass AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """
    )
    indexes = cur.fetchall()
    drop = [f'ALTER TABLE appointment DROP CONSTRAINT "{name}"' for name, _ in constraints]
    drop += [f'DROP INDEX "{name}"' for name, _ in indexes]
    create = [definition for _, definition in indexes]
    create += [f'ALTER TABLE appointment ADD CONSTRAINT "{n}" {d}' for n, d in constraints]
    return drop, create


def seed(url: str, size: int, now: datetime = NOW, *, log=print) -> Seeded:
    """Fill a freshly migrated database; `url` is a libpq URL."""
    t0 = time.perf_counter()
    week = measured_week(now)
    patients = max(size // 5, 200)
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute(
            "INSERT INTO clinic (id, name, address, phone, email, timezone, slot_step_minutes,"
            " min_notice_minutes, booking_horizon_days, cancel_cutoff_minutes) VALUES (1,"
            " 'Bench Clinic', '1 Bench Street, Vancouver', '604-555-0100',"
            " 'appointments@bench.example', 'America/Vancouver', 15, 720, 90, 1440)"
        )
        for s in SERVICES:
            cur.execute(
                "INSERT INTO service (id, slug, name, description, preparation,"
                " duration_minutes, buffer_minutes, requires_ims, prerequisite_id, active)"
                " VALUES (%(id)s, %(slug)s, %(name)s, %(description)s, %(preparation)s,"
                " %(duration_minutes)s, %(buffer_minutes)s, %(requires_ims)s,"
                " %(prerequisite_id)s, true)",
                s,
            )
        cur.execute(
            "INSERT INTO therapist (id, name, bio, active, ims_certified,"
            " ims_certification_expires)"
            " SELECT t, 'Therapist ' || lpad(t::text, 2, '0'), 'Physiotherapist; IMS.', true,"
            " true, DATE '2029-12-31' FROM generate_series(1, %s) t",
            (THERAPISTS,),
        )
        cur.execute(
            "INSERT INTO therapist_service (therapist_id, service_id)"
            " SELECT t, s FROM generate_series(1, %s) t, generate_series(1, 3) s",
            (THERAPISTS,),
        )
        cur.execute(
            "INSERT INTO working_hours (therapist_id, weekday, start_time, end_time)"
            " SELECT t, d, w.s, w.e FROM generate_series(1, %s) t, generate_series(0, 5) d,"
            " (VALUES (TIME '08:00', TIME '12:00'), (TIME '13:00', TIME '18:00')) w(s, e)"
            " ORDER BY t, d, w.s",
            (THERAPISTS,),
        )
        cur.execute(  # a contact per person: households change no query the bench times
            "INSERT INTO contact (id, email, email_key, name, created_at)"
            " SELECT p, 'patient' || p || '@bench.example', 'patient' || p || '@bench.example',"
            " '', TIMESTAMPTZ '2010-01-01 00:00+00' FROM generate_series(1, %s) p",
            (patients + COURSE_PEOPLE,),
        )
        cur.execute(
            "INSERT INTO patient (id, contact_id, name, name_key, preferred_name, date_of_birth,"
            " phone, created_at)"
            " SELECT p, p, 'Patient ' || p, 'patient ' || p, '', DATE '1980-01-01' + p %% 9000,"
            " '+16045550199', TIMESTAMPTZ '2010-01-01 00:00+00' FROM generate_series(1, %s) p",
            (patients + COURSE_PEOPLE,),
        )

        drop, create = _appointment_extras(cur)
        for statement in drop:
            cur.execute(statement)

        grid = "(VALUES " + ", ".join(f"({p}, {m})" for p, m in enumerate(GRID)) + ") g(p, m)"
        # The measured week: cells (day d = 0..5, position p, therapist t), time-major, 40%.
        cur.execute(
            f"""
            CREATE TEMP TABLE future AS
            SELECT row_number() OVER (ORDER BY d, p, t) AS k,
                   ((%(week)s::date + d) + make_interval(mins => m))
                       AT TIME ZONE 'America/Vancouver' AS start_at
                 , t
            FROM generate_series(0, 5) d, {grid}, generate_series(1, %(n)s) t
            WHERE {FUTURE_FILL}
            """,
            {"week": week, "n": THERAPISTS},
        )
        cur.execute("SELECT count(*) FROM future")
        future = cur.fetchone()[0]
        history = size - future - COURSE_PEOPLE
        if history < 0:
            least = future + COURSE_PEOPLE
            raise ValueError(
                f"size {size} is below the {least} appointments of the measured week and"
                " the course people's assessments"
            )
        per_day = THERAPISTS * len(GRID)
        # History: k = 0.. packed backwards from the Saturday before the measured week;
        # working day w (0 = that Saturday), then position, then therapist.
        cur.execute(
            f"""
            INSERT INTO appointment (id, reference, therapist_id, service_id, patient_id,
                start_at, end_at, occupied_until, status, source, calendar_uid, sequence,
                manage_token_hash, notes, cancel_reason, created_at, updated_at)
            SELECT k + 1, 'B' || (k + 1), t, {FOLLOW_UP_ID}, k %% %(patients)s + 1,
                   s, s + interval '30 minutes', s + interval '40 minutes',
                   'completed', CASE WHEN k %% 3 = 0 THEN 'staff' ELSE 'online' END,
                   'bench-' || (k + 1) || '@bench.example', 0, 'B' || (k + 1), '', '',
                   s - interval '14 days', s
            FROM (
                SELECT k, t, ((day + 0) + make_interval(mins => g.m))
                           AT TIME ZONE 'America/Vancouver' AS s
                FROM (
                    SELECT k, (k %% {THERAPISTS}) + 1 AS t,
                           (k %% {per_day}) / {THERAPISTS} AS p,
                           %(week)s::date - 7 * ((k / {per_day}) / 6 + 1)
                               + (5 - (k / {per_day}) %% 6) AS day
                    FROM generate_series(0, %(history)s - 1) k
                ) c JOIN {grid} ON g.p = c.p
            ) h
            """,
            {"patients": patients, "week": week, "history": history},
        )
        cur.execute(
            f"""
            INSERT INTO appointment (id, reference, therapist_id, service_id, patient_id,
                start_at, end_at, occupied_until, status, source, calendar_uid, sequence,
                manage_token_hash, notes, cancel_reason, created_at, updated_at)
            SELECT id, 'B' || id, t, {FOLLOW_UP_ID}, (id - 1) %% %(patients)s + 1,
                   start_at, start_at + interval '30 minutes', start_at + interval '40 minutes',
                   'booked', CASE WHEN id %% 3 = 0 THEN 'staff' ELSE 'online' END,
                   'bench-' || id || '@bench.example', 0, 'B' || id, '', '',
                   %(now)s, %(now)s
            FROM (SELECT %(history)s + k AS id, t, start_at FROM future) f
            """,
            {"patients": patients, "history": history, "now": now - timedelta(days=3)},
        )
        _seed_assessments(cur, size, patients, week)
        t_load = time.perf_counter()
        for statement in create:
            cur.execute(statement)
        t_index = time.perf_counter()
        for table in ("appointment", "contact", "patient", "therapist", "service", "working_hours"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        cur.execute("SELECT min(start_at) FROM appointment")
        oldest = cur.fetchone()[0]
        conn.commit()
        log(
            f"  seeded {size:,} appointments ({history:,} history, {future} in the measured"
            f" week, {COURSE_PEOPLE} assessments), {patients:,} patients and"
            f" {COURSE_PEOPLE} course people: load {t_load - t0:.1f}s,"
            f" constraints+indexes {t_index - t_load:.1f}s"
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        # Loading a million rows sets off a checkpoint that would otherwise run during the
        # measures, writing pages and full-page images alongside the benchmark's own
        # bookings. Measure every size from the same settled state, as pgbench does.
        conn.execute("CHECKPOINT")
    seconds = time.perf_counter() - t0
    return Seeded(
        size=size,
        patients=patients,
        future=future,
        history=history,
        assessments=COURSE_PEOPLE,
        oldest=oldest.astimezone(ZONE).date() if oldest else week,
        week_start=week,
        seconds=seconds,
    )


def _seed_assessments(cur: psycopg.Cursor, size: int, patients: int, week: date) -> None:
    """Give each course person (ids after the history's patients) one completed assessment.

    Person i saw therapist i % 20 at 11:45 on working day i // 20 of the two weeks before the
    measured week: 60 minutes and the buffer end at 12:55, inside every therapist's lunch
    break, so the history's follow-ups (which end by 11:40 and start at 13:00) never overlap.
    """
    cur.execute(
        f"""
        INSERT INTO appointment (id, reference, therapist_id, service_id, patient_id,
            start_at, end_at, occupied_until, status, source, calendar_uid, sequence,
            manage_token_hash, notes, cancel_reason, created_at, updated_at)
        SELECT id, 'B' || id, i %% {THERAPISTS} + 1, {ASSESSMENT_ID}, %(patients)s + i + 1,
               s, s + interval '60 minutes', s + interval '70 minutes',
               'completed', 'staff', 'bench-' || id || '@bench.example', 0, 'B' || id, '', '',
               s - interval '7 days', s
        FROM (
            SELECT i, %(size)s - i AS id,
                   ((%(week)s::date - 14 + ((i / {THERAPISTS}) / 6) * 7 + (i / {THERAPISTS}) %% 6)
                       + time '11:45') AT TIME ZONE 'America/Vancouver' AS s
            FROM generate_series(0, {COURSE_PEOPLE} - 1) i
        ) a
        """,
        {"patients": patients, "size": size, "week": week},
    )


def prepare(admin_url: str, name: str, size: int, now: datetime = NOW, *, log=print) -> Seeded:
    """Drop and create the database, run the migrations, seed it, ANALYZE and CHECKPOINT."""
    recreate_database(admin_url, name)
    migrate(app_url(admin_url, name))
    return seed(libpq_url(admin_url, name), size, now, log=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--db", default=DB_NAME)
    args = parser.parse_args()
    info = prepare(args.admin_url, args.db, args.size)
    print(f"{info.size:,} appointments since {info.oldest} in {info.seconds:.1f}s -> {args.db}")


if __name__ == "__main__":
    main()
