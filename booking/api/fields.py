"""The API's field types: each checks a value as the booking service does, and says so in the
JSON Schema that `openapi.py` generates.

The checks are the service layer's own (`booking.services.validation`), so the API refuses
exactly what the booking service and the site refuse. Each raises the message a client reads
against the field's name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from email_validator import EmailNotValidError
from pydantic import BeforeValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from booking.services.validation import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    birth_date,
    birth_date_problem,
    calendar_date,
    mail_address,
    name_problem,
    phone_number,
    storable,
)

MAX_ID = 2**31 - 1  # the largest id a PostgreSQL `integer` column holds
INSTANT_MAX_LENGTH = 40
LINK_TOKEN_MAX_LENGTH = 200  # a link's token is 43 characters; room for what may come
REQUIRED = "This field is required."
# What a blank string fails: any character that is not white space. Server-side the check is
# `str.strip()`, whose white space includes every character JSON Schema's `\s` means.
NOT_BLANK = r"\S"


def refuse(message: str) -> PydanticCustomError:
    return PydanticCustomError("refused", "{reason}", {"reason": message})


def _text(value: object, limit: int, *, required: bool = True) -> str | None:
    """Return the text stripped, None if it is absent or blank and not required."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise refuse(REQUIRED)
        return None
    if not isinstance(value, str):
        raise refuse("Must be a string.")
    if len(value) > limit:
        raise refuse(f"Must be at most {limit} characters.")
    if not storable(value):
        raise refuse("Contains characters that are not allowed.")
    return value.strip()


def _identifier(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise refuse("Must be a positive whole number.")
    return value


def _given_identifier(value: object) -> int | None:
    # Absent, the field keeps its default; null is not an id.
    if value is None:
        raise refuse("Must be a positive whole number.")
    return _identifier(value)


def _instant(value: object) -> datetime:
    raw = _text(value, INSTANT_MAX_LENGTH)
    assert raw is not None
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        raise refuse(
            "Must be an ISO 8601 date and time, such as 2027-03-09T09:30:00-08:00."
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise refuse("Must include a UTC offset, such as -08:00 or Z.")
    if not 2000 <= instant.year <= 2200:
        raise refuse("Must be a date between the years 2000 and 2200.")
    return instant


def _day(value: object) -> date | None:
    if value is None or value == "":
        return None
    day = calendar_date(value) if isinstance(value, str) else None
    if day is None:
        raise refuse("Must be a date written YYYY-MM-DD.")
    return day


def _birth_date(value: object, info: ValidationInfo) -> date:
    raw = _text(value, 10)
    assert raw is not None
    born = birth_date(raw)
    if born is None:
        raise refuse("Must be a date written YYYY-MM-DD, such as 1980-05-17.")
    # The clinic's today, which `schemas.parse` hands in; without it only the year is checked.
    today = (info.context or {}).get("today") or date.max
    if problem := birth_date_problem(born, today):
        raise refuse(problem)
    return born


def _name(value: object) -> str:
    name = _text(value, NAME_MAX_LENGTH)
    assert name is not None
    if problem := name_problem(name):
        raise refuse(problem)
    return name


def _booker(value: object) -> str | None:
    name = _text(value, NAME_MAX_LENGTH, required=False)
    if name is not None and (problem := name_problem(name)):
        raise refuse(problem)
    return name


def _email(value: object) -> str:
    raw = _text(value, EMAIL_MAX_LENGTH)
    assert raw is not None
    try:
        return mail_address(raw)
    except EmailNotValidError:
        raise refuse("Must be a valid email address.") from None


def _phone(value: object) -> str:
    raw = _text(value, PHONE_MAX_LENGTH)
    assert raw is not None
    number = phone_number(raw)
    if number is None:
        raise refuse("Must be a phone number, such as 604-555-0123.")
    return number


def _slug(value: object) -> str:
    slug = _text(value, 60)
    assert slug is not None
    return slug


def _link_token(value: object) -> str:
    token = _text(value, LINK_TOKEN_MAX_LENGTH)
    assert token is not None
    return token


def _notes(value: object) -> str | None:
    return _text(value, NOTES_MAX_LENGTH, required=False)


def _reason(value: object) -> str | None:
    return _text(value, REASON_MAX_LENGTH, required=False)


def _digits_too(schema: dict[str, Any]) -> None:
    # The check above also takes the number written in ASCII digits, as a query string has it.
    schema["anyOf"].insert(1, {"type": "string", "pattern": "^[0-9]+$"})


def _digits_not_null(schema: dict[str, Any]) -> None:
    _digits_too(schema)
    schema["anyOf"] = [branch for branch in schema["anyOf"] if branch != {"type": "null"}]
    schema.pop("default", None)


def _not_blank(description: str, **schema: Any) -> dict[str, Any]:
    return {"pattern": NOT_BLANK, "description": description, **schema}


Slug = Annotated[
    str,
    BeforeValidator(_slug),
    Field(min_length=1, max_length=60, json_schema_extra=_not_blank("A service's `slug`.")),
]
TherapistId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None,
    BeforeValidator(_identifier),
    Field(
        description="Omit or null for the first therapist free at `start`.",
        json_schema_extra=_digits_too,
    ),
]
PersonId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None,
    BeforeValidator(_given_identifier),
    Field(
        description="A person of the household a patient access token verified (`people[].id` "
        "of `POST /access-tokens`); needs that token as `Authorization: Bearer`.",
        json_schema_extra=_digits_not_null,
    ),
]
Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    Field(
        description="With its UTC offset, such as 2027-03-09T09:30:00-08:00 (years 2000 to 2200).",
        json_schema_extra={"maxLength": INSTANT_MAX_LENGTH},
    ),
]
Day = Annotated[
    date | None,
    BeforeValidator(_day),
    Field(description="A clinic date, YYYY-MM-DD (years 2000 to 2200)."),
]
Name = Annotated[
    str,
    BeforeValidator(_name),
    Field(
        min_length=1,
        max_length=120,
        json_schema_extra=_not_blank(
            "One line, without control characters, angle brackets or backslashes."
        ),
    ),
]
BirthDate = Annotated[
    date,
    BeforeValidator(_birth_date),
    Field(
        description="YYYY-MM-DD: not in the future, not before 1900.",
        json_schema_extra={"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "maxLength": 10},
    ),
]
Booker = Annotated[
    Annotated[str, Field(max_length=NAME_MAX_LENGTH)] | None,
    BeforeValidator(_booker),
    Field(
        description="Your own name, when you book for someone else (it greets you in the "
        "messages); null or blank when the visit is yours. One line, as `name`."
    ),
]
LinkToken = Annotated[
    str,
    BeforeValidator(_link_token),
    Field(
        min_length=1,
        max_length=LINK_TOKEN_MAX_LENGTH,
        json_schema_extra=_not_blank("The token of the emailed link (its `token=` parameter)."),
    ),
]
Email = Annotated[
    str,
    BeforeValidator(_email),
    Field(
        min_length=1,
        max_length=254,
        json_schema_extra=_not_blank(
            "Stored as every mail server takes it (an internationalized domain in its ASCII "
            "form); a non-ASCII local part is refused.",
            format="email",
        ),
    ),
]
Phone = Annotated[
    str,
    BeforeValidator(_phone),
    Field(
        min_length=1,
        max_length=40,
        json_schema_extra=_not_blank(
            "A number that exists; without `+country` it is read as Canadian. Stored in E.164."
        ),
    ),
]
Notes = Annotated[
    Annotated[str, Field(max_length=NOTES_MAX_LENGTH)] | None,
    BeforeValidator(_notes),
    Field(description="For the therapist; null or blank for none."),
]
Reason = Annotated[
    Annotated[str, Field(max_length=500)] | None,
    BeforeValidator(_reason),
    Field(description="Why, for the clinic; null or blank for none."),
]
