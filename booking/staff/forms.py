"""The staff workspace's forms: shape only; the services decide what is allowed."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from booking.public.forms import plain_text
from booking.services.accounts import MAX_PASSWORD, MIN_PASSWORD


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD)]
    )
    new = PasswordField(
        "New password",
        description=f"At least {MIN_PASSWORD} characters. A few unrelated words work well.",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"Use at least {MIN_PASSWORD} and at most {MAX_PASSWORD} characters.",
            ),
        ],
    )
    repeat = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )


class ActionForm(FlaskForm):
    """A POST button: nothing but the CSRF token."""


class ChangeForm(ActionForm):
    """A POST that changes an appointment: it carries the sequence the page showed."""

    sequence = HiddenField(validators=[DataRequired()])


class StaffCancelForm(ChangeForm):
    reason = TextAreaField(
        "Reason",
        description="Shown in the appointment's history; the patient is told it is cancelled.",
        validators=[DataRequired(), Length(max=500), plain_text],
    )


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField("Find a patient", validators=[Optional(), Length(max=120)])


class TimeOffForm(FlaskForm):
    first_day = DateField("First day", validators=[InputRequired(message="Choose the first day.")])
    from_time = TimeField(
        "From", description="Leave empty for the whole day.", validators=[Optional()]
    )
    last_day = DateField(
        "Last day", description="Leave empty for one day.", validators=[Optional()]
    )
    until_time = TimeField(
        "Until", description="Leave empty for the end of the day.", validators=[Optional()]
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=200), plain_text])
