"""Real servers that a test starts and stops itself: PostgreSQL, Redis and gunicorn.

Each listens on a free port of 127.0.0.1 and keeps its files in a folder of its own: never
the machine's shared servers, which other runs use. A missing tool skips the test, except
under CI=true, where it fails it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Skip the test for want of a tool; under CI, fail it."""
    if IN_CI:
        pytest.fail(f"{what} (required under CI=true)", pytrace=False)
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, alive=lambda: True, timeout: float = 30) -> None:
    """Wait until something accepts connections on the port, while `alive()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server for port {port} exited before it listened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3])
    )
    return Path(versions[-1]).parent if versions else None


class Postgres:
    """A throwaway PostgreSQL cluster, made with the installed initdb and run by pg_ctl.

    PostgreSQL refuses to run as root: as root (CI's case), the cluster belongs to the
    `postgres` system user. It runs without fsync: a test's data need not survive a crash.
    """

    def __init__(self) -> None:
        bindir = _postgres_bin()
        if bindir is None or not (bindir / "initdb").exists():
            missing("PostgreSQL's initdb and pg_ctl are not installed")
        self.bin = bindir
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                missing("running as root, a `postgres` user is needed to run PostgreSQL")
        # Not under pytest's tmp_path: as root that folder is closed to the postgres user.
        self.folder = Path(tempfile.mkdtemp(prefix="booking-pg-"))
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        self.data = self.folder / "data"
        self.port = free_port()
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")  # fmt: skip

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: object) -> None:
        kwargs = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        subprocess.run(
            [str(self.bin / tool), *map(str, args)],
            check=True,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            **kwargs,
        )

    def _ctl(self, action: str, *args: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", action, "-D", self.data, "-w", "-t", "60", "-l",
                  self.folder / "log", "-o", options, *args)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """Restart as an administrator would: every open connection gets 57P01 (fast mode)."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres() -> Iterator[Postgres]:
    """A started throwaway PostgreSQL server, removed afterwards."""
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


class Redis:
    """A redis-server of the test's own, which keeps nothing on disk; stop and start it."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing("redis-server is not installed")
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, alive=lambda: self.process.poll() is None)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free port, as the README serves it."""

    def __init__(self, folder: Path, env: dict[str, str], args: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.log = folder / f"gunicorn-{self.port}.log"
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        command += ["-b", f"127.0.0.1:{self.port}", *args, "wsgi:app"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        try:
            wait_for_port(self.port, alive=lambda: self.process.poll() is None)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}:\n{self.output()}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def app_environment(**settings: str) -> dict[str, str]:
    """The environment a production process gets: real settings, nothing from the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "RATELIMIT_"))}
    return env | {
        "SECRET_KEY": "test-secret-not-for-production",
        "BASE_URL": "https://clinic.test",
        "MAIL_SERVER": "",
        **settings,
    }
