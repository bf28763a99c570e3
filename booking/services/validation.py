"""Shape rules shared by every edge that takes text from people (API and forms)."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from email_validator import validate_email

DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PHONE_REGION = "CA"  # a number typed without +country is read as Canadian (NANP)
# The longest values a patient may give, on the site and in the API alike (one place, so the
# two cannot drift): a name, an email address (RFC 5321's path limit), a phone number as
# typed, a note for the therapist, a reason for cancelling.
NAME_MAX_LENGTH = 120
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 40
NOTES_MAX_LENGTH = 1000
REASON_MAX_LENGTH = 500


def phone_number(raw: str) -> str | None:
    """Return the number in E.164 (`+16045550123`, `;ext=12` after it), or None if it is none.

    Parsed by libphonenumber (`phonenumbers`): a local number reads as Canadian, any other
    needs its `+country` code; the number must exist in its country's numbering plan.
    """
    try:
        number = phonenumbers.parse(raw.strip(), PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


def phone_display(stored: str) -> str:
    """A stored number as people write it: (604) 555-0123 at home, +44 20 … from abroad."""
    try:
        number = phonenumbers.parse(stored.replace(";ext=", " ext. "), PHONE_REGION)
    except phonenumbers.NumberParseException:
        return stored  # recorded before numbers were parsed: shown as it was typed
    home = phonenumbers.region_code_for_number(number) == PHONE_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


# The mail providers most patients here use; a domain one or two typing slips from one of
# them ("gmial.con") is probably that one.
COMMON_DOMAINS = (
    "gmail.com", "hotmail.com", "hotmail.ca", "outlook.com", "outlook.ca", "live.com",
    "live.ca", "msn.com", "yahoo.com", "yahoo.ca", "icloud.com", "me.com", "aol.com",
    "shaw.ca", "telus.net", "rogers.com", "sympatico.ca", "bell.net", "protonmail.com",
    "proton.me",
)  # fmt: skip


def suggest_email(address: str) -> str | None:
    """Return the address with its domain corrected if it looks like a typo, else None."""
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    if not local or domain in COMMON_DOMAINS:
        return None
    distance, best = min((_slips(domain, known), known) for known in COMMON_DOMAINS)
    allowed = 1 if len(domain) < 8 else 2
    return f"{local}@{best}" if distance <= allowed else None


def _slips(a: str, b: str) -> int:
    """Typing slips between two words: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        row = [i]
        for j, y in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous2[j - 2] + 1)
            row.append(cost)
        previous2, previous = previous, row
    return previous[-1]


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


EARLIEST_BIRTH_YEAR = 1900


def birth_date(raw: str) -> date | None:
    """Return the date of birth written YYYY-MM-DD, or None if it is not a date at all."""
    if not DATE_SHAPE.fullmatch(raw.strip()):
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def birth_date_problem(value: date, today: date) -> str | None:
    """Return why `value` cannot be somebody's date of birth, or None if it can."""
    if value > today:
        return "The date of birth cannot be in the future."
    if value.year < EARLIEST_BIRTH_YEAR:
        return f"Please check the year: a date of birth is after {EARLIEST_BIRTH_YEAR}."
    return None
