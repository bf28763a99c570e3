"""The CPU the server's processes and PostgreSQL's backends spent, read from /proc."""

from __future__ import annotations

import os
import time
from dataclasses import astuple, dataclass

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
