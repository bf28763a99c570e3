"""The delivery worker: claim due messages, send them, record the outcome of each.

`flask --app wsgi outbox deliver` sends what is due and exits; `--loop` keeps polling until
SIGTERM or Ctrl-C, finishing the message in hand first. Run as many as you like on
PostgreSQL; see `booking.mail.outbox` for why no message is sent twice.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app

from booking import clock
from booking.extensions import db
from booking.mail import outbox
from booking.mail.compose import compose
from booking.mail.envelope import CannotCompose
from booking.mail.transport import PermanentError, TransientError, Transport, from_config
from booking.models import Delivery, Event, OutboxMessage
from booking.services import access

log = logging.getLogger(__name__)

BATCH = 20  # with MAIL_TIMEOUT 20 s, a batch ends well inside the 10-minute lease


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    lost_lease: int = 0

    def add(self, other: Report) -> None:
        for name in ("sent", "retrying", "failed", "skipped", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retrying {self.retrying}, failed {self.failed}, "
            f"skipped {self.skipped}"
        )


@dataclass
class Worker:
    """One delivery process (or thread): a name for its leases, and how it sends."""

    # Unique per worker object, so two threads of one process never share a lease.
    name: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )
    transport: Callable[[], Transport] | None = None
    now: Callable[[], datetime] = clock.now

    def deliver_due(self, *, limit: int = BATCH) -> Report:
        """Send every message due now, batch by batch; return what happened."""
        report = Report()
        while True:  # a sent message may free the next one to its address: claim again
            batch = self._deliver_batch(limit)
            if not any(vars(batch).values()):
                return report
            report.add(batch)

    def _deliver_batch(self, limit: int) -> Report:
        report = Report()
        waiting = outbox.claim(self.name, self.now(), limit=limit)
        make = self.transport or (lambda: from_config(current_app.config))
        if not waiting:
            return report
        try:
            with make() as transport:
                while waiting:
                    self._deliver_one(transport, waiting[0], report)
                    waiting.pop(0)
        except TransientError as exc:  # the server cannot be reached: the rest wait their turn
            for message_id in waiting:
                self._failed(message_id, str(exc), permanent=False, report=report)
        return report

    def _deliver_one(self, transport: Transport, message_id: int, report: Report) -> None:
        try:
            message = db.session.get_one(OutboxMessage, message_id)
            why = outbox.NO_LONGER_TRUE.get(message.event, "")
            if why and not outbox.still_true(message, self.now()):
                outgoing = None
            elif message.event == Event.ACCESS_LINK and not access.link_valid(
                message.access_link_id or 0, self.now()
            ):
                outgoing, why = None, "The link expired or was used before it could be sent."
            else:
                outgoing, why = compose(message, now=self.now()), ""
            name = f"{message.created_at:%Y%m%d-%H%M%S}-{message_id}-{message.event}"
            name += f"-{message.recipient}"
        except CannotCompose as exc:
            self._failed(message_id, str(exc), permanent=True, report=report)
            return
        except Exception:
            log.exception("outbox message %s could not be written", message_id)
            self._failed(message_id, "The message could not be written.", True, report)
            return
        finally:
            db.session.rollback()  # no transaction stays open while we talk to the server
        if outgoing is None:
            outbox.skip(message_id, self.name, why)
            report.skipped += 1
            return
        if not outbox.renew(message_id, self.name, self.now()):
            log.warning("outbox message %s was taken by another worker; not sent", message_id)
            report.lost_lease += 1
            return
        try:
            transport.send(outgoing, name=name)
        except PermanentError as exc:
            self._failed(message_id, str(exc), permanent=True, report=report)
            return
        except TransientError as exc:
            self._failed(message_id, str(exc), permanent=False, report=report)
            return
        if outbox.mark_sent(message_id, self.name, self.now()):
            report.sent += 1
        else:  # another worker took it after our lease ran out: it may go twice
            log.warning("outbox message %s was sent after its lease expired", message_id)
            report.lost_lease += 1

    def _failed(self, message_id: int, error: str, permanent: bool, report: Report) -> None:
        limit = current_app.config.get("OUTBOX_MAX_ATTEMPTS", outbox.MAX_ATTEMPTS)
        status = outbox.mark_failed(
            message_id, self.name, self.now(), error, permanent=permanent, max_attempts=limit
        )
        if status == Delivery.FAILED:
            log.error("outbox message %s gave up: %s", message_id, error)
            report.failed += 1
        else:
            log.warning("outbox message %s will be retried: %s", message_id, error)
            report.retrying += 1


def run_loop(worker: Worker, *, interval: float, stop: threading.Event | None = None) -> Report:
    """Deliver until `stop` is set or the process gets SIGTERM/SIGINT; return the totals."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    total = Report()
    while not stop.is_set():
        try:
            total.add(worker.deliver_due())
        except Exception:  # the database restarting, say: keep the worker alive
            log.exception("outbox delivery round failed; trying again")
            db.session.rollback()
        db.session.remove()
        stop.wait(interval)
    return total
