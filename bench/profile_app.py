"""Profile the hot paths in process: cProfile plus every SQL statement each request runs.

    .venv/bin/python bench/profile_app.py [--size 100000] [--requests 200] [--reuse]

Seeds `booking_bench` like bench/run.py (or, with --reuse, profiles the database as it is),
builds the app with the same fixed clock, and drives it with Flask's test client, so the
figures exclude gunicorn and HTTP. For each measure it prints the mean time per request,
the SQL statements per request with their time (the driver's execute, which waits for the result),
and the functions that take the most time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import seed

from booking import create_app, statements


class SqlLog:
    """Counts and times every statement sent through `booking.statements` (database.execute).

    It wraps the driver call itself: listening to the engine's cursor events would make
    `booking.statements` hand every statement to SQLAlchemy's slower path (see its docstring).
    Statements the ORM session sends are not counted; the hot paths send none.
    """

    def __init__(self) -> None:
        self.active = False
        self.count = 0
        self.seconds = 0.0
        self.by_statement: dict[str, list[float]] = defaultdict(list)

    def attach(self) -> None:
        real = statements._cursor_execute

        def timed(cursor: Any, statement: str, values: Any) -> None:
            started = time.perf_counter()
            try:
                real(cursor, statement, values)
            finally:
                self._record(statement, time.perf_counter() - started)

        statements._cursor_execute = timed

    def _record(self, statement: str, elapsed: float) -> None:
        if self.active:
            self.count += 1
            self.seconds += elapsed
            self.by_statement[" ".join(statement.split())].append(elapsed)

    def reset(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.by_statement.clear()


# (module, attribute) pairs to time, inclusive; a name imported into several modules is
# wrapped in each, under one label.
TIMED = [
    ("flask.app.Flask", "full_dispatch_request", "flask: dispatch (whole request minus WSGI)"),
    ("booking.api.views", "parse", "  schemas.parse (the request model, incl. email check)"),
    ("booking.services.booking", "book", "  booking.book()"),
    ("booking.services.booking.rules", "free_therapist", "    free_therapist -> find_slots(day)"),
    ("booking.services.booking.people", "ensure", "    people.ensure (contact, person)"),
    (
        "booking.services.booking.writes",
        "write",
        "    writes.write (INSERT appointment, screening)",
    ),
    ("booking.services.audit", "insert_rows", "    insert_rows (audit rows)"),
    ("booking.services.outbox", "insert_rows", "    insert_rows (outbox rows)"),
    ("booking.services.catalog", "current", "    catalog.current (version check)"),
    ("booking.services.booking.rules", "offering_therapist", "  offering_therapist"),
    ("booking.services.availability", "find_slots", "  find_slots"),
    ("booking.api.views", "find_slots", "  find_slots"),
    ("booking.services.availability", "bookable_slots", "    engine.bookable_slots"),
    ("booking.api.views", "_slots", "  _slots (slots -> dicts, isoformat)"),
    ("booking.api.views", "_booking", "  _booking (response dict)"),
    ("booking.api.views", "jsonify", "  jsonify"),
]


class Timers:
    """Wraps functions with inclusive timers (only in this process; no file is changed)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.on = False

    def install(self) -> None:
        import importlib

        for module_name, attr, label in TIMED:
            owner_path, _, cls = module_name.rpartition(".")
            try:
                owner: Any = importlib.import_module(module_name)
            except ModuleNotFoundError:
                owner = getattr(importlib.import_module(owner_path), cls)
            original = getattr(owner, attr)  # a renamed function fails here, not silently
            if getattr(original, "__timed__", False):
                continue
            setattr(owner, attr, self._wrap(original, label))

    def _wrap(self, fn: Any, label: str) -> Any:
        import functools

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return fn(*args, **kwargs)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        timed.__timed__ = True  # type: ignore[attr-defined]
        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def pick_slots(client: Any, first: Any, last: Any, occupied: timedelta) -> list[dict[str, Any]]:
    picked: dict[tuple[int, str], list[dict[str, Any]]] = {}
    day = first
    while day <= last:
        to = min(day + timedelta(days=27), last)
        url = f"/api/v1/availability?service=ims-initial-assessment&from={day}&to={to}"
        for slot in client.get(url).get_json()["slots"]:
            start = datetime.fromisoformat(slot["start"])
            group = picked.setdefault((slot["therapist_id"], start.date().isoformat()), [])
            if not group or start >= datetime.fromisoformat(group[-1]["start"]) + occupied:
                group.append(slot)
        day = to + timedelta(days=1)
    groups = list(picked.values())
    return [g[i] for i in range(max(map(len, groups))) for g in groups if i < len(g)]


def breakdown(
    name: str, client: Any, requests: list[tuple[str, str, Any]], sql: SqlLog, timers: Timers
) -> None:
    """Time the requests without cProfile: inclusive ms per request in the wrapped functions."""
    for method, url, body in requests[:20]:  # warm up
        client.open(url, method=method, json=body)
    measured = requests[20:]
    sql.reset()
    timers.reset()
    sql.active = timers.on = True
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    for method, url, body in measured:
        statuses[client.open(url, method=method, json=body).status_code] += 1
    elapsed = time.perf_counter() - started
    sql.active = timers.on = False
    n = len(measured)
    print(f"\n=== {name}: {n} requests, statuses {dict(statuses)} (no profiler)")
    print(
        f"mean {elapsed / n * 1000:.2f} ms/request through the test client;"
        f" {sql.count / n:.1f} SQL statements/request taking {sql.seconds / n * 1000:.2f} ms"
        " in the driver (send + wait for the result; ORM work around it excluded)"
    )
    print("inclusive ms per request (calls per request):")
    for label in dict.fromkeys(label for _, _, label in TIMED):
        if label in timers.seconds:
            print(
                f"  {timers.seconds[label] / n * 1000:7.2f} ms  ({timers.calls[label] / n:.1f})"
                f"  {label}"
            )
    print("SQL statements per request (count x mean driver ms):")
    for statement, times in sorted(sql.by_statement.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {len(times) / n:5.1f} x {sum(times) / len(times) * 1000:6.3f} ms  {statement[:140]}"
        )


def profile(
    name: str, client: Any, requests: list[tuple[str, str, Any]], sql: SqlLog, top: int
) -> None:
    for method, url, body in requests[:20]:  # warm up
        client.open(url, method=method, json=body)
    measured = requests[20:]
    sql.reset()
    sql.active = True
    statuses: Counter[int] = Counter()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for method, url, body in measured:
        statuses[client.open(url, method=method, json=body).status_code] += 1
    profiler.disable()
    elapsed = time.perf_counter() - started
    sql.active = False
    n = len(measured)
    print(f"\n=== {name}: {n} requests, statuses {dict(statuses)}")
    print(
        f"mean {elapsed / n * 1000:.2f} ms/request under cProfile; SQL: {sql.count / n:.1f}"
        f" statements, {sql.seconds / n * 1000:.2f} ms per request"
    )
    print("statements per request (count, mean ms):")
    for statement, times in sorted(sql.by_statement.items(), key=lambda kv: -sum(kv[1])):
        print(
            f"  {len(times) / n:5.1f} x {sum(times) / len(times) * 1000:6.3f} ms  {statement[:150]}"
        )
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--cprofile", action="store_true", help="also run under cProfile")
    parser.add_argument("--reuse", action="store_true", help="profile the existing database")
    parser.add_argument("--admin-url", default=seed.ADMIN_URL)
    parser.add_argument("--db", default=seed.DB_NAME)
    parser.add_argument("--only", default="one,all,book", help="comma list of: one,all,book")
    args = parser.parse_args()
    if not args.reuse:
        seed.prepare(args.admin_url, args.db, args.size)
    timers = Timers()
    timers.install()  # before the app imports its views' names
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": seed.app_url(args.admin_url, args.db),
            "SECRET_KEY": "bench",
            "BASE_URL": "http://127.0.0.1",
            "BOOKING_RATE_LIMIT": seed.UNLIMITED,
            "CLOCK": lambda: seed.NOW,
        }
    )
    sql = SqlLog()
    sql.attach()
    client = app.test_client()
    week = seed.measured_week()
    end = week + timedelta(days=6)
    base = f"/api/v1/availability?service=ims-follow-up&from={week}&to={end}"
    n = args.requests + 20
    only = set(args.only.split(","))
    runs = 2 if args.cprofile else 1
    measures: list[tuple[str, list[list[tuple[str, str, Any]]]]] = []
    if "one" in only:
        one = [("GET", f"{base}&therapist={1 + i % 20}", None) for i in range(n)]
        measures.append(("availability, 1 therapist, 1 week", [one] * runs))
    if "all" in only:
        measures.append(("availability, 20 therapists, 1 week", [[("GET", base, None)] * n] * runs))
    if "book" in only:
        last = (seed.NOW + timedelta(days=89)).astimezone(seed.ZONE).date()
        slots = pick_slots(client, week + timedelta(days=7), last, timedelta(minutes=70))
        stamp = int(time.time())
        lists = []
        for run in range(runs):
            lists.append(
                [
                    (
                        "POST",
                        "/api/v1/bookings",
                        {
                            "service": "ims-initial-assessment",
                            "start": s["start"],
                            "therapist_id": s["therapist_id"],
                            "patient": {
                                "name": "Profile Patient",
                                "email": f"profile-{stamp}-{run}-{i}@example.com",
                                "phone": "604-555-0123",
                                "date_of_birth": "1980-05-17",
                            },
                            "screening": seed.SCREENING,
                        },
                    )
                    for i, s in enumerate(slots[run * n : (run + 1) * n])
                ]
            )
        measures.append(("booking, sequential", lists))
    for name, lists in measures:
        breakdown(name, client, lists[0], sql, timers)
        if args.cprofile:
            profile(name, client, lists[1], sql, args.top)


if __name__ == "__main__":
    main()
