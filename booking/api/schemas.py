"""What the API takes, declared once: these validate requests and document them.

Requests are pydantic models built from the field types of `fields.py`, so the API refuses
what the booking service refuses; `openapi.py` generates the document's request schemas from
them (and its response schemas from `answers.py`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from booking.api.fields import (
    REQUIRED,
    BirthDate,
    Booker,
    Day,
    Email,
    Instant,
    LinkToken,
    Name,
    Notes,
    PersonId,
    Phone,
    Reason,
    Slug,
    TherapistId,
    refuse,
)
from booking.models.screening import KEYS, QUESTIONS
from booking.services.booking import BookingRequest as Wanted
from booking.services.booking import PatientDetails
from booking.services.errors import InvalidRequest

M = TypeVar("M", bound="Request")
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

# ---------------------------------------------------------------------------------------------
# Requests.


class Request(BaseModel):
    """A request's body or query; fields it does not name are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    # The message for a value that is not an object (a nested model's field).
    not_an_object: ClassVar[str] = "Must be a JSON object."


class Patient(Request):
    """A new patient: who the visit is for. The same email, name and date of birth as a
    person on record is that person; anything else is a new person of that email's
    household. Messages go to the email."""

    not_an_object = "Must be an object with name, email, phone and date_of_birth."

    name: Name
    email: Email
    phone: Phone
    date_of_birth: BirthDate
    booker: Booker = None


CONSENT = "Must be true: the patient consents to IMS."


def _consent(value: object) -> object:
    if value is not True:  # not 1: only JSON's `true`
        raise refuse(CONSENT)
    return value


class _Answers(Request):
    """The base of `Screening`, whose fields are the questions of `models.screening`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    not_an_object = "Must be an object with each question's answer and consent."


if TYPE_CHECKING:  # what mypy can read; the fields are made from QUESTIONS below
    Screening = _Answers
else:
    Screening = create_model(
        "Screening",
        __base__=_Answers,
        __doc__=(
            "The IMS safety screening and consent. Required (422 `screening` otherwise) for a "
            "needling service with no prerequisite, that is a service with `requires_ims` and "
            "no `requires`: an initial assessment; refused for any other service. A `true` "
            "answer never refuses the booking: the therapist reviews it before needling."
        ),
        **{key: (StrictBool, Field(description=text)) for key, text in QUESTIONS},
        consent=(
            Annotated[Literal[True], BeforeValidator(_consent)],
            Field(description="The patient understands what IMS involves and agrees to it."),
        ),
    )


def _screening(value: object) -> object:
    # Absent, a booking goes without one; null is not an answer to the screening.
    if value is None:
        raise refuse(_Answers.not_an_object)
    return value


def _object_only(schema: dict[str, Any]) -> None:
    (given,) = [s for s in schema.pop("anyOf") if s != {"type": "null"}]
    schema.pop("default", None)
    schema.update(given)


def _patient(value: object) -> object:
    # Absent, `person_id` names who the visit is for; null names nobody.
    if value is None:
        raise refuse(Patient.not_an_object)
    return value


BOTH = "Give `patient` (a new patient) or `person_id` (a person of your household), not both."


class BookingRequest(Request):
    """Who the visit is for: `patient`, or `person_id` with a patient access token.

    A new patient needs no token. A follow-up (a service with `requires`) is booked online
    only for a person of a household verified by an emailed link: `person_id` with
    `Authorization: Bearer <access_token>` (`POST /access-links`, then `/access-tokens`).
    Without them a follow-up is 403 `verification_required`, whatever the email.
    """

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["patient"]}, {"required": ["person_id"]}]}
    )

    service: Slug
    therapist_id: TherapistId = None
    start: Instant
    patient: Annotated[
        Patient | None, BeforeValidator(_patient), Field(json_schema_extra=_object_only)
    ] = None
    person_id: PersonId = None
    notes: Notes = None
    screening: Annotated[
        Screening | None,
        BeforeValidator(_screening),
        Field(json_schema_extra=_object_only),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _name_whom(cls, data: Any) -> Any:
        # Without a patient, each of their fields is named (required), as the site's form does.
        if isinstance(data, dict) and "patient" not in data and data.get("person_id") is None:
            return {**data, "patient": {}}
        return data

    @field_validator("person_id")
    @classmethod
    def _one_whom(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("patient") is not None:
            raise refuse(BOTH)
        return value

    def wanted(self, contact_id: int | None = None) -> Wanted:
        """The booking the booking service is asked for; `contact_id` is the household a
        patient access token verified."""
        screening = self.screening
        answers = None if screening is None else {key: getattr(screening, key) for key in KEYS}
        given = self.patient
        return Wanted(
            service=self.service,
            start=self.start,
            patient=None
            if given is None
            else PatientDetails(
                given.name, given.email, given.phone, given.date_of_birth, given.booker or ""
            ),
            person_id=self.person_id,
            contact_id=contact_id,
            therapist_id=self.therapist_id,
            notes=self.notes or "",
            screening=answers,
        )


class AccessLinkRequest(Request):
    email: Email


class AccessTokenRequest(Request):
    token: LinkToken


class RescheduleRequest(Request):
    start: Instant
    therapist_id: TherapistId = None


class CancelRequest(Request):
    reason: Reason = None


class AvailabilityQuery(Request):
    service: Slug
    first: Day = Field(default=None, alias="from")
    last: Day = Field(
        default=None, alias="to", description="At most 31 days after `from`, inclusive."
    )
    therapist: TherapistId = Field(default=None, description="Only this therapist's slots.")


def parse(model: type[M], data: object, *, today: date | None = None) -> M:
    """Return `data` as a `model`, or raise `InvalidRequest` naming every field refused.

    `today` (the clinic's) is what a date of birth may not come after.
    """
    try:
        return model.model_validate(data, context={"today": today})
    except ValidationError as exc:
        raise InvalidRequest(problems(model, exc)) from None


def problems(model: type[Request], error: ValidationError) -> dict[str, str]:
    """Each refused field's dotted name (`patient.email`) and the first thing wrong with it."""
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        loc = tuple(str(part) for part in item["loc"])
        found.setdefault(".".join(loc), _message(model, loc, item["type"], item))
    return found


def _message(model: type[Request], loc: tuple[str, ...], kind: str, item: Any) -> str:
    if kind == "refused":
        return str(item["ctx"]["reason"])
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return _nested(model, loc).not_an_object
    if kind == "missing" and loc[0] != "screening":
        return REQUIRED
    if loc[-1] == "consent":
        return CONSENT
    if kind == "extra_forbidden":
        return "Is not one of the screening questions."
    if kind in {"missing", "bool_type"}:
        return "Must be true or false."
    return str(item["msg"])


def _nested(model: type[Request], loc: tuple[str, ...]) -> type[Request]:
    """The model of the field at `loc` (`Patient` for `patient`)."""
    for name in loc:
        field = model.model_fields.get(name)
        annotation = field.annotation if field else None
        for kind in (annotation, *get_args(annotation)):
            if isinstance(kind, type) and issubclass(kind, Request):
                model = kind
    return model


def idempotency_key(raw: str | None) -> str | None:
    """Return a valid Idempotency-Key header value, or raise `InvalidRequest`."""
    if raw is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(raw):
        raise InvalidRequest({"Idempotency-Key": "Must be 1 to 255 visible ASCII characters."})
    return raw
