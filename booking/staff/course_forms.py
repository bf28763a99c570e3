"""The course planning form: shape only; `services.courses` decides what can be booked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
    widgets,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from booking.models.course import CADENCE_DAYS_MAX, SESSIONS_MAX
from booking.staff.forms import sane_date
from booking.web.forms import plain_text

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
END_REASON_MAX = 200


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class PlanForm(FlaskForm):
    """A course's plan: what, with whom, how many, how often, when in the week."""

    service = SelectField("Each session", validators=[InputRequired("Choose the service.")])
    therapist_id = SelectField(
        "Therapist", coerce=int, validators=[InputRequired("Choose the therapist.")]
    )
    sessions = IntegerField(
        "Sessions",
        default=8,
        description=f"1 to {SESSIONS_MAX}. A lasting result usually takes eight to ten.",
        validators=[InputRequired("Say how many sessions."),
                    NumberRange(1, SESSIONS_MAX, f"From 1 to {SESSIONS_MAX} sessions.")],
    )  # fmt: skip
    cadence_days = IntegerField(
        "Every how many days",
        default=7,
        description="7 is weekly.",
        validators=[InputRequired("Say how often."),
                    NumberRange(1, CADENCE_DAYS_MAX, f"From 1 to {CADENCE_DAYS_MAX} days.")],
    )  # fmt: skip
    weekdays = CheckboxesField(
        "Preferred weekdays",
        coerce=int,
        choices=[SelectChoice(day, name) for day, name in enumerate(WEEKDAYS)],
        default=list(range(7)),
        validators=[InputRequired("Choose at least one weekday.")],
    )
    window_start = TimeField("Not before (optional)", validators=[Optional()])
    window_end = TimeField("Ending by (optional)", validators=[Optional()])
    first_on = DateField(
        "First session on or after",
        validators=[InputRequired("Enter the date of the first session."), sane_date],
    )
    end_by = DateField("End by (optional)", validators=[Optional(), sane_date])


class EndForm(FlaskForm):
    reason = StringField(
        "Why does the course end?",
        validators=[InputRequired("Say why."), Length(max=END_REASON_MAX), plain_text],
    )


class AddForm(FlaskForm):
    more = IntegerField(
        "Add sessions",
        default=1,
        validators=[InputRequired("Say how many."), NumberRange(1, SESSIONS_MAX, "From 1.")],
    )
