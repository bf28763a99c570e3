"""Forms of the booking journey: they check shape; the booking service checks truth."""

from __future__ import annotations

from typing import Any, TypeVar

from email_validator import EmailNotValidError
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    Form,
    RadioField,
    StringField,
    TelField,
    TextAreaField,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from booking.models import QUESTIONS
from booking.services.validation import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    mail_address,
    name_problem,
    storable,
)
from booking.services.validation import phone_number as parse_phone

ANSWERS = [SelectChoice("no", "No"), SelectChoice("yes", "Yes")]
T = TypeVar("T")


def filled(value: T | None) -> T:
    """Return the data of a field its validators require: never None once the form is valid."""
    if value is None:
        raise ValueError("a required field is empty: the form was not validated")
    return value


def plain_text(form: Form, field: Field) -> None:
    if field.data and not storable(field.data):
        raise ValidationError("Please remove the unusual characters from this field.")


def person_name(form: Form, field: Field) -> None:
    """A name, which goes into email headers and calendars: see `name_problem`."""
    if field.data and (problem := name_problem(field.data)):
        raise ValidationError(problem)


def email_address(form: Form, field: Field) -> None:
    if not field.data:
        return
    try:
        field.data = mail_address(field.data)
    except EmailNotValidError:
        raise ValidationError("Enter an email address like name@example.com.") from None


def phone_number(form: Form, field: Field) -> None:
    # Only checked here: the field keeps what was typed, and the booking stores it in E.164.
    if field.data and parse_phone(field.data) is None:
        raise ValidationError("Enter a phone number like 604-555-0123.")


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def email_field(description: str = "Your confirmation and calendar invite go here.") -> EmailField:
    """The contact's address: where the confirmations and invites go."""
    return EmailField(
        "Email",
        description=description,
        validators=[
            InputRequired("Enter your email address."),
            Length(max=EMAIL_MAX_LENGTH),
            email_address,
        ],
        render_kw={"autocomplete": "email"},
    )


def phone_field() -> TelField:
    return TelField(
        "Mobile phone",
        description="Only used if we need to reach you about this visit.",
        validators=[
            InputRequired("Enter a phone number."),
            Length(max=PHONE_MAX_LENGTH),
            phone_number,
        ],
        filters=[_strip],
        render_kw={"autocomplete": "tel"},
    )


def note_field(description: str = "For example where it hurts, or access needs.") -> TextAreaField:
    return TextAreaField(
        "Anything the therapist should know? (optional)",
        description=description,
        validators=[Optional(), Length(max=NOTES_MAX_LENGTH), plain_text],
        filters=[_strip],
    )


class DetailsForm(FlaskForm):
    """Who is coming; `start` and `therapist` say which time, and are re-checked on submit."""

    name = StringField(
        "Full name",
        validators=[
            InputRequired("Enter your name."),
            Length(max=NAME_MAX_LENGTH),
            plain_text,
            person_name,
        ],
        filters=[_strip],
        render_kw={"autocomplete": "name"},
    )
    # Built by functions, called in page order: WTForms orders fields by when they were made.
    email = email_field()
    phone = phone_field()
    note = note_field()

    def screening(self) -> dict[str, bool] | None:
        return None


class _Questions:
    """The screening's questions, for a form that has them as fields."""

    def questions(self) -> list[Field]:
        return [self[key] for key, _ in QUESTIONS]  # type: ignore[index]

    def screening(self) -> dict[str, bool] | None:
        return {key: self[key].data == "yes" for key, _ in QUESTIONS}  # type: ignore[index]


class AssessmentForm(_Questions, DetailsForm):
    """Details plus the IMS safety screening and consent, for a first needling visit."""


class ScreeningForm(_Questions, FlaskForm):
    """The screening alone: a patient answers it from their link when reception left it open."""


CONSENT = (
    "I understand what IMS involves (fine needles placed in tight muscles, with soreness "
    "for a day or two afterwards) and I agree to be assessed and, if suitable, treated."
)


def answer_field(text: str) -> RadioField:
    return RadioField(text, choices=ANSWERS, validators=[InputRequired("Please answer yes or no.")])


# Added after the classes, in page order (the questions, then consent), as errors are listed.
for _form in (AssessmentForm, ScreeningForm):
    for _key, _text in QUESTIONS:
        setattr(_form, _key, answer_field(_text))
    _form.consent = BooleanField(
        CONSENT, validators=[DataRequired("Please confirm your consent to continue.")]
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason (optional)",
        description="It helps the clinic, but you do not have to say.",
        validators=[Optional(), Length(max=REASON_MAX_LENGTH), plain_text],
        filters=[_strip],
    )


class ConfirmForm(FlaskForm):
    """A bare POST with CSRF, for a confirm button (the view checks `sequence` itself)."""
