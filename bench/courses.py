"""The course measure: propose and book a 10-visit course from an assessment, as staff do.

A course is two requests to the staff's course pages (booking/staff/courses.py), timed as one
sample: the propose POST, which places every session on the therapist's real availability,
and the book POST with the proposed times, which books them all in one transaction (302 to
the course page). Each course is for a person of its own with an IMS initial assessment on
record (bench/seed.py's course people), planned from that assessment's page as its form fills
itself in (its therapist, the follow-up, weekly, first session tomorrow or a week after it),
with 10 sessions. The forms are read beforehand, untimed. It runs after the booking measures,
in turns like them, so neither takes the other's slots; the proposals read what is free then.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import unescape
from statistics import median

import psycopg
import seed
from client import Client, Measure, Sample
from config import COURSE_SESSIONS, TARGET_COURSE_RATIO
from cpu import cpu_use
from turns import SizeResult, Turns

NAME = f"course: propose + book {COURSE_SESSIONS} visits"
BOOKING = "booking, sequential"  # what a course is compared with
WARM = 8  # courses per size before the measure, one per client, so every worker has run it


@dataclass(frozen=True)
class CoursePlan:
    """One course to book: its assessment, the plan page and the form as the page filled it."""

    assessment: int
    path: str
    fields: tuple[tuple[str, str], ...]


def measure_courses(
    results: Sequence[SizeResult], args: argparse.Namespace, log: Callable[[str], None]
) -> None:
    """Plan, propose and book `--courses` courses per size, in turns; then count their visits."""
    count = args.courses
    if count <= 0:
        return
    if count + WARM > seed.COURSE_PEOPLE:
        raise RuntimeError(f"at most {seed.COURSE_PEOPLE - WARM} courses (--courses {count})")
    log(f"  courses: {count} of {COURSE_SESSIONS} visits per size")
    turns = Turns(results, args.turns, args.phase_seconds, args.concurrency)
    plans: dict[int, list[CoursePlan]] = {}
    cookies: dict[int, str] = {}
    for r in results:
        cookies[r.size], forms = _plan_forms(r, count + WARM)
        warm, plans[r.size] = forms[:WARM], forms[WARM:]
        _warm(r.port, cookies[r.size], warm)

    def step(r: SizeResult, turn: int) -> None:
        before = turns.cpu(r)
        samples, placed, steps = _book_courses(
            r.port, cookies[r.size], turns.part(plans[r.size], turn), turns.budget / turns.turns
        )
        r.course_placed += placed
        r.course_steps += steps
        r.record(Measure(NAME, baseline="bare"), samples, None, cpu_use(before, turns.cpu(r)))

    turns.run(step)
    for r in results:
        r.course_visits = _course_visits(r.url, [p.assessment for p in plans[r.size]])
        m = r.measures[NAME]
        if m.count(302) != len(m.samples) or r.course_visits != len(m.samples) * COURSE_SESSIONS:
            example = next((s.body[:300] for s in m.samples if s.status != 302), b"")
            log(
                f"  ! {r.size:,}: {m.count(302)}/{len(m.samples)} courses booked,"
                f" {r.course_visits} visits; e.g. {example!r}"
            )


def _plan_forms(r: SizeResult, count: int) -> tuple[str, list[CoursePlan]]:
    """The signed-in cookie (with its CSRF secret) and each course's filled-in plan form."""
    with psycopg.connect(r.url) as conn:
        rows = conn.execute(
            "SELECT id FROM appointment WHERE service_id = %s AND status = 'completed'"
            " ORDER BY id LIMIT %s",
            (seed.ASSESSMENT_ID, count),
        ).fetchall()
    if len(rows) < count:
        raise RuntimeError(f"{r.size:,}: {len(rows)} seeded assessments; {count} needed")
    client = Client(r.port, cookie=r.staff_cookie)
    plans = []
    try:
        for (assessment,) in rows:
            path = f"/staff/appointments/{assessment}/course"
            page = client.request("GET", path)
            if page.status != 200:
                raise RuntimeError(f"GET {path} -> {page.status}: {page.body[:200]!r}")
            if b"set-cookie" in page.headers:  # the session's CSRF secret, on the first page
                client.cookie = page.headers[b"set-cookie"].split(b";")[0].decode()
            plans.append(CoursePlan(assessment, path, _fields(page.body.decode())))
    finally:
        client.close()
    return client.cookie, plans


def _fields(page: str) -> tuple[tuple[str, str], ...]:
    """The plan form as the page filled it in (as tests/staff/test_course_pages.py reads it),
    with the course's number of sessions."""
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
    fields.pop("weekdays", None)
    for name, block in re.findall(r'<select[^>]*name="([a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option selected value="([^"]*)"', block).group(1)
    fields["sessions"] = str(COURSE_SESSIONS)
    weekdays = re.findall(r'name="weekdays"[^>]*value="(\d)"[^>]*checked', page) or re.findall(
        r'checked[^>]*name="weekdays"[^>]*value="(\d)"', page
    )
    if "csrf_token" not in fields or fields.get("cadence_days") != "7" or len(weekdays) != 7:
        raise RuntimeError(f"the plan form is not the weekly one it should be: {fields}")
    pairs = [(name, unescape(value)) for name, value in fields.items()]
    return (*pairs, *(("weekdays", day) for day in weekdays))


def _chosen(page: bytes) -> list[tuple[str, str]]:
    """Each session's checked choice on the proposal, the sessions left for later aside."""
    found = re.findall(rb'name="(session-\d+)" value="([^"]+)" checked', page)
    return [(n.decode(), unescape(v.decode())) for n, v in found if v != b"later"]


def _book_courses(
    port: int, cookie: str, plans: Sequence[CoursePlan], budget_s: float
) -> tuple[list[Sample], int, list[tuple[float, float]]]:
    """Propose and book each course on one connection; return a sample per course (both
    requests' times added up, the book POST's status), the sessions proposed as asked and
    each course's two server times."""
    client = Client(port, cookie=cookie)
    samples: list[Sample] = []
    steps: list[tuple[float, float]] = []
    placed = 0
    deadline = time.monotonic() + budget_s
    try:
        for plan in plans:
            proposed = client.request("POST", plan.path, form=[*plan.fields, ("step", "propose")])
            if proposed.status != 200:
                samples.append(proposed)
                continue
            picks = _chosen(proposed.body)
            placed += len(picks)
            form = [*plan.fields, *picks, ("step", "book")]
            booked = client.request("POST", plan.path, form=form)
            server = None
            if proposed.server_ms is not None and booked.server_ms is not None:
                server = proposed.server_ms + booked.server_ms
                steps.append((proposed.server_ms, booked.server_ms))
            client_ms = proposed.client_ms + booked.client_ms
            samples.append(Sample(booked.status, client_ms, server, booked.body, booked.headers))
            if time.monotonic() > deadline:
                break
    finally:
        client.close()
    return samples, placed, steps


def _warm(port: int, cookie: str, plans: Sequence[CoursePlan]) -> None:
    """Book one course per client at once, so that every worker has run both steps."""
    errors: list[str] = []

    def one(plan: CoursePlan) -> None:
        samples, _, _ = _book_courses(port, cookie, [plan], 120.0)
        errors.extend(f"{plan.path} -> {s.status}" for s in samples if s.status != 302)

    threads = [threading.Thread(target=one, args=(plan,), daemon=True) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    if errors:
        raise RuntimeError(f"warming the course pages: {'; '.join(errors)}")


def _course_visits(url: str, assessments: list[int]) -> int:
    """Booked visits of a course, of the people whose assessments the courses came from."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM appointment v JOIN appointment a ON a.patient_id = v.patient_id"
            " WHERE a.id = ANY(%s) AND v.course_id IS NOT NULL AND v.status = 'booked'",
            (assessments,),
        ).fetchone()
    return row[0]


def course_lines(results: Sequence[SizeResult], verdict: Callable[[bool], str]) -> list[str]:
    """The course's target (against one booking, at the largest size) and its checks."""
    measured = [r for r in results if NAME in r.measures and BOOKING in r.measures]
    if not measured:
        return []

    def ratio(r: SizeResult, side: str) -> tuple[float, float, float]:
        course, booking = r.measures[NAME].stat(side, 50), r.measures[BOOKING].stat(side, 50)
        return course, booking, course / booking

    def cpu(m: Measure) -> float:  # app and PostgreSQL, per request: what load moves least
        n = len(m.samples)
        return m.cpu.per_request_ms("server", n) + m.cpu.per_request_ms("postgres", n)

    large = measured[-1]
    course, booking, x = ratio(large, "server")
    client = ratio(large, "client")
    others = ", ".join(f"{r.size:,}: {ratio(r, 'server')[2]:.2f}x" for r in measured[:-1])
    used = [large.measures[NAME], large.measures[BOOKING]]
    cpus = (
        f"; app + pg CPU {cpu(used[0]):.1f} / {cpu(used[1]):.1f} ms"
        if all(m.cpu for m in used)
        else ""
    )
    lines = [
        f"- {verdict(x <= TARGET_COURSE_RATIO)} {NAME}, server median <= {TARGET_COURSE_RATIO:g}x"
        f" {BOOKING}'s at {large.size:,}: {course:.2f} ms / {booking:.2f} ms = {x:.2f}x"
        f" (client: {client[0]:.2f} ms / {client[1]:.2f} ms = {client[2]:.2f}x{cpus}"
        + (f"; server at {others}" if others else "")
        + ")"
    ]
    ok, shown = True, []
    for r in measured:
        m = r.measures[NAME]
        n, booked = len(m.samples), m.count(302)
        ok = ok and booked == n and r.course_visits == r.course_placed == n * COURSE_SESSIONS
        statuses = ", ".join(f"{s}: {m.count(s)}" for s in sorted({s.status for s in m.samples}))
        shown.append(
            f"{r.size:,}: {booked} of {n} answered 302 ({statuses}), {r.course_placed} of"
            f" {n * COURSE_SESSIONS} sessions proposed as asked, {r.course_visits} booked"
        )
    split = "; ".join(
        f"{r.size:,}: propose {median(p for p, _ in r.course_steps):.2f} ms,"
        f" book {median(b for _, b in r.course_steps):.2f} ms"
        for r in measured
        if r.course_steps
    )
    lines.append(f"- (context) the course's two requests, server medians: {split}")
    lines.append(
        f"- {verdict(ok)} course: every course answered 302 and holds its {COURSE_SESSIONS}"
        f" visits ({'; '.join(shown)})"
    )
    return lines
