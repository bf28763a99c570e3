"""A real SMTP server (aiosmtpd) for the tests, and readers for what it received."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from icalendar import Calendar


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    encrypted: bool = False  # the message came over TLS (STARTTLS or implicit)

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def calendar_part(self) -> EmailMessage | None:
        for part in self.message.walk():
            if part.get_content_type() == "text/calendar":
                return part
        return None

    def calendar_bytes(self) -> bytes:
        part = self.calendar_part()
        assert part is not None, "no text/calendar part"
        return part.get_payload(decode=True)

    def calendar(self) -> Calendar:
        return Calendar.from_ical(self.calendar_bytes())

    def event(self):
        return self.calendar().walk("VEVENT")[0]

    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


@dataclass
class Handler:
    inbox: list[Received] = field(default_factory=list)
    # Return an SMTP answer such as "451 try later" to refuse, or None to accept.
    answer: Callable[[Received], str | None] = lambda _received: None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope) -> str:
        received = Received(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content,
            encrypted=server.transport.get_extra_info("ssl_object") is not None,
        )
        refusal = self.answer(received)
        if refusal:
            return refusal
        with self.arrived:
            self.inbox.append(received)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.inbox) >= count, timeout=timeout)
            return list(self.inbox)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started on the same port.

    `options` go to aiosmtpd's `Controller`: `ssl_context` for implicit TLS, `tls_context`
    and `require_starttls` for STARTTLS, `authenticator` and `auth_require_tls` for a login.
    """

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self.handler = Handler()
        self.options = options
        self.controller: Controller | None = None

    @property
    def inbox(self) -> list[Received]:
        return self.handler.inbox

    def start(self) -> None:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def deliver(app, **worker):
    """Run one delivery round in the test process, as `flask outbox deliver` would."""
    from booking.mail.delivery import Worker

    with app.app_context():
        return Worker(name=worker.pop("name", "test-worker"), **worker).deliver_due()
