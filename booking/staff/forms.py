"""The staff workspace's forms: shape only; the services decide what is allowed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)

# types-WTForms 3.2 predates SelectChoice (WTForms 3.3).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from booking.models import QUESTIONS
from booking.services.accounts import MAX_PASSWORD, MIN_PASSWORD
from booking.web.forms import DetailsForm, email_address, person_name, plain_text


def sane_date(form: Form, field: DateField) -> None:
    """Dates from 2000 to 2200: no overflow at the calendar's end, no typo a millennium off."""
    if field.data is not None and not 2000 <= field.data.year <= 2200:
        raise ValidationError("Choose a date between the years 2000 and 2200.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])
    next = HiddenField()


def new_password() -> PasswordField:
    return PasswordField(
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


def repeated_password() -> PasswordField:
    return PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD)]
    )
    new = new_password()
    repeat = repeated_password()


class NewPasswordForm(FlaskForm):
    """An admin gives a staff member who lost their password a new one."""

    new = new_password()
    repeat = repeated_password()


class ActionForm(FlaskForm):
    """A POST button: nothing but the CSRF token."""


class ChangeForm(ActionForm):
    """A POST that changes an appointment: it carries the sequence the page showed."""

    sequence = HiddenField(validators=[DataRequired()])


class MoveForm(ChangeForm):
    """A staff move; the spacing of needling visits skipped only with a reason (audited)."""

    skip_spacing = BooleanField("Move it anyway, closer than the spacing (say why below)")
    override_reason = StringField(
        "Reason",
        description="Kept in the appointment's history.",
        validators=[Optional(), Length(max=200), plain_text],
    )


class StaffCancelForm(ChangeForm):
    reason = TextAreaField(
        "Reason",
        description="Shown in the appointment's history; the patient is told it is cancelled.",
        validators=[DataRequired(), Length(max=500), plain_text],
    )


class SearchForm(FlaskForm):
    """A patient search: POSTed, so names and phone numbers stay out of URLs and logs."""

    q = StringField("Name, email, phone or date of birth", validators=[Optional(), Length(max=120)])


class TimeOffForm(FlaskForm):
    first_day = DateField(
        "First day", validators=[InputRequired(message="Choose the first day."), sane_date]
    )
    from_time = TimeField(
        "From", description="Leave empty for the whole day.", validators=[Optional()]
    )
    last_day = DateField(
        "Last day", description="Leave empty for one day.", validators=[Optional(), sane_date]
    )
    until_time = TimeField(
        "Until", description="Leave empty for the end of the day.", validators=[Optional()]
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=200), plain_text])


class PhoneBookingForm(DetailsForm):
    """Reception books for a caller: their details, and any rule skipped with the reason."""

    key = HiddenField()  # one booking per form, however often it is sent
    date_of_birth = DateField(
        "Date of birth",
        description="Of the person the visit is for. Tells two people of one household apart.",
        validators=[InputRequired("Enter the date of birth.")],
    )
    for_someone_else = BooleanField("The caller is booking for someone else (a child, say)")
    booker = StringField(
        "Caller's name",
        description="Who reads the emails, when they are not the patient.",
        validators=[Optional(), Length(max=120), plain_text, person_name],
    )
    skip_prerequisite = BooleanField(
        "Book this follow-up without an assessment on record (say why below)"
    )
    skip_spacing = BooleanField(
        "Book this needling visit closer to the patient's other one than the clinic's "
        "spacing (say why below)"
    )
    skip_reassessment = BooleanField(
        "Book this follow-up although a re-assessment is due (say why below)"
    )
    override_reason = StringField(
        "Reason for booking outside the rules",
        description="Needed for a time inside the minimum notice, a follow-up without an "
        "assessment or needling visits closer than the spacing; kept in the appointment's "
        "history.",
        validators=[Optional(), Length(max=200), plain_text],
    )

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if "booker" in self._fields and self.for_someone_else.data and not self.booker.data:
            self.booker.errors = [*self.booker.errors, "Enter the caller's name."]
            valid = False
        return valid

    def booked_by(self) -> str:
        """The caller's name when they book for someone else, else blank."""
        if "booker" not in self._fields or not self.for_someone_else.data:
            return ""
        return (self.booker.data or "").strip()


class PhoneAssessmentForm(PhoneBookingForm):
    """A caller's first needling visit: the screening read over the phone, or left pending."""

    screening_mode = RadioField(
        "IMS safety screening",
        choices=[
            SelectChoice("phone", "Ask the questions now; the caller consents verbally"),
            SelectChoice("pending", "Email the patient a link to answer before the visit"),
        ],
        validators=[InputRequired("Choose how the screening is done.")],
    )
    verbal_consent: BooleanField  # set below, after the questions, to follow them on the page

    def questions(self) -> list[Field]:
        return [self[key] for key, _ in QUESTIONS]

    def pending(self) -> bool:
        return bool(self.screening_mode.data == "pending")  # RadioField data is Any

    def screening(self) -> dict[str, bool] | None:
        if self.pending():
            return None
        return {key: self[key].data == "yes" for key, _ in QUESTIONS}

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if self.screening_mode.data != "phone":
            return valid
        for field in self.questions():
            if field.data not in ("yes", "no"):
                field.errors = [*field.errors, "Ask the caller: yes or no."]
                valid = False
        if not self.verbal_consent.data:
            self.verbal_consent.errors = [*self.verbal_consent.errors, "Record the consent."]
            valid = False
        return valid


for _key, _text in QUESTIONS:  # answered only when asked now (see `validate`)
    setattr(
        PhoneAssessmentForm,
        _key,
        RadioField(_text, choices=[SelectChoice("no", "No"), SelectChoice("yes", "Yes")],
                   validators=[Optional()]),
    )  # fmt: skip
PhoneAssessmentForm.verbal_consent = BooleanField(  # after the questions, as on the page
    "I explained what IMS involves (fine needles in tight muscles, soreness for a day or two) "
    "and the caller agreed to be assessed and, if suitable, treated"
)


class KnownPhoneBookingForm(PhoneBookingForm):
    """A visit for a person on record (chosen by a search): their details are the record's."""

    name = email = phone = date_of_birth = for_someone_else = booker = None  # type: ignore[assignment]


class KnownPhoneAssessmentForm(PhoneAssessmentForm):
    name = email = phone = date_of_birth = for_someone_else = booker = None  # type: ignore[assignment]


class SettingsForm(FlaskForm):
    name = StringField(
        "Clinic name", validators=[DataRequired(), Length(max=120), plain_text, person_name]
    )
    address = StringField("Address", validators=[Optional(), Length(max=300), plain_text])
    phone = StringField("Phone", validators=[Optional(), Length(max=40), plain_text])
    email = EmailField(
        "Email",
        description="Patients write here; also the invites' organizer unless "
        "MAIL_DEFAULT_SENDER is set.",
        validators=[Optional(), Length(max=254)],
    )
    timezone = StringField(
        "Time zone", description="For example America/Vancouver.", validators=[DataRequired()]
    )
    slot_step_minutes = IntegerField("Minutes between offered start times", [InputRequired()])
    min_notice_minutes = IntegerField(
        "Minimum notice for online booking (minutes)", [InputRequired()]
    )
    booking_horizon_days = IntegerField("How far ahead patients may book (days)", [InputRequired()])
    cancel_cutoff_minutes = IntegerField(
        "Online changes close this long before a visit (minutes)", [InputRequired()]
    )
    reminder_lead_minutes = IntegerField(
        "Reminder email this long before a visit (minutes; 0 for none)", [InputRequired()]
    )
    change_grace_minutes = IntegerField(
        "After booking or moving, changes stay possible online this long (minutes)",
        [InputRequired()],
    )
    needling_spacing_days = IntegerField(
        "Needling visits of one patient at least this many days apart (0 to 14; 0 for no rule)",
        [InputRequired()],
        description="With 2, Monday then Wednesday is fine, Monday then Tuesday is not. "
        "Reception may book closer with a reason.",
    )
    reassess_after_sessions = IntegerField(
        "A re-assessment after this many follow-up sessions (0 to 50; 0 for no limit)",
        [InputRequired()],
    )
    reassess_after_weeks = IntegerField(
        "A re-assessment after a gap of more than this many weeks (0 to 104; 0 for no limit)",
        [InputRequired()],
    )
    # Shown only once a reminder lead not longer than the cut-off was refused.
    short_reminder_ok = BooleanField(
        "Yes, send reminders after online changes close: they give the phone number instead "
        "of the link"
    )
    locale = StringField(
        "Language and region for dates and times",
        description="For example en_CA (Tuesday, December 2, 9:30 a.m.).",
        validators=[DataRequired(), Length(max=16)],
    )
    clock_24h = BooleanField("Show times in the 24-hour clock (09:30 instead of 9:30 a.m.)")


class ClosureForm(FlaskForm):
    first_day = DateField(
        "First day", validators=[InputRequired("Choose the first day."), sane_date]
    )
    last_day = DateField(
        "Last day", description="Leave empty for one day.", validators=[Optional(), sane_date]
    )
    reason = StringField("Reason", validators=[Optional(), Length(max=200), plain_text])


class TherapistForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=120), plain_text, person_name]
    )
    email = EmailField(
        "Email",
        description="Their copy of each invite goes here; leave empty for none.",
        validators=[Optional(), Length(max=254), email_address],
    )
    bio = TextAreaField("Short bio", validators=[Optional(), Length(max=1000), plain_text])
    active = BooleanField("Bookable (shown to patients)")
    ims_certified = BooleanField("IMS certified")
    ims_certification_expires = DateField(
        "IMS certification expires",
        description="No IMS bookings after this date.",
        validators=[Optional(), sane_date],
    )
    services = SelectMultipleField("Services offered", coerce=int, validators=[Optional()])


class ServiceForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=120), plain_text, person_name]
    )
    slug = StringField(
        "Web address",
        description="Lower-case words joined by hyphens, e.g. ims-follow-up.",
        validators=[DataRequired(), Length(max=60)],
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=2000), plain_text]
    )
    preparation = TextAreaField(
        "How to prepare", validators=[Optional(), Length(max=2000), plain_text]
    )
    duration_minutes = IntegerField(
        "Duration (minutes)", validators=[InputRequired(), NumberRange(5, 480)]
    )
    buffer_minutes = IntegerField(
        "Buffer after (minutes)",
        description="Needle disposal, cleaning and notes.",
        validators=[InputRequired(), NumberRange(0, 120)],
    )
    requires_ims = BooleanField("Needling: only IMS-certified therapists")
    prerequisite = SelectField("Must come after", coerce=int)
    reassessment = BooleanField(
        "The re-assessment: asked for after many sessions or a long gap (clinic settings)"
    )
    active = BooleanField("Bookable")


class AccountForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=120), plain_text, person_name]
    )
    role = SelectField(
        "Role",
        choices=[
            SelectChoice("reception", "Reception"),
            SelectChoice("therapist", "Therapist"),
            SelectChoice("admin", "Admin"),
        ],
    )
    therapist = SelectField("Therapist (for a therapist account)", coerce=int)
    password = PasswordField(
        "First password",
        description=f"At least {MIN_PASSWORD} characters; they can change it after signing in.",
        validators=[DataRequired(), Length(max=MAX_PASSWORD)],
    )
