"""Shape rules shared by every edge that takes text from people (API and forms)."""

from __future__ import annotations

import re
from datetime import date
from unicodedata import category

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


def one_line(text: str) -> bool:
    """Return whether text has no control characters at all (names go into email headers)."""
    return storable(text) and not any(category(c) == "Cc" for c in text)


def storable(text: str) -> bool:
    """Return whether text is free of NUL, other control characters and lone surrogates."""
    return not any((category(c) == "Cc" and c not in "\n\r\t") or category(c) == "Cs" for c in text)


def calendar_date(raw: str) -> date | None:
    """Return the date written YYYY-MM-DD (years 2000 to 2200), or None if it is not one."""
    if not DATE_SHAPE.fullmatch(raw):  # fromisoformat also takes 2027-W10-1 and 20270301
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if value is not None and 2000 <= value.year <= 2200 else None
