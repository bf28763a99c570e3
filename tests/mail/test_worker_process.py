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
    env = os.environ | {
        "FLASK_APP": "wsgi",
        "DATABASE_URL": database_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "BASE_URL": "https://clinic.test",
        "MAIL_SERVER": "",
        "MAIL_FILE_DIR": str(mail),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "outbox", "deliver", "--loop", "--interval", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "sent 2" in output
