"""What the API answers, declared once: TypedDicts, so the views build plain dicts (an
availability answer has hundreds of slots) whose shape mypy checks, and `openapi.py`
generates the document's response schemas from them."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads only this one before Python 3.12

from booking.models import Status

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


LocalDate = Annotated[str, Field(json_schema_extra={"format": "date"})]


class Person(TypedDict):
    id: Annotated[int, Field(description="What `POST /bookings` takes as `person_id`.")]
    name: str
    preferred_name: Annotated[str, Field(description="Blank unless the clinic has one.")]
    date_of_birth: Annotated[
        LocalDate | None, Field(description="Null if recorded before dates of birth were.")
    ]


class AccessLinkAnswer(TypedDict):
    message: Annotated[
        str, Field(description="The same words for every address, on record or not.")
    ]


class AccessToken(TypedDict):
    access_token: Annotated[
        str,
        Field(
            description="Send it as `Authorization: Bearer <access_token>` to book a follow-up "
            "for one of `people` and to read `/household`."
        ),
    ]
    token_type: Literal["Bearer"]
    expires_at: DateTime
    expires_in: Annotated[int, Field(description="Seconds until `expires_at`.")]
    people: Annotated[
        list[Person], Field(description="The household's people, oldest record first.")
    ]


class HouseholdVisit(TypedDict):
    id: int
    person_id: int
    reference: str
    status: Status
    start: DateTime
    service: Annotated[str, Field(description="The service's slug.")]
    therapist_id: int
    manage_token: Annotated[
        str | None,
        Field(description="For `/bookings/{token}`; null for a visit booked before tokens were."),
    ]


class Household(TypedDict):
    people: list[Person]
    upcoming: Annotated[
        list[HouseholdVisit], Field(description="Booked visits still to come, soonest first.")
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
            list[Slot],
            Field(
                description="Up to 5 bookable slots near the one refused (409); for "
                "`too_soon`, only on days that keep the spacing."
            ),
        ]
    ]
    required_service: NotRequired[str]
    phone: NotRequired[str]


class Error(TypedDict):
    error: Problem
