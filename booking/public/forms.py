"""The patient site's own forms: who a visit is for, and "Been here before?"."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    Form,
    RadioField,
    StringField,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import DateInput

from booking.models import QUESTIONS
from booking.services.validation import (
    EARLIEST_BIRTH_YEAR,
    NAME_MAX_LENGTH,
    birth_date,
    birth_date_problem,
)
from booking.web.forms import (
    CONSENT,
    _Questions,
    answer_field,
    email_field,
    note_field,
    person_name,
    phone_field,
    plain_text,
)

ME, SOMEONE = "me", "someone"


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _for_someone(form: Form) -> bool:
    return bool(form.who.data == SOMEONE)  # type: ignore[attr-defined]


def patient_name(form: Form, field: Field) -> None:
    if not field.data:
        message = "Enter their name." if _for_someone(form) else "Enter your name."
        raise StopValidation(message)


def booker_name(form: Form, field: Field) -> None:
    """Your own name, asked only when the visit is for someone else."""
    if not _for_someone(form):
        field.data = ""
        field.errors = []
        raise StopValidation()
    if not field.data:
        raise StopValidation("Enter your own name.")


def birth_date_given(form: Form, field: Field) -> None:
    """A date of birth, written YYYY-MM-DD (what a date input sends): checked against today."""
    whose = "their" if _for_someone(form) else "your"
    if not field.data:
        raise StopValidation(f"Enter {whose} date of birth.")
    value = birth_date(field.data)
    if value is None:
        raise ValidationError("Enter the date of birth as year-month-day, like 1980-05-17.")
    problem = birth_date_problem(value, form.today)  # type: ignore[attr-defined]
    if problem:
        raise ValidationError(problem)


class VisitorForm(FlaskForm):
    """A new visit's person: the patient, or someone they book for (then the booker too)."""

    who = RadioField(
        "Who is this visit for?",
        choices=[SelectChoice(ME, "Me"), SelectChoice(SOMEONE, "Someone else")],
        default=ME,
        validators=[InputRequired("Say who the visit is for.")],
    )
    name = StringField(
        "Full name",
        description="The name of the person coming to the visit.",
        validators=[patient_name, Length(max=NAME_MAX_LENGTH), plain_text, person_name],
        filters=[_strip],
        render_kw={"autocomplete": "name", "required": True},
    )
    date_of_birth = StringField(
        "Date of birth",
        description="Of the person coming to the visit.",
        validators=[birth_date_given],
        filters=[_strip],
        widget=DateInput(),
        render_kw={"min": f"{EARLIEST_BIRTH_YEAR}-01-01", "required": True},
    )
    booker = StringField(
        "Your name",
        description="Only when you book for someone else: messages about the visit go to you.",
        validators=[booker_name, Length(max=NAME_MAX_LENGTH), plain_text, person_name],
        filters=[_strip],
    )
    email = email_field()
    phone = phone_field()
    note = note_field()

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        # A per-form copy: the unbound field's render_kw is shared by every form.
        self.date_of_birth.render_kw = dict(self.date_of_birth.render_kw or {}) | {
            "max": today.isoformat()
        }

    def for_someone(self) -> bool:
        return _for_someone(self)

    def born(self) -> date | None:
        return birth_date(self.date_of_birth.data or "")

    def screening(self) -> dict[str, bool] | None:
        return None


class PersonForm(FlaskForm):
    """A visit for a person on record (My visits): their details are known, only the note."""

    note = note_field("For example where it hurts, or what changed since your last visit.")

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def screening(self) -> dict[str, bool] | None:
        return None


class VisitorAssessmentForm(_Questions, VisitorForm):
    """A new person's first needling visit: details plus the safety screening and consent."""


class PersonAssessmentForm(_Questions, PersonForm):
    """A person on record booking a needling assessment: the screening and consent."""


# Added after the classes, in page order (the questions, then consent), as errors are listed.
for _form in (VisitorAssessmentForm, PersonAssessmentForm):
    for _key, _text in QUESTIONS:
        setattr(_form, _key, answer_field(_text))
    _form.consent = BooleanField(
        CONSENT, validators=[DataRequired("Please confirm your consent to continue.")]
    )


class AccessForm(FlaskForm):
    """ "Been here before?": the address to send a one-time link to."""

    email = email_field("The address your confirmations went to.")
