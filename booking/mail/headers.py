"""Email headers written from structured values, byte for byte: nothing typed is ever parsed.

Python's `email` package parses every header value it is given, and its parser decodes
RFC 2047 encoded words (`=?utf-8?q?...?=`) even inside an `Address`'s display name: a
patient called `Zed =?utf-8?q?=0D=0ABcc:_x@example.com?=` became a CR LF and a real `Bcc:`
line on Python 3.11 builds without the fix for gh-121650, and on the others a message that
could not be written at all. So the headers that carry names (From, To, Reply-To, Subject)
are encoded here, from the name and the address kept apart, and stored as finished text
that `POLICY` writes out unchanged. Any text that is not plain printable ASCII, or that
looks like an encoded word, goes out as an encoded word of its own (base64 or Q of its
UTF-8), which a mail program decodes once, back to exactly what was typed.
"""

from __future__ import annotations

import re
from email.header import Header
from email.policy import EmailPolicy
from typing import Any

LINESEP = "\r\n"
MAX_LINE = 78  # RFC 5322's "should"; 998 is the hard limit
# Printable ASCII that no parser reads as anything but itself in a phrase or Subject.
_PLAIN = re.compile(r"[\x20-\x7e]*", re.ASCII)
# RFC 5322 atext: a display name made only of these (and spaces) needs no quotes.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+", re.ASCII)
# An addr-spec as email-validator hands them out (no quoted local part, ASCII/IDNA domain).
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+", re.ASCII)


class Finished(str):
    """Header text already encoded and folded: stored and written exactly as it is."""


class _Policy(EmailPolicy):
    """`email.policy.SMTP`, except that `Finished` values skip the header parser."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, Finished):
            return (name, str(value))
        return super().header_store_parse(name, value)


# refold_source="none": a stored string is written as it is, never parsed to be refolded.
POLICY = _Policy(linesep=LINESEP, refold_source="none")


class Unencodable(ValueError):
    """An address this app never accepts (the edges validate them): nothing is sent."""


def _one_line(text: str) -> str:
    """Every run of whitespace (CR, LF, tab, U+2028 ...) as one space."""
    return " ".join(text.split())


def _plain(text: str) -> bool:
    return _PLAIN.fullmatch(text) is not None and "=?" not in text


def _encoded(text: str, name: str) -> str:
    """Text as encoded words, folded after `name: `; each decodes to a part of `text`."""
    return Header(text, "utf-8", header_name=name).encode(linesep=LINESEP, maxlinelen=MAX_LINE)


def _wrapped(text: str, used: int) -> str:
    """Plain text folded at spaces so that lines stay near MAX_LINE (`used` taken already)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if line and used + len(line) + 1 + len(word) > MAX_LINE:
            lines.append(line)
            line, used = word, 1  # a folded line starts with the space before `word`
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return (LINESEP + " ").join(lines)


def text(name: str, value: str) -> Finished:
    """An unstructured header's value (Subject), for `message[name] = ...`."""
    value = _one_line(value)
    if _plain(value):
        return Finished(_wrapped(value, len(name) + 2))
    return Finished(_encoded(value, name))


def mailbox(name: str, display_name: str, address: str) -> Finished:
    """One mailbox for an address header (From, To, Reply-To): `Name <address>`."""
    if not _ADDR_SPEC.fullmatch(address):
        raise Unencodable("not an address this app sends to")
    display_name = _one_line(display_name)
    if not display_name:
        return Finished(address)
    if _ATOMS.fullmatch(display_name) and "=?" not in display_name:
        phrase = display_name
    elif _plain(display_name):
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        phrase = f'"{escaped}"'
    else:
        phrase = _encoded(display_name, name)
    last_line = phrase.rsplit(LINESEP, 1)[-1]
    used = len(last_line) + (len(name) + 2 if LINESEP not in phrase else 0)
    separator = " " if used + len(address) + 3 <= MAX_LINE else LINESEP + " "
    return Finished(f"{phrase}{separator}<{address}>")
