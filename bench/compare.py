"""Benchmark two versions of the app in turns, in one run: old against new, bookings/s first.

    .venv/bin/python bench/compare.py OLD_REV [NEW_REV] [--sizes 100000]

Each revision is checked out into a temporary git worktree (without NEW_REV, "new" is this
checkout as it stands, uncommitted changes included) and served by its own gunicorn from its
own tree, on a database of its own: migrated by that tree's migrations, then seeded by
bench/seed.py with the same seed, so both hold the same data. The bare endpoint, sequential
bookings and bookings with 8 clients then run in turns over the versions, as bench/run.py runs
the sizes. Prints a markdown table (also written to bench/results/compare.md) of each
version's figures and new / old. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import seed
from client import Measure
from config import BENCH, HOST, RESULTS, ROOT
from load import run_concurrent, split
from report import cpu_cells, fmt, git_head, pg_version
from server import ServerSettings, gunicorn
from turns import (
    SizeResult,
    SlotPool,
    Turns,
    booking_request,
    expect_created,
    get_json,
    pick_booking_slots,
)

GIT_TIMEOUT_S = 120
MIGRATE_TIMEOUT_S = 600
MIN_TURNS_FOR_NOISE = 10


@dataclass
class Version(SizeResult):
    """One version of the code at one size: its tree, database, server and measures."""

    label: str = ""  # "old" or "new"
    rev: str = ""  # what was asked for, and the commit it named
    tree: Path = ROOT


# --------------------------------------------------------------------------- checkouts


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def checkout(rev: str, stack: ExitStack) -> tuple[Path, str]:
    """Check `rev` out into a temporary worktree, removed when `stack` closes; return it."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    parent = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    stack.callback(shutil.rmtree, parent, ignore_errors=True)  # runs last: after the removal
    tree = parent / "tree"
    _git("worktree", "add", "--detach", str(tree), commit)
    stack.callback(_remove_worktree, tree)
    return tree, f"{rev} ({commit[:9]})"


def _remove_worktree(tree: Path) -> None:
    try:
        _git("worktree", "remove", "--force", str(tree))
    except (RuntimeError, subprocess.TimeoutExpired):
        shutil.rmtree(tree, ignore_errors=True)
        _git("worktree", "prune")


def migrate_in(tree: Path, url: str) -> None:
    """Run the migrations of the code in `tree`, in a process that imports that code."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(tree), str(BENCH)])}
    done = subprocess.run(
        [sys.executable, "-c", "import sys, seed; seed.migrate(sys.argv[1])", url],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"migrations in {tree} failed:\n{done.stderr[-2000:]}")


def prepare(
    tree: Path, admin_url: str, name: str, size: int, log: Callable[[str], None]
) -> seed.Seeded:
    """Drop and create a database, migrate it with the code in `tree`, seed it."""
    seed.recreate_database(admin_url, name)
    migrate_in(tree, seed.app_url(admin_url, name))
    return seed.seed(seed.libpq_url(admin_url, name), size, seed.NOW, log=log)


def _served_root(port: int) -> Path:
    return Path(get_json(port, "/_bench/source")["root"])


# --------------------------------------------------------------------------- the versions, in turns


def measure_versions(
    revs: list[str | None],
    sizes: list[int],
    args: argparse.Namespace,
    settings: ServerSettings,
    stack: ExitStack,
    log: Callable[[str], None],
) -> list[Version]:
    """Check out, seed and serve every version at every size, then measure them in turns."""
    trees: list[tuple[str, Path, str]] = []
    for label, rev in zip(("old", "new"), revs, strict=True):
        if rev is None:
            trees.append((label, ROOT, f"this checkout, {git_head()}"))
        else:
            tree, described = checkout(rev, stack)
            log(f"== {label}: {described} checked out in {tree}")
            trees.append((label, tree, described))

    versions: list[Version] = []
    for size in sizes:
        for label, tree, described in trees:
            name = f"{args.db}_cmp_{label}_{size}"
            log(f"\n== {label}, {size:,} appointments: seeding {name}")
            if not args.keep_db:
                stack.callback(seed.drop_database, args.admin_url, name)
            seeded = prepare(tree, args.admin_url, name, size, log)
            log(f"  ready in {seeded.seconds:.1f}s")
            urls = seed.libpq_url(args.admin_url, name), seed.app_url(args.admin_url, name)
            versions.append(Version(size, seeded, *urls, label=label, rev=described, tree=tree))

    log("\n== serving every version")
    for v in versions:
        server = gunicorn(settings, v.app_url, seed.NOW, args.log, root=v.tree)
        v.port, v.session = stack.enter_context(server)
        served = _served_root(v.port)
        if served != v.tree.resolve():
            raise RuntimeError(f"{v.label}'s server runs the code in {served}, not {v.tree}")

    n, c, budget = args.requests, args.concurrency, args.phase_seconds
    turns = Turns(versions, args.turns, budget, c, own_backends=True)

    def warm(v: Version, requests: list[Any]) -> None:
        run_concurrent(v.port, split(requests, c), budget)

    bare = ("GET", "/_bench/bare", None)
    log("  warming up")
    for v in versions:
        warm(v, [bare] * 200)
    log("  bare endpoint")
    turns.sequential("bare", lambda v: [bare] * n, "")
    turns.concurrent(f"bare, {c} clients", lambda v: [bare] * (n * c // 2), "")

    log("  picking free slots for bookings")
    week = versions[0].seeded.week_start
    horizon_last = (seed.NOW + timedelta(days=89)).astimezone(seed.ZONE).date()
    conc = args.concurrent_bookings
    need = 8 * c + n + conc
    picked: dict[int, list[tuple[int, str]]] = {}
    planned: dict[str, dict[str, list[Any]]] = {}  # by the version's database, then measure
    for v in versions:
        pool = SlotPool(pick_booking_slots(v.port, week + timedelta(days=7), horizon_last))
        v.pool = pool
        log(f"  {v.label}, {v.size:,}: {len(pool.slots)} free slots; using {need}")
        offered = [(s["therapist_id"], s["start"]) for s in pool.slots]
        if picked.setdefault(v.size, offered) != offered:
            log(f"  ! {v.label} offers other free slots than the first version at {v.size:,}")

        def bookings(
            phase: str, count: int, pool: SlotPool = pool, size: int = v.size
        ) -> list[tuple[str, str, Any]]:
            return [
                booking_request(s, f"s{size}-{phase}-{i}@example.com")
                for i, s in enumerate(pool.take(count))
            ]

        warm(v, bookings("warm", 8 * c))
        planned[v.url] = {"seq": bookings("seq", n), "conc": bookings("conc", conc)}

    log("  bookings")
    turns.sequential("booking, sequential", lambda v: planned[v.url]["seq"], "bare")
    turns.concurrent(
        f"booking, {c} clients", lambda v: planned[v.url]["conc"], f"bare, {c} clients"
    )
    for v in versions:
        expect_created(v.measures["booking, sequential"], log)
        expect_created(v.measures[f"booking, {c} clients"], log)
    return versions


# --------------------------------------------------------------------------- report


def _rate(m: Measure) -> float | None:
    return m.created_per_s if m.name.startswith("booking") else m.throughput


def _part_ratios(old: Measure, new: Measure) -> list[float]:
    """new / old throughput of each turn's pair of parts (concurrent measures only)."""
    ratios = []
    for (n0, c0, w0), (n1, c1, w1) in zip(old.parts, new.parts, strict=False):
        booking = old.name.startswith("booking")
        r0, r1 = (c0, c1) if booking else (n0, n1)
        if w0 and w1 and r0:
            ratios.append((r1 / w1) / (r0 / w0))
    return ratios


def _noise(ratios: list[float]) -> str:
    """Whether 1 lies between the quartiles of the per-turn ratios: no difference shown.

    A rough guide, not a test: `main main` at 1,000 in 4 turns came out at 0.88 with
    quartiles 0.77-0.95 on a busy machine, hence no judgement from fewer than 10 turns.
    """
    if len(ratios) < MIN_TURNS_FOR_NOISE:
        return f"; too few turns to judge the noise (fewer than {MIN_TURNS_FOR_NOISE})"
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    where = "within" if q1 <= 1 <= q3 else "outside"
    return f"; {where} this run's noise (per-turn quartiles {q1:.2f}-{q3:.2f})"


def _ratio(new: float | None, old: float | None) -> str:
    if new is None or old is None or not old:
        return "-"
    return f"{new / old:.3f}"


def report(versions: list[Version], clients: int, header: list[str]) -> str:
    lines = [*header, ""]
    lines += [
        "| size | version | measure | n | client median ms | client p99 ms | server median ms |"
        " req/s | bookings/s | statuses | app CPU ms/req | pg CPU ms/req | client CPU ms/req |"
        " other load |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for v in versions:
        for m in v.measures.values():
            statuses = ", ".join(
                f"{status}: {m.count(status)}" for status in sorted({s.status for s in m.samples})
            )
            lines.append(
                f"| {v.size:,} | {v.label} | {m.name} | {len(m.samples)} |"
                f" {fmt(m.stat('client', 50))} | {fmt(m.stat('client', 99))} |"
                f" {fmt(m.stat('server', 50))} | {fmt(m.throughput, 0)} |"
                f" {fmt(m.created_per_s, 0) if m.name.startswith('booking') else '-'} |"
                f" {statuses} | {cpu_cells(m)} |"
            )

    lines += [
        "",
        "new / old (below 1 for times and CPU is better, above 1 for throughput). Throughput is"
        " bookings/s for the booking rows and req/s for the bare ones; *per turn* is the median"
        " (and range) of the ratio of each turn's two parts, a measure of the noise:",
        "",
        "| size | measure | throughput | per turn | client median | server median |"
        " app CPU/req | pg CPU/req | other load old, new |",
        "|---:|---|---:|---|---:|---:|---:|---:|---|",
    ]
    verdicts: list[str] = []
    for size in sorted({v.size for v in versions}):
        old, new = (
            next(v for v in versions if v.size == size and v.label == k) for k in ("old", "new")
        )
        for name, m0 in old.measures.items():
            m1 = new.measures[name]
            parts = _part_ratios(m0, m1)
            spread = (
                f"{statistics.median(parts):.3f} ({min(parts):.2f}-{max(parts):.2f})"
                if parts
                else "-"
            )
            cpu = [
                _ratio(
                    m1.cpu.per_request_ms(part, len(m1.samples)) if m1.cpu else None,
                    m0.cpu.per_request_ms(part, len(m0.samples)) if m0.cpu else None,
                )
                for part in ("server", "postgres")
            ]
            load = f"{m0.cpu.other_load:.2f}, {m1.cpu.other_load:.2f}" if m0.cpu and m1.cpu else "-"
            lines.append(
                f"| {size:,} | {name} | {_ratio(_rate(m1), _rate(m0))} | {spread} |"
                f" {_ratio(m1.stat('client', 50), m0.stat('client', 50))} |"
                f" {_ratio(m1.stat('server', 50), m0.stat('server', 50))} |"
                f" {cpu[0]} | {cpu[1]} | {load} |"
            )
            if name == f"booking, {clients} clients":
                r0, r1 = _rate(m0), _rate(m1)
                if r0 and r1:
                    verdicts.append(
                        f"- {size:,}: bookings/s with {clients} clients, old {r0:.0f}, new"
                        f" {r1:.0f}: new/old {r1 / r0:.3f}, old/new {r0 / r1:.3f}"
                        f" (per turn new/old {spread}); new is"
                        f" {'not lower' if r1 >= r0 else f'{(1 - r1 / r0) * 100:.1f}% lower'}"
                        + _noise(parts)
                    )
    lines += ["", "Verdict:", "", *verdicts]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def _sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", help="the old revision (a branch, tag or commit)")
    parser.add_argument("new", nargs="?", help="the new revision; default: this checkout")
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--requests", type=int, default=1000, help="per sequential measure")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--concurrent-bookings", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--turns", type=int, default=10, help="parts each measure is cut into, run on every version"
    )
    parser.add_argument("--phase-seconds", type=float, default=120.0, help="cap per measure")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", seed.ADMIN_URL))
    parser.add_argument("--db", default=seed.DB_NAME)
    parser.add_argument("--keep-db", action="store_true", help="leave the databases behind")
    parser.add_argument("--output", type=Path, default=RESULTS / "compare.md")
    args = parser.parse_args(argv)
    args.log = RESULTS / "compare-gunicorn.log"
    args.log.parent.mkdir(parents=True, exist_ok=True)
    args.log.write_bytes(b"")  # this run's server errors only
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = ServerSettings(
        args.workers, args.worker_class, args.threads if args.worker_class == "gthread" else 1
    )
    signal.signal(signal.SIGTERM, _sigterm)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    gc.disable()  # as bench/run.py: the load generator's pauses are not the server's latency
    started = time.perf_counter()
    with ExitStack() as stack:  # stops every server, drops every database, removes the trees
        versions = measure_versions([args.old, args.new], sizes, args, settings, stack, log)
    total = time.perf_counter() - started
    old, new = versions[0], versions[1]
    header = [
        f"# Booking benchmark, old against new, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- old: {old.rev}",
        f"- new: {new.rev}",
        f"- server: {settings.describe()} --keep-alive 30 on {HOST}, one per version and size,"
        f" each from its own tree; PostgreSQL {pg_version(args.admin_url)};"
        f" {os.cpu_count()} CPUs",
        "- seeding: "
        + "; ".join(f"{v.label} {v.size:,} in {v.seeded.seconds:.0f}s" for v in versions),
        f"- requests: {args.requests} per sequential measure, {args.concurrent_bookings}"
        f" bookings over {args.concurrency} clients; every measure in {args.turns} turns over"
        f" the versions; total wall time {total / 60:.1f} min",
    ]
    text = report(versions, args.concurrency, header)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    log(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
