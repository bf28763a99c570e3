"""Where messages go: an SMTP server from the `MAIL_*` settings, or `.eml` files.

Both are opened once per batch and raise `TransientError` (try again later) or
`PermanentError` (the server refused this message for good: a 5xx answer).
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from booking.mail.envelope import Outgoing


class TransientError(Exception):
    """The message may go through later: server down, busy, or a 4xx answer."""


class PermanentError(Exception):
    """The server refused the message with a 5xx answer: retrying cannot help."""


class Transport(Protocol):
    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...

    def send(self, message: Outgoing, *, name: str) -> None: ...


def from_config(config: Mapping[str, Any]) -> Transport:
    if config.get("MAIL_SERVER"):
        return SMTPTransport(config)
    return FileTransport(Path(config["MAIL_FILE_DIR"]))


class SMTPTransport:
    """One SMTP connection per batch; STARTTLS or implicit TLS with certificate checks."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = config["MAIL_SERVER"]
        self.use_ssl = bool(config.get("MAIL_USE_SSL"))
        self.use_tls = bool(config.get("MAIL_USE_TLS"))
        self.port = config.get("MAIL_PORT") or (
            465 if self.use_ssl else 587 if self.use_tls else 25
        )
        self.username = config.get("MAIL_USERNAME") or ""
        self.password = config.get("MAIL_PASSWORD") or ""
        self.timeout = float(config.get("MAIL_TIMEOUT") or 20)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SMTPTransport:
        try:
            self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise TransientError(f"SMTP login refused ({exc.smtp_code})") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(_describe(exc)) from exc
        return self

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.use_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.use_tls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()  # a refused certificate or login leaves no connection open
            raise
        self._smtp = smtp
        return smtp

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, message: Outgoing, *, name: str) -> None:
        smtp = self._smtp
        if smtp is None:  # the connection dropped during the batch: open another
            try:
                smtp = self._connect()
            except (OSError, smtplib.SMTPException) as exc:  # as when opening: try later
                self._smtp = None
                raise TransientError(_describe(exc)) from exc
        try:
            refused = smtp.sendmail(message.sender, [message.recipient], message.data)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            raise _by_code(code, f"recipient refused ({code})") from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(exc.smtp_code, f"server answered {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.__exit__(None, None, None)
            raise TransientError(_describe(exc)) from exc
        if refused:  # one recipient only, so refused means that one; sendmail raises first
            raise TransientError("recipient refused")


class FileTransport:
    """Writes each message to `<directory>/<name>.eml`; sending one again overwrites it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> FileTransport:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransientError(f"cannot create {self.directory}: {exc.strerror}") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, message: Outgoing, *, name: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        final = self.directory / f"{safe}.eml"
        partial = final.with_suffix(".eml.partial")
        try:
            with open(partial, "wb") as file:
                file.write(message.data)
                file.flush()
                os.fsync(file.fileno())
            partial.replace(final)  # atomic: a reader never sees half a message
        except OSError as exc:
            raise TransientError(f"cannot write {final.name}: {exc.strerror}") from exc


def _by_code(code: int, text: str) -> Exception:
    if code == 530:  # about the settings, not the message: fixing them lets every one through
        return TransientError(f"{text}: the server wants TLS or a login first; check MAIL_*")
    return PermanentError(text) if 500 <= code < 600 else TransientError(text)


def _describe(exc: BaseException) -> str:
    # Addresses never go into the detail: exception texts from servers may quote them.
    if isinstance(exc, socket.timeout | TimeoutError):
        return "SMTP server timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "SMTP server refused the connection"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "SMTP server disconnected"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason})"
    if isinstance(exc, OSError):
        return f"SMTP connection failed ({exc.strerror or type(exc).__name__})"
    return f"SMTP error ({type(exc).__name__})"
