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
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import astuple, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import seed

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
BOOK_SERVICE = "ims-initial-assessment"
AVAIL_SERVICE = "ims-follow-up"
TARGET_ONE_MS = 5.0
TARGET_ALL_MS = 25.0
TARGET_BOOKINGS_PER_S = 500.0
TARGET_GROWTH = 1.3


# --------------------------------------------------------------------------- HTTP client


@dataclass
class Sample:
    status: int
    client_ms: float
    server_ms: float | None
    body: bytes
    headers: dict[bytes, bytes] = field(default_factory=dict)


class ServerClosed(ConnectionError):
    """The server closed a keep-alive connection before answering."""


class Client:
    """One keep-alive HTTP/1.1 connection to the server (reopened if the server closes it).

    Written on a bare socket rather than `http.client`: the load generator shares the two
    cores with gunicorn and PostgreSQL, and `http.client`'s header parsing alone cost
    0.1-0.2 ms of CPU per request, time taken from the server being measured. It speaks
    only what gunicorn answers here: a status line, headers and a Content-Length body.
    """

    def __init__(self, port: int, timeout: float = 60.0, cookie: str = "") -> None:
        self.port = port
        self.timeout = timeout
        self.cookie = cookie  # a signed-in staff session, for the workspace's pages
        self.sock: socket.socket | None = None
        self.pending = b""

    def connect(self) -> None:
        self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def request(
        self, method: str, path: str, payload: Any = None, form: dict[str, str] | None = None
    ) -> Sample:
        head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
        if self.cookie:
            head += f"Cookie: {self.cookie}\r\n"
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif form is not None:
            body = urlencode(form).encode()
            head += (
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
        message = head.encode() + b"\r\n" + body
        for attempt in (1, 2):
            if self.sock is None:
                self.connect()
            started = time.perf_counter()
            try:
                self.sock.sendall(message)
                status, headers, data = self._response()
            except (ServerClosed, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server had closed: only safe to retry
                # a GET, or a POST that never reached the server (closed before sending).
                self.close()
                if attempt == 2 or method != "GET":
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if headers.get(b"connection", b"").lower() == b"close":
                self.close()
            timing = _server_ms(headers.get(b"server-timing"))
            return Sample(status, elapsed, timing, data, headers)
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        while (end := self.pending.find(b"\r\n\r\n")) < 0:
            self._receive()
        lines = self.pending[:end].split(b"\r\n")
        self.pending = self.pending[end + 4 :]
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" not in headers:
            raise RuntimeError(f"a response without Content-Length: {lines[0]!r}")
        length = int(headers[b"content-length"])
        while len(self.pending) < length:
            self._receive()
        data, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, data

    def _receive(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ServerClosed("the server closed the connection")
        self.pending += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.pending = b""


def _server_ms(timing: bytes | None) -> float | None:
    for part in (timing or b"").decode().split(";"):
        if part.strip().startswith("dur="):
            return float(part.strip()[4:])
    return None


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Measure:
    name: str
    samples: list[Sample] = field(default_factory=list)
    wall_s: float | None = None  # for concurrent runs: throughput = count / wall
    parts: list[tuple[int, int, float | None]] = field(default_factory=list)
    # (responses, 201s, wall time) of each turn's part
    concurrency: int = 1
    baseline: str = ""  # the bare measure this one is compared with
    cpu: CpuUse | None = None

    def client(self) -> list[float]:
        return [s.client_ms for s in self.samples]

    def server(self) -> list[float]:
        return [s.server_ms for s in self.samples if s.server_ms is not None]

    def stat(self, side: str, q: float) -> float:
        values = self.client() if side == "client" else self.server()
        if not values:
            return float("nan")
        return statistics.median(values) if q == 50 else percentile(values, q)

    def count(self, status: int) -> int:
        return sum(1 for s in self.samples if s.status == status)

    @property
    def throughput(self) -> float | None:
        if not self.wall_s:
            return None
        return len(self.samples) / self.wall_s

    @property
    def created_per_s(self) -> float | None:
        if not self.wall_s:
            return None
        return self.count(201) / self.wall_s


# --------------------------------------------------------------------------- CPU accounting

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far: the whole machine (busy), this client, the gunicorn session, postgres.

    PostgreSQL's by process, so that a backend exiting meanwhile (another user's
    connection) takes nothing off the measure's count.
    """

    at: float
    busy: float
    client: float
    server: float
    postgres: dict[int, float]


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during a measure (summed over its turns), and its wall time."""

    wall: float
    client: float
    server: float
    postgres: float
    other: float

    def __add__(self, other: CpuUse) -> CpuUse:
        return CpuUse(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def per_request_ms(self, part: str, requests: int) -> float:
        return getattr(self, part) / max(1, requests) * 1000

    @property
    def other_load(self) -> float:
        """Average cores used by everything else on the machine meanwhile."""
        return self.other / self.wall


def cpu_snapshot(server_session: int | None, database: str | None = None) -> CpuSnapshot:
    """Read /proc: machine busy time and the CPU time of the processes we can attribute.

    With `database`, only the PostgreSQL backends connected to it count as postgres (the
    rest of the server's work counts as other load); without, every postgres process.
    """
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    client = server = 0
    postgres: dict[int, float] = {}
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:
            continue  # exited meanwhile
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        used = int(rest[11]) + int(rest[12])  # utime + stime
        if int(entry.name) == me:
            client += used
        elif server_session is not None and int(rest[3]) == server_session:
            server += used
        elif comm == "postgres" and (database is None or _serves(entry.name, database)):
            postgres[int(entry.name)] = used / TICK
    return CpuSnapshot(time.perf_counter(), busy / TICK, client / TICK, server / TICK, postgres)


def _serves(pid: str, database: str) -> bool:
    """Whether a postgres process is a backend connected to `database`, by its title."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            title = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    # "postgres: [cluster: ]user database host(port) state"
    return f" {database} " in title


def cpu_use(before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    wall = max(after.at - before.at, 1e-9)
    client = after.client - before.client
    server = after.server - before.server
    postgres = sum(used - before.postgres.get(pid, 0.0) for pid, used in after.postgres.items())
    other = max(0.0, after.busy - before.busy - client - server - postgres)
    return CpuUse(wall, client, server, postgres, other)


# --------------------------------------------------------------------------- load drivers


def run_sequential(
    port: int, requests: Sequence[tuple[str, str, Any]], budget_s: float, cookie: str = ""
):
    """Send the requests one after another on one connection; stop at the time budget."""
    client = Client(port, cookie=cookie)
    samples: list[Sample] = []
    deadline = time.monotonic() + budget_s
    try:
        for method, path, payload in requests:
            samples.append(client.request(method, path, payload))
            if time.monotonic() > deadline:
                break
    finally:
        client.close()
    return samples


def run_concurrent(
    port: int,
    per_client: Sequence[Sequence[tuple[str, str, Any]]],
    budget_s: float,
    cookie: str = "",
) -> tuple[list[Sample], float]:
    """One thread and connection per list of requests, all released together.

    Returns the samples and the wall time from the release to the last response.
    """
    barrier = threading.Barrier(len(per_client) + 1)
    results: list[list[Sample]] = [[] for _ in per_client]
    errors: list[BaseException] = []
    deadline = [0.0]

    def worker(i: int) -> None:
        client = Client(port, cookie=cookie)
        try:
            client.connect()
            barrier.wait()
            for method, path, payload in per_client[i]:
                results[i].append(client.request(method, path, payload))
                if time.monotonic() > deadline[0]:
                    break
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            barrier.abort()
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(per_client))
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + budget_s
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(budget_s + 120)
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} client thread(s) failed: {errors[0]!r}") from errors[0]
    return [s for r in results for s in r], wall


def split(requests: Sequence[Any], clients: int) -> list[list[Any]]:
    return [list(requests[i::clients]) for i in range(clients)]


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ServerSettings:
    workers: int
    worker_class: str
    threads: int

    def describe(self) -> str:
        if self.worker_class == "gthread":
            return f"gunicorn -w {self.workers} -k gthread --threads {self.threads}"
        return f"gunicorn -w {self.workers} -k {self.worker_class}"


def app_environment(database: str, now: datetime) -> dict[str, str]:
    """The environment the app runs in, served or as a `flask` command."""
    return os.environ | {
        "DATABASE_URL": database,
        "SECRET_KEY": "bench-secret-not-for-production",
        "BASE_URL": "http://127.0.0.1",  # links in queued emails; nothing is sent
        "BOOKING_RATE_LIMIT": seed.UNLIMITED,
        "BENCH_NOW": now.isoformat(),
        "FLASK_DEBUG": "0",
    }


def staff_session(port: int, database: str) -> str:
    """Make a reception account with the app's own command, sign it in; return its cookie."""
    email, password = "desk@bench.example", "bench staff password"
    command = [str(VENV_BIN / "flask"), "--app", "wsgi", "create-user", "--role", "reception"]
    subprocess.run(
        [*command, "--email", email, "--name", "Bench Desk", "--password", password],
        cwd=ROOT,
        env=app_environment(database, seed.NOW),
        check=True,
        capture_output=True,
    )
    client = Client(port)
    try:
        page = client.request("GET", "/staff/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.body).group(1).decode()
        client.cookie = page.headers[b"set-cookie"].split(b";")[0].decode()
        form = {"csrf_token": token, "email": email, "password": password}
        signed_in = client.request("POST", "/staff/login", form=form)
    finally:
        client.close()
    if signed_in.status != 302:
        raise RuntimeError(f"staff sign-in -> {signed_in.status}: {signed_in.body[:200]!r}")
    return signed_in.headers[b"set-cookie"].split(b";")[0].decode()


@contextmanager
def gunicorn(
    settings: ServerSettings, database: str, now: datetime, log: Path, root: Path = ROOT
) -> Iterator[tuple[int, int]]:
    """Serve bench/wsgi_bench.py; yield (port, session id of the server's processes).

    The app's code is imported from `root` (its working directory, first on the path):
    this checkout, or another version's (bench/compare.py). Always stops the server: only
    the process started here, by its id.
    """
    port = free_port()
    command = [
        str(VENV_BIN / "gunicorn"),
        f"--bind={HOST}:{port}",
        f"--workers={settings.workers}",
        f"--worker-class={settings.worker_class}",
        f"--threads={settings.threads}",
        "--keep-alive=30",
        "--timeout=120",
        "--log-level=warning",
        f"--chdir={root}",
        f"--pythonpath={BENCH}",
        "wsgi_bench:app",
    ]
    env = app_environment(database, now)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        # Started in bench/, where gunicorn finds no gunicorn.conf.py: the app's refuses
        # several workers on memory://, as each would count rate limits alone. Here no limit
        # is ever reached (seed.UNLIMITED), so that changes nothing; --chdir still serves
        # the app from `root`.
        process = subprocess.Popen(
            command,
            cwd=BENCH,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(process, port)
        yield port, process.pid  # start_new_session: the master's pid is the session id
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM to the gunicorn master: graceful shutdown
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its log")
        try:
            client = Client(port, timeout=5)
            sample = client.request("GET", "/_bench/bare")
            client.close()
            if sample.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


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


def _get_json(port: int, path: str) -> Any:
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
    services = {s["slug"]: s for s in _get_json(port, "/api/v1/services")["services"]}
    occupied = timedelta(
        minutes=services[BOOK_SERVICE]["duration_minutes"]
        + services[BOOK_SERVICE]["buffer_minutes"]
    )
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    day = first
    while day <= last:
        to = min(day + timedelta(days=27), last)
        slots = _get_json(port, f"/api/v1/availability?service={BOOK_SERVICE}&from={day}&to={to}")[
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
        "patient": {"name": "Bench Patient", "email": email, "phone": "604-555-0123"},
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
        _expect_created(r.measures["booking, sequential"], log)
        _expect_created(r.measures[f"booking, {c} clients"], log)

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
    everyone = _get_json(port, path)["slots"]
    one = _get_json(port, path + "&therapist=1")["slots"]
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


def _expect_created(m: Measure, log: Callable[[str], None]) -> None:
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


# --------------------------------------------------------------------------- main


def _git_head() -> str:
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
    total = time.perf_counter() - started
    header = [
        f"# Booking benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- app: {_git_head()}; server: {settings.describe()} --keep-alive 30 on {HOST};"
        f" PostgreSQL {_pg_version(args.admin_url)}; {os.cpu_count()} CPUs",
        f"- clinic: {seed.THERAPISTS} therapists; app clock {seed.NOW.isoformat()}"
        f" (Sunday noon in Vancouver); measured week {results[0].seeded.week_start}"
        f" + 6 days, {results[0].seeded.future} appointments booked in it (40% of the grid)",
        "- seeding: " + "; ".join(f"{r.size:,} in {r.seeded.seconds:.0f}s" for r in results),
        f"- requests: {args.requests} per sequential measure, {args.concurrent_bookings}"
        f" bookings over {args.concurrency} clients, {args.race_rounds} race rounds of"
        f" {args.race_clients}; every measure in {args.turns} turns over the sizes;"
        f" total wall time {total / 60:.1f} min",
    ]
    text = report(results, settings, header)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    log(f"\nwritten to {args.output}")
    return 0


def _pg_version(admin_url: str) -> str:
    with psycopg.connect(admin_url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0].split()[0]


if __name__ == "__main__":
    sys.exit(main())
