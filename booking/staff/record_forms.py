"""The patient record's forms: shape only; `services.person_edits` and `merge` decide."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, RadioField, StringField, TelField

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import InputRequired, Length, Optional

from booking.services.validation import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PHONE_MAX_LENGTH
from booking.web.forms import email_address, person_name, phone_number, plain_text


class PersonForm(FlaskForm):
    """A person's own details (their email is their contact's: `MoveForm`)."""

    name = StringField(
        "Full name",
        validators=[InputRequired("Enter the name."), Length(max=NAME_MAX_LENGTH), plain_text,
                    person_name],
    )  # fmt: skip
    preferred_name = StringField(
        "Preferred name (optional)",
        description="What the clinic calls them: the emails greet them by it.",
        validators=[Optional(), Length(max=NAME_MAX_LENGTH), plain_text, person_name],
    )
    date_of_birth = DateField("Date of birth", validators=[Optional()])
    phone = TelField(
        "Phone",
        validators=[Optional(), Length(max=PHONE_MAX_LENGTH), phone_number],
    )


class MoveForm(FlaskForm):
    """A new email: the person moves to that address's household (made if new)."""

    email = EmailField(
        "Email",
        description="Their messages go here. Another household's address moves them into it; "
        "the others here stay.",
        validators=[InputRequired("Enter the email address."), Length(max=EMAIL_MAX_LENGTH),
                    email_address],
    )  # fmt: skip


class MergeForm(FlaskForm):
    """Merge another record (named by the URL's `other`) into this one, or the reverse."""

    keep = RadioField(
        "Which record's details to keep",
        choices=[SelectChoice("this", "This record's"), SelectChoice("other", "The other's")],
        validators=[InputRequired("Choose the record to keep.")],
    )
