"""The markdown table of a run and its PASS/FAIL lines for the targets."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable

import psycopg
from client import Measure
from config import (
    ROOT,
    TARGET_ALL_MS,
    TARGET_BOOKINGS_PER_S,
    TARGET_GROWTH,
    TARGET_ONE_MS,
)
from courses import course_lines
from server import ServerSettings
from turns import SizeResult

# --------------------------------------------------------------------------- report


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def report(results: list[SizeResult], settings: ServerSettings, header: list[str]) -> str:
    lines = [*header, ""]
    lines += [
        "| size | measure | n | client median ms | client p99 ms | server median ms |"
        " server p99 ms | server x bare | client x bare | req/s | bookings/s | statuses |"
        " app CPU ms/req | pg CPU ms/req | client CPU ms/req | other load |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for m in r.measures.values():
            base = r.measures.get(m.baseline) if m.baseline else None
            server_ratio = client_ratio = None
            if base is not None:
                server_ratio = m.stat("server", 50) / base.stat("server", 50)
                client_ratio = m.stat("client", 50) / base.stat("client", 50)
            statuses = ", ".join(
                f"{status}: {m.count(status)}" for status in sorted({s.status for s in m.samples})
            )
            ratio_note = f" (vs {m.baseline})" if base is not None and m.baseline != "bare" else ""
            lines.append(
                f"| {r.size:,} | {m.name} | {len(m.samples)} | {fmt(m.stat('client', 50))} |"
                f" {fmt(m.stat('client', 99))} | {fmt(m.stat('server', 50))} |"
                f" {fmt(m.stat('server', 99))} | {fmt(server_ratio, 1)}{ratio_note} |"
                f" {fmt(client_ratio, 1)} | {fmt(m.throughput, 0)} |"
                f" {fmt(m.created_per_s, 0) if m.name.startswith('booking') else '-'} |"
                f" {statuses} | {cpu_cells(m)} |"
            )
    lines.append("")
    lines.append(
        "Ratios: a row's median over the bare endpoint's median in the same run, client"
        " to client and server to server; sequential rows use `bare`, concurrent rows (and"
        " the race) use the concurrent bare row. req/s: all responses over the wall time of"
        " a concurrent run; bookings/s: 201s over that wall time. app CPU ms/req: CPU time"
        " of the gunicorn processes during the measure's turns divided by its requests;"
        " pg CPU ms/req:"
        " the same for all postgres processes; client CPU ms/req: the same for this load"
        " generator, which shares the 2 cores; other load: average cores used by everything"
        " else on the machine during those turns (other users' work competes for the 2 cores)."
    )

    # Race rounds.
    lines.append("")
    lines.append("Race rounds (201 / 409 / other responses, active rows at that slot afterwards):")
    for r in results:
        desc = "; ".join(f"{a}/{b}/{o}, {rows} row" for a, b, o, rows in r.race_rounds)
        codes = ", ".join(f"{code} x{count}" for code, count in sorted(r.race_codes.items()))
        lines.append(f"- {r.size:,}: {desc} (refusals: {codes or 'none'})")

    # Growth from the smallest to the largest size.
    growth_fail: list[str] = []
    p99_fail: list[str] = []

    if len(results) > 1:
        small, large = results[0], results[-1]
        lines += [
            "",
            f"Growth from {small.size:,} to {large.size:,} appointments (x = large / small;"
            f" for throughput small / large), flagged above {TARGET_GROWTH}x. The sizes were"
            " measured in turns, so the machine's drift falls on each alike. The last column,"
            " not a target, compares the app's CPU time per request:",
            "",
            "| measure | client median | client p99 | server median | server p99 | throughput |"
            " app CPU/req (context) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, m1 in large.measures.items():
            m0 = small.measures.get(name)
            if m0 is None:
                continue
            cells = []
            for side, q, bucket in (
                ("client", 50, growth_fail),
                ("client", 99, p99_fail),
                ("server", 50, growth_fail),
                ("server", 99, p99_fail),
            ):
                ratio = m1.stat(side, q) / m0.stat(side, q)
                flagged = ratio > TARGET_GROWTH
                if flagged and not name.startswith("bare"):
                    bucket.append(f"{name} {side} {'median' if q == 50 else 'p99'} {ratio:.2f}x")
                cells.append(f"{ratio:.2f}x{' **>1.3**' if flagged else ''}")
            if m1.throughput and m0.throughput:
                ratio = m0.throughput / m1.throughput
                flagged = ratio > TARGET_GROWTH
                if flagged and not name.startswith("bare"):
                    growth_fail.append(f"{name} throughput {ratio:.2f}x")
                cells.append(f"{ratio:.2f}x{' **>1.3**' if flagged else ''}")
            else:
                cells.append("-")
            if m0.cpu and m1.cpu and m0.cpu.server:
                cpu0 = m0.cpu.per_request_ms("server", len(m0.samples))
                cpu1 = m1.cpu.per_request_ms("server", len(m1.samples))
                cells.append(f"{cpu1 / cpu0:.2f}x" if cpu0 else "-")
            else:
                cells.append("-")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")

    # Targets.
    def per_size(name: str, getter: Callable[[Measure], float | None]) -> list[tuple[int, float]]:
        out = []
        for r in results:
            m = next((m for k, m in r.measures.items() if k.startswith(name)), None)
            value = getter(m) if m is not None else None
            out.append((r.size, float("nan") if value is None else value))
        return out

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    lines += ["", "Targets:", ""]
    one = per_size("availability: 1 therapist", lambda m: m.stat("server", 50))
    every = per_size("availability: 20 therapists", lambda m: m.stat("server", 50))
    rate = per_size(f"booking, {settings_clients(results)} clients", lambda m: m.created_per_s)
    for label, values, ok in (
        (
            f"one therapist's week, server median < {TARGET_ONE_MS:g} ms",
            one,
            all(v < TARGET_ONE_MS for _, v in one),
        ),
        (
            f"all 20 therapists' week, server median < {TARGET_ALL_MS:g} ms",
            every,
            all(v < TARGET_ALL_MS for _, v in every),
        ),
        (
            f">= {TARGET_BOOKINGS_PER_S:g} bookings/s with {settings_clients(results)} clients",
            rate,
            all(v >= TARGET_BOOKINGS_PER_S for _, v in rate),
        ),
    ):
        shown = ", ".join(f"{size:,}: {v:.2f}" for size, v in values)
        lines.append(f"- {verdict(ok)} {label} ({shown})")
    if len(results) > 1:
        lines.append(
            f"- {verdict(not growth_fail)} largest/smallest <= {TARGET_GROWTH}x for every median"
            f" and throughput" + (f" (over: {'; '.join(growth_fail)})" if growth_fail else "")
        )
        lines.append(
            f"- {verdict(not p99_fail)} largest/smallest <= {TARGET_GROWTH}x for every p99"
            + (f" (over: {'; '.join(p99_fail)})" if p99_fail else "")
        )
    else:
        lines.append("- n/a growth (run more than one size)")
    one_winner = all(a == 1 and rows == 1 for r in results for a, _, _, rows in r.race_rounds)
    all_409 = all(b == len_race(r) - 1 for r in results for a, b, _, _ in r.race_rounds if a == 1)
    lines.append(
        f"- {verdict(one_winner)} race: exactly one 201 per round and exactly one active row"
        " at the slot afterwards"
    )
    lines.append(
        f"- {verdict(all_409)} race: every other request refused with 409"
        + ("" if all_409 else " (see the refusal codes above and bench/results/gunicorn.log)")
    )
    lines += course_lines(results, verdict)
    return "\n".join(lines)


def cpu_cells(m: Measure) -> str:
    if m.cpu is None:
        return "- | - | - | -"
    n = len(m.samples)
    return (
        f"{m.cpu.per_request_ms('server', n):.1f} | {m.cpu.per_request_ms('postgres', n):.1f}"
        f" | {m.cpu.per_request_ms('client', n):.1f} | {m.cpu.other_load:.2f}"
    )


def settings_clients(results: list[SizeResult]) -> int:
    for r in results:
        for m in r.measures.values():
            if m.name.startswith("booking,") and m.concurrency > 1:
                return m.concurrency
    return 0


def len_race(r: SizeResult) -> int:
    race = next(m for k, m in r.measures.items() if k.startswith("race"))
    return len(race.samples) // max(1, len(r.race_rounds))


def git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "booking", "migrations"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pg_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]
