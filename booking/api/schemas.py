"""What the API takes and answers, declared once: these validate requests and document them.

Requests are pydantic models built from the field types of `fields.py`, so the API refuses
what the booking service refuses; responses are TypedDicts, so the views build plain dicts
(an availability answer has hundreds of slots) whose shape mypy checks. `openapi.py`
generates the document's schemas from both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, NotRequired, TypeVar, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    create_model,
    model_validator,
)
from typing_extensions import TypedDict  # pydantic reads only this one before Python 3.12

from booking.api.fields import (
    REQUIRED,
    Day,
    Email,
    Instant,
    Name,
    Notes,
    Phone,
    Reason,
    Slug,
    TherapistId,
    refuse,
)
from booking.models import Status
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
    not_an_object = "Must be an object with name, email and phone."

    name: Name
    email: Email
    phone: Phone


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


class BookingRequest(Request):
    service: Slug
    therapist_id: TherapistId = None
    start: Instant
    patient: Patient
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
        if isinstance(data, dict) and "patient" not in data:
            return {**data, "patient": {}}
        return data

    def wanted(self) -> Wanted:
        """The booking the booking service is asked for."""
        screening = self.screening
        answers = None if screening is None else {key: getattr(screening, key) for key in KEYS}
        return Wanted(
            service=self.service,
            start=self.start,
            patient=PatientDetails(self.patient.name, self.patient.email, self.patient.phone),
            therapist_id=self.therapist_id,
            notes=self.notes or "",
            screening=answers,
        )


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


def parse(model: type[M], data: object) -> M:
    """Return `data` as a `model`, or raise `InvalidRequest` naming every field refused."""
    try:
        return model.model_validate(data)
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


# ---------------------------------------------------------------------------------------------
# Responses.

DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Service(TypedDict):
    slug: str
    name: str
    description: str
    preparation: str
    duration_minutes: int
    buffer_minutes: int
    requires_ims: bool
    requires: Annotated[str | None, Field(description="Slug of a prior service.")]


class Therapist(TypedDict):
    id: int
    name: str
    bio: str
    ims_certified: bool
    ims_certification_expires: Annotated[str, Field(json_schema_extra={"format": "date"})] | None


class Slot(TypedDict):
    start: DateTime
    end: DateTime
    therapist_id: int
    inside_cutoff: Annotated[
        bool,
        Field(
            description="Booked now, this time can be changed online only during the clinic's "
            "grace period after booking, then by phone: tell the patient."
        ),
    ]


class Booking(TypedDict):
    id: int
    reference: Annotated[str, Field(examples=["K7MA-4QXD"])]
    status: Status
    start: DateTime
    end: DateTime
    service: Annotated[str, Field(description="The service's slug.")]
    therapist_id: int
    can_change_online: bool
    change_deadline: Annotated[
        str,
        Field(
            description="Until then the patient may reschedule or cancel online: the later of "
            "the cut-off before the visit and the grace period after the booking or last move "
            "(never after the start).",
            json_schema_extra={"format": "date-time"},
        ),
    ]
    manage_token: NotRequired[
        Annotated[
            str, Field(description="Only in the response to the POST that created the booking.")
        ]
    ]


class ServiceList(TypedDict):
    services: list[Service]


class TherapistList(TypedDict):
    therapists: list[Therapist]


class Availability(TypedDict):
    timezone: Annotated[str, Field(description="The clinic's zone, such as America/Vancouver.")]
    slots: Annotated[list[Slot], Field(description="Sorted by start, then therapist.")]


class Problem(TypedDict):
    code: Annotated[str, Field(examples=["slot_unavailable"])]
    message: str
    fields: NotRequired[Annotated[dict[str, str], Field(description="Per-field messages (422).")]]
    alternatives: NotRequired[
        Annotated[
            list[Slot], Field(description="Up to 5 bookable slots near the one refused (409).")
        ]
    ]
    required_service: NotRequired[str]
    phone: NotRequired[str]


class Error(TypedDict):
    error: Problem
