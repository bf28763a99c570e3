"""Gunicorn serving bench/wsgi_bench.py against one benchmark database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import seed
from client import Client
from config import (
    BENCH,
    HOST,
    ROOT,
    VENV_BIN,
)

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
