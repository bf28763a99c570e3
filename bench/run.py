"""Benchmark the booking app under gunicorn on PostgreSQL at 1k, 100k and 1M appointments.

    .venv/bin/python bench/run.py [--sizes 1000,100000,1000000] [--requests 3000]

For each size: a fresh database, the real migrations, a set-based seed (bench/seed.py), then
gunicorn serving bench/wsgi_bench.py on 127.0.0.1, and stdlib HTTP clients measuring the
availability, booking and race endpoints against a bare endpoint of the same app. Prints a
markdown table (also written to bench/results/latest.md) and PASS/FAIL lines for the targets.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import seed
from config import (
    COURSE_SESSIONS,
    HOST,
    RESULTS,
)
from courses import measure_courses
from report import git_head, pg_version, report
from server import ServerSettings
from turns import measure_sizes

# --------------------------------------------------------------------------- main


def _sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--requests", type=int, default=3000, help="per sequential measure")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--concurrent-bookings", type=int, default=4000)
    parser.add_argument("--race-clients", type=int, default=50)
    parser.add_argument("--race-rounds", type=int, default=10)
    parser.add_argument(
        "--courses",
        type=int,
        default=200,
        help=f"{COURSE_SESSIONS}-visit courses proposed and booked per size (0: none)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--turns", type=int, default=10, help="parts each measure is cut into, run on every size"
    )
    parser.add_argument("--phase-seconds", type=float, default=120.0, help="cap per measure")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", seed.ADMIN_URL))
    parser.add_argument("--db", default=seed.DB_NAME)
    parser.add_argument("--keep-db", action="store_true", help="leave the databases behind")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    args = parser.parse_args(argv)
    args.log = RESULTS / "gunicorn.log"
    args.log.parent.mkdir(parents=True, exist_ok=True)
    args.log.write_bytes(b"")  # this run's server errors only
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = ServerSettings(
        args.workers, args.worker_class, args.threads if args.worker_class == "gthread" else 1
    )
    signal.signal(signal.SIGTERM, _sigterm)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # The load generator's own pauses must not show up as the server's latency: with tens of
    # thousands of samples alive, each with its headers, a full collection stalls whichever
    # request is in flight. Reference counting frees everything else.
    gc.disable()
    started = time.perf_counter()
    with ExitStack() as stack:  # stops every server, then drops every database
        results = measure_sizes(sizes, args, settings, stack, log)
        measure_courses(results, args, log)
    total = time.perf_counter() - started
    header = [
        f"# Booking benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- app: {git_head()}; server: {settings.describe()} --keep-alive 30 on {HOST};"
        f" PostgreSQL {pg_version(args.admin_url)}; {os.cpu_count()} CPUs",
        f"- clinic: {seed.THERAPISTS} therapists; app clock {seed.NOW.isoformat()}"
        f" (Sunday noon in Vancouver); measured week {results[0].seeded.week_start}"
        f" + 6 days, {results[0].seeded.future} appointments booked in it (40% of the grid)",
        "- seeding: " + "; ".join(f"{r.size:,} in {r.seeded.seconds:.0f}s" for r in results),
        f"- requests: {args.requests} per sequential measure, {args.concurrent_bookings}"
        f" bookings over {args.concurrency} clients, {args.race_rounds} race rounds of"
        f" {args.race_clients}, {args.courses} courses of {COURSE_SESSIONS} visits;"
        f" every measure in {args.turns} turns over the sizes;"
        f" total wall time {total / 60:.1f} min",
    ]
    text = report(results, settings, header)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    log(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
