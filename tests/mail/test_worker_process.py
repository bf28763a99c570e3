"""The worker as `python3 dev.py run` starts it: a separate `flask outbox deliver --loop`.

With no mail server it writes each message as a .eml file within seconds of the booking, and
it stops cleanly on SIGTERM (which is how the run command stops it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import VANCOUVER
from test_invites import book

from booking.services.clinic import local_day_bounds

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_running_worker_writes_eml_files_within_seconds(
    world, app, clock, database_url, tmp_path
):
    # The worker process reads the real clock, so this booking is made at the real "now".
    clock.now = datetime.now(UTC).replace(microsecond=0)
    maya = world.make_therapist("Maya Chen", email="maya@clinic.example")
    mail = tmp_path / "mail"
    worker = start_worker(database_url, mail)
    try:
        day = clock.now.astimezone(VANCOUVER).date() + timedelta(days=3)
        start = local_day_bounds(day, day, VANCOUVER)[0] + timedelta(hours=10)
        booked_at = time.monotonic()
        book(app, start, service="physio", therapist_id=maya)
        while len(list(mail.glob("*.eml"))) < 2 and time.monotonic() - booked_at < 20:
            time.sleep(0.1)
        waited = time.monotonic() - booked_at
        names = sorted(p.name for p in mail.glob("*.eml"))
        assert [n.split("-", 3)[-1] for n in names] == [
            "booked-patient.eml",
            "booked-therapist.eml",
        ], names
        assert waited < 10
        assert worker.poll() is None  # still running: its status is its answer to SIGTERM
    finally:
        status, output = stop(worker)
    assert status == 0, output  # a clean stop: not killed by the signal (-15), no error (1)
    assert "sent 2" in output


def test_a_worker_that_cannot_start_exits_with_a_failure(tmp_path):
    # The status read above is the process's own: one that fails says so (this is not 0).
    worker = start_worker(f"sqlite:///{tmp_path / 'booking.sqlite3'}", tmp_path, MAIL_PORT="smtp")
    try:  # it stops by itself; a SIGTERM now would kill it mid-start (-15)
        output, _ = worker.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
        raise AssertionError(f"a worker that cannot start kept running:\n{output}") from None
    status = worker.returncode
    assert status == 1, output
    assert "MAIL_PORT" in output


def start_worker(database_url: str, mail: Path, **settings: str) -> subprocess.Popen:
    """`flask outbox deliver --loop` as the run command starts it, writing .eml files."""
    env = os.environ | {
        "FLASK_APP": "wsgi",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-not-for-production",
        "BASE_URL": "https://clinic.test",
        "MAIL_SERVER": "",
        "MAIL_FILE_DIR": str(mail),
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "outbox", "deliver", "--loop", "--interval", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(worker: subprocess.Popen) -> tuple[int, str]:
    """Send SIGTERM unless it has exited already; return its exit status, once it has ended."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
        raise AssertionError(f"the worker did not stop on SIGTERM:\n{output}") from None
    # communicate() has waited for the process: returncode is its real status, never None.
    assert worker.returncode is not None
    return worker.returncode, output
