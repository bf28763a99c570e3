"""Each size measured in turns: its results, the free slots bookings take, the checks."""

from __future__ import annotations

import argparse
import gc
import json
import re
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
import seed
from client import Client, Measure, Sample
from config import (
    AVAIL_SERVICE,
    BOOK_SERVICE,
)
from cpu import CpuSnapshot, CpuUse, cpu_snapshot, cpu_use
from load import run_concurrent, run_sequential, split
from server import ServerSettings, gunicorn, staff_session

# --------------------------------------------------------------------------- the sizes, in turns


@dataclass
class SizeResult:
    """One size: its database and server, and what was measured on them."""

    size: int
    seeded: seed.Seeded
    url: str  # libpq URL of its database, for the benchmark's own checks
    app_url: str  # SQLAlchemy URL of the same database, for the app
    port: int = 0
    session: int = 0  # of its gunicorn processes, for CPU accounting
    measures: dict[str, Measure] = field(default_factory=dict)
    race_rounds: list[tuple[int, int, int, int]] = field(default_factory=list)
    # (201s, 409s, others, rows in the database)
    race_codes: dict[str, int] = field(default_factory=dict)  # codes of the refused requests
    pool: SlotPool | None = None
    staff_cookie: str = ""  # a reception account's session, for the day view
    visits_on_tuesday: int = 0  # the measured day view's, counted in the database
    course_placed: int = 0  # sessions the measured courses' proposals placed as asked
    course_visits: int = 0  # the measured courses' booked visits, counted in the database
    course_steps: list[tuple[float, float]] = field(default_factory=list)  # propose, book ms

    def record(self, m: Measure, samples: list[Sample], wall: float | None, cpu: CpuUse) -> None:
        """Add one turn's samples, wall time and CPU to the measure `m` of this size."""
        m = self.measures.setdefault(m.name, m)
        for sample in samples:  # checked already: keep only a refusal's words
            if sample.status < 400:
                sample.body, sample.headers = b"", {}
        m.samples.extend(samples)
        m.parts.append((len(samples), sum(1 for s in samples if s.status == 201), wall))
        if wall is not None:
            m.wall_s = (m.wall_s or 0.0) + wall
        m.cpu = cpu if m.cpu is None else m.cpu + cpu


def get_json(port: int, path: str) -> Any:
    client = Client(port)
    try:
        sample = client.request("GET", path)
    finally:
        client.close()
    if sample.status != 200:
        raise RuntimeError(f"GET {path} -> {sample.status}: {sample.body[:300]!r}")
    return json.loads(sample.body)


def pick_booking_slots(port: int, first: date, last: date) -> list[dict[str, Any]]:
    """Return bookable, mutually non-overlapping slots, spread across therapists and days.

    Per therapist and day, starts are taken greedily so that each one begins after the
    previous one's duration + buffer; then the picks are interleaved: every (therapist, day)
    gives its first pick, then every one its second, and so on.
    """
    services = {s["slug"]: s for s in get_json(port, "/api/v1/services")["services"]}
    occupied = timedelta(
        minutes=services[BOOK_SERVICE]["duration_minutes"]
        + services[BOOK_SERVICE]["buffer_minutes"]
    )
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    day = first
    while day <= last:
        to = min(day + timedelta(days=27), last)
        slots = get_json(port, f"/api/v1/availability?service={BOOK_SERVICE}&from={day}&to={to}")[
            "slots"
        ]
        for slot in slots:
            start = datetime.fromisoformat(slot["start"])
            key = (slot["therapist_id"], start.date().isoformat())
            picked = groups.setdefault(key, [])
            if not picked or start >= datetime.fromisoformat(picked[-1]["start"]) + occupied:
                picked.append(slot)
        day = to + timedelta(days=1)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    out: list[dict[str, Any]] = []
    for rank in range(max((len(v) for v in groups.values()), default=0)):
        out.extend(v[rank] for _, v in ordered if rank < len(v))
    return out


class SlotPool:
    def __init__(self, slots: list[dict[str, Any]]) -> None:
        self.slots = slots
        self.used = 0

    def take(self, n: int) -> list[dict[str, Any]]:
        if self.used + n > len(self.slots):
            raise RuntimeError(f"only {len(self.slots)} free slots to book; asked {self.used + n}")
        taken = self.slots[self.used : self.used + n]
        self.used += n
        return taken


def booking_request(slot: dict[str, Any], email: str) -> tuple[str, str, Any]:
    payload = {
        "service": BOOK_SERVICE,
        "start": slot["start"],
        "therapist_id": slot["therapist_id"],
        "patient": {
            "name": "Bench Patient",
            "email": email,
            "phone": "604-555-0123",
            "date_of_birth": "1980-05-17",
        },
        "screening": seed.SCREENING,
    }
    return ("POST", "/api/v1/bookings", payload)


@dataclass
class Turns:
    """Run measures in turns over some targets (sizes, or versions of the code).

    Every measure is cut into `turns` parts, and each part runs on every target in turn,
    starting with a different target each time; a target's parts are added up.
    """

    targets: Sequence[SizeResult]
    turns: int
    budget: float  # seconds per measure and target, shared by its turns
    clients: int  # of the concurrent measures
    own_backends: bool = False  # pg CPU: the target database's backends only

    def cpu(self, r: SizeResult) -> CpuSnapshot:
        return cpu_snapshot(r.session, r.url.rsplit("/", 1)[1] if self.own_backends else None)

    def rotation(self, turn: int) -> list[SizeResult]:
        """Every target once, starting with a different one each turn."""
        first = turn % len(self.targets)
        return [*self.targets[first:], *self.targets[:first]]

    def run(self, step: Callable[[SizeResult, int], None]) -> None:
        for turn in range(self.turns):
            for r in self.rotation(turn):
                step(r, turn)
                gc.collect()  # between turns, outside every timed part (the bench runs without)

    def part(self, requests: Sequence[Any], turn: int) -> Sequence[Any]:
        n, turns = len(requests), self.turns
        return requests[turn * n // turns : (turn + 1) * n // turns]

    def sequential(
        self,
        name: str,
        requests: Callable[[SizeResult], list[Any]],
        baseline: str,
        signed_in: bool = False,
        check: Callable[[SizeResult, list[Sample]], None] | None = None,
    ) -> None:
        def step(r: SizeResult, turn: int) -> None:
            cookie = r.staff_cookie if signed_in else ""
            before = self.cpu(r)
            samples = run_sequential(
                r.port, self.part(requests(r), turn), self.budget / self.turns, cookie
            )
            if check is not None:
                check(r, samples)
            r.record(
                Measure(name, baseline=baseline),
                samples,
                None,
                cpu_use(before, self.cpu(r)),
            )

        self.run(step)

    def concurrent(
        self, name: str, requests: Callable[[SizeResult], list[Any]], baseline: str
    ) -> None:
        c = self.clients

        def step(r: SizeResult, turn: int) -> None:
            before = self.cpu(r)
            samples, wall = run_concurrent(
                r.port, split(self.part(requests(r), turn), c), self.budget / self.turns
            )
            cpu = cpu_use(before, self.cpu(r))
            r.record(Measure(name, concurrency=c, baseline=baseline), samples, wall, cpu)

        self.run(step)


def measure_sizes(
    sizes: list[int],
    args: argparse.Namespace,
    settings: ServerSettings,
    stack: ExitStack,
    log: Callable[[str], None],
) -> list[SizeResult]:
    """Seed a database and start a server per size, then measure them in turns.

    Every measure is cut into `--turns` parts, and each part runs on every size in turn,
    starting with a different size each time. Phases minutes apart see the shared machine
    differ by a quarter or more; in turns, what the machine does meanwhile falls on every size
    alike, so the growth from the smallest to the largest size is the database's, not the
    machine's.
    """
    results: list[SizeResult] = []
    for size in sizes:
        name = f"{args.db}_{size}"
        log(f"\n== {size:,} appointments: seeding {name}")
        if not args.keep_db:
            stack.callback(seed.drop_database, args.admin_url, name)
        seeded = seed.prepare(args.admin_url, name, size, seed.NOW, log=log)
        log(f"  ready in {seeded.seconds:.1f}s (history since {seeded.oldest})")
        urls = seed.libpq_url(args.admin_url, name), seed.app_url(args.admin_url, name)
        results.append(SizeResult(size, seeded, *urls))
    log("\n== serving every size")
    for r in results:
        server = gunicorn(settings, r.app_url, seed.NOW, args.log)
        r.port, r.session = stack.enter_context(server)

    week = results[0].seeded.week_start
    week_end = week + timedelta(days=6)
    n, c, budget = args.requests, args.concurrency, args.phase_seconds
    turns = Turns(results, args.turns, budget, c)
    sequential, concurrent = turns.sequential, turns.concurrent

    def warm(r: SizeResult, requests: list[Any], cookie: str = "") -> None:
        run_concurrent(r.port, split(requests, c), budget, cookie)

    bare = ("GET", "/_bench/bare", None)
    week_path = f"/api/v1/availability?service={AVAIL_SERVICE}&from={week}&to={week_end}"
    one = [(("GET", f"{week_path}&therapist={1 + i % seed.THERAPISTS}", None)) for i in range(n)]
    everyone = [("GET", week_path, None)] * n
    log("  warming up")
    for r in results:
        warm(r, [bare] * 200)
        warm(r, one[:80])
        warm(r, everyone[:40])
        _check_availability(r.port, week, week_end)

    log("  bare endpoint")
    sequential("bare", lambda r: [bare] * n, "")
    concurrent(f"bare, {c} clients", lambda r: [bare] * (n * c // 2), "")
    log("  availability")
    sequential("availability: 1 therapist, 1 week", lambda r: one, "bare")
    sequential("availability: 20 therapists, 1 week", lambda r: everyone, "bare")
    log("  the staff's day view")
    tuesday = week + timedelta(days=1)
    day_view = [("GET", f"/staff/day?date={tuesday}", None)] * n
    for r in results:
        r.staff_cookie = staff_session(r.port, r.app_url)
        r.visits_on_tuesday = _visits_on(r.url, tuesday)
        warm(r, day_view[:40], r.staff_cookie)
    sequential("staff day view", lambda r: day_view, "bare", signed_in=True, check=_day_view_shows)

    log("  picking free slots for bookings")
    horizon_last = (seed.NOW + timedelta(days=89)).astimezone(seed.ZONE).date()
    n_conc = args.concurrent_bookings
    need = 8 * c + n + n_conc + args.race_rounds

    def bookings(r: SizeResult, phase: str, count: int) -> list[tuple[str, str, Any]]:
        slots = r.pool.take(count)
        return [
            booking_request(s, f"s{r.size}-{phase}-{i}@example.com") for i, s in enumerate(slots)
        ]

    planned: dict[int, dict[str, list[Any]]] = {}
    for r in results:
        r.pool = SlotPool(pick_booking_slots(r.port, week + timedelta(days=7), horizon_last))
        log(f"  {r.size:,}: {len(r.pool.slots)} non-overlapping free slots; using {need}")
        warm(r, bookings(r, "warm", 8 * c))
        planned[r.size] = {"seq": bookings(r, "seq", n), "conc": bookings(r, "conc", n_conc)}

    log("  bookings")
    sequential("booking, sequential", lambda r: planned[r.size]["seq"], "bare")
    concurrent(f"booking, {c} clients", lambda r: planned[r.size]["conc"], f"bare, {c} clients")
    for r in results:
        expect_created(r.measures["booking, sequential"], log)
        expect_created(r.measures[f"booking, {c} clients"], log)

    log(f"  {args.race_clients}-way race x {args.race_rounds}")
    race_name = f"race, {args.race_clients} clients"
    races = {r.size: r.pool.take(args.race_rounds) for r in results}
    for round_ in range(args.race_rounds):
        for r in turns.rotation(round_):
            slot = races[r.size][round_]
            requests = [
                [booking_request(slot, f"s{r.size}-race{round_}-{i}@example.com")]
                for i in range(args.race_clients)
            ]
            before = cpu_snapshot(r.session)
            samples, _ = run_concurrent(r.port, requests, budget)
            cpu = cpu_use(before, cpu_snapshot(r.session))
            race = Measure(race_name, concurrency=args.race_clients, baseline=f"bare, {c} clients")
            r.record(race, samples, None, cpu)
            created = sum(1 for s in samples if s.status == 201)
            refused = sum(1 for s in samples if s.status == 409)
            rows = _rows_at(r.url, slot)
            r.race_rounds.append((created, refused, len(samples) - created - refused, rows))
            for sample in samples:
                if sample.status != 201:
                    code = _error_code(sample.body)
                    r.race_codes[code] = r.race_codes.get(code, 0) + 1
    return results


def _error_code(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "unparsable"


def _check_availability(port: int, first: date, last: date) -> None:
    """Fail loudly if the measured week is not what the benchmark claims to measure."""
    path = f"/api/v1/availability?service={AVAIL_SERVICE}&from={first}&to={last}"
    everyone = get_json(port, path)["slots"]
    one = get_json(port, path + "&therapist=1")["slots"]
    therapists = {s["therapist_id"] for s in everyone}
    if len(therapists) != seed.THERAPISTS or not one:
        raise RuntimeError(f"measured week offers {len(everyone)} slots from {therapists}")


def _day_view_shows(r: SizeResult, samples: list[Sample]) -> None:
    """Fail loudly unless every day view was the signed-in page with every visit of the day."""
    for s in samples:
        shown = len(set(re.findall(rb'href="/staff/appointments/(\d+)"', s.body)))
        if s.status != 200 or b"Bench Desk" not in s.body or shown != r.visits_on_tuesday:
            raise RuntimeError(
                f"day view -> {s.status}, {shown} of {r.visits_on_tuesday} visits: {s.body[:200]!r}"
            )


def _visits_on(url: str, day: date) -> int:
    """Appointments that start on `day` in the clinic's zone, of any status."""
    start = datetime.combine(day, datetime.min.time(), seed.ZONE)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), seed.ZONE)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM appointment WHERE start_at >= %s AND start_at < %s", (start, end)
        ).fetchone()
    if not row[0]:
        raise RuntimeError(f"no visits on {day}: the day view would measure an empty day")
    return row[0]


def expect_created(m: Measure, log: Callable[[str], None]) -> None:
    created, total = m.count(201), len(m.samples)
    if created != total:
        statuses = sorted({s.status for s in m.samples})
        example = next((s.body[:200] for s in m.samples if s.status != 201), b"")
        log(f"  ! {m.name}: {created}/{total} created; statuses {statuses}; e.g. {example!r}")


def _rows_at(url: str, slot: dict[str, Any]) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM appointment WHERE therapist_id = %s AND start_at = %s"
            " AND status <> 'cancelled'",
            (slot["therapist_id"], datetime.fromisoformat(slot["start"])),
        ).fetchone()
    return row[0]
