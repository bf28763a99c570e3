"""Book, reschedule and cancel: each one transaction that re-checks every rule inside it.

`book` (book.py) and `reschedule` / `cancel` (change.py) call the same rules (rules.py) in
their transaction, and write through the statements in writes.py; the audit rows come from
`booking.services.audit`. Callers hand in and get back the frozen values of values.py.

The availability check here gives patients a clear answer; the database constraints behind
it (migration 0001) are what make a double booking impossible when two requests race.
"""

from __future__ import annotations

from booking.services import changes
from booking.services.booking.book import book
from booking.services.booking.change import (
    MANAGE_LINK_LIFETIME,
    appointment_for_token,
    cancel,
    reschedule,
)
from booking.services.booking.rules import Change, changeable, offering_therapist
from booking.services.booking.values import Booked, BookingRequest, PatientDetails, Visit

# Re-exported: the edges ask `booking` whether a patient may still change online.
changeable_online = changes.changeable_online
change_deadline = changes.change_deadline

__all__: list[str] = [
    "MANAGE_LINK_LIFETIME",
    "Booked",
    "BookingRequest",
    "Change",
    "PatientDetails",
    "Visit",
    "appointment_for_token",
    "book",
    "cancel",
    "change_deadline",
    "changeable",
    "changeable_online",
    "offering_therapist",
    "reschedule",
]
