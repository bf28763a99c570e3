"""Shape rules shared by every edge that takes text from people (API and forms)."""

from __future__ import annotations

import re
from datetime import date

from email_validator import validate_email

DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PHONE = re.compile(r"\+?[0-9 ().\-]{7,30}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)


def mail_address(raw: str) -> str:
    """Return the address in the form every mail server takes, or raise EmailNotValidError.

    SMTPUTF8 addresses (a non-ASCII local part) are refused: many servers reject them, and
    an invite that cannot be sent is worse than asking for another address. An
    internationalized domain is kept in its ASCII (IDNA) form.
    """
    result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    return result.ascii_email or result.normalized


# Unicode's control characters (category Cc) are exactly U+0000-U+001F and U+007F-U+009F;
# its surrogates (Cs) are U+D800-U+DFFF, which a well-formed string never holds alone.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def one_line(text: str) -> bool:
    """Return whether text has no control characters at all (names go into email headers)."""
    return _CONTROL_OR_SURROGATE.search(text) is None


# What a name (a person's, a therapist's, the clinic's, a service's) never holds, and what would
# turn it into structure somewhere it is written: line and paragraph separators (U+2028/9,
# U+0085 is a control), bidirectional controls that make text read backwards (U+061C,
# U+200E/F, U+202A-U+202E, U+2066-U+2069), MIME encoded-word syntax, which mail programs
# decode, and the backslash and angle brackets of addresses and escapes.
_NOT_IN_NAMES = re.compile("[\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\\\<>]|=\\?")


def name_problem(text: str) -> str | None:
    """Return why `text` cannot be a name, or None if it can."""
    if not one_line(text):
        return "Please keep this to one line, without special characters."
    if _NOT_IN_NAMES.search(text):
        return "Please write the name with letters, spaces and ordinary punctuation only."
    return None


def storable(text: str) -> bool:
    """Return whether text is free of NUL, other control characters and lone surrogates."""
    return _UNSTORABLE.search(text) is None


def calendar_date(raw: str) -> date | None:
    """Return the date written YYYY-MM-DD (years 2000 to 2200), or None if it is not one."""
    if not DATE_SHAPE.fullmatch(raw):  # fromisoformat also takes 2027-W10-1 and 20270301
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if value is not None and 2000 <= value.year <= 2200 else None
