"""Where the benchmark lives, what it books and the targets it checks."""

from __future__ import annotations

import sys
from pathlib import Path

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
COURSE_SESSIONS = 10
TARGET_COURSE_RATIO = 3.0  # a course's propose + book against one booking, server medians
