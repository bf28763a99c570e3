"""What the staff see of a day or a week: hours, breaks, time off and appointments per column.

A column is one therapist on one day: the clinic's day view puts the working therapists side
by side, a therapist's week view puts their seven days side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.availability import working_windows
from booking.extensions import db
from booking.models import Appointment, Patient, Status, Therapist, TimeOff
from booking.services import screening as screenings
from booking.services.catalog import Catalog, ServiceInfo, TherapistInfo, certified
from booking.services.clinic import local_day_bounds

ROW_MINUTES = 5  # the grid's resolution
DEFAULT_OPEN, DEFAULT_CLOSE = time(8), time(18)


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    start: datetime
    end: datetime
    status: str
    arrived: bool
    patient: str
    service: str
    uncertified: bool  # the therapist's IMS certification has lapsed by this date
    screening: str = ""  # "screening pending" or "review before needling" (see `screening`)


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime
    label: str = ""
    # Time off cut at the day's edges: it began on an earlier day / runs into a later one,
    # so the label says "all day", "until" or "from" instead of a midnight.
    from_before: bool = False
    runs_after: bool = False


@dataclass
class Column:
    therapist: TherapistInfo
    day: date
    hours: list[Span] = field(default_factory=list)
    time_off: list[Span] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)

    def free(self, minimum: timedelta = timedelta(minutes=15)) -> list[Span]:
        """Working time clear of visits and time off, in pieces of at least `minimum`.

        A cancelled visit's time is free to book, but the grid still shows the visit there:
        a "Free" link under it would be hidden (and unreadable), so the pieces go around it.
        """
        taken = self._visits() + [(t.start, t.end) for t in self.time_off]
        return [Span(a, b, "Free") for a, b in _clear(self.hours, taken, minimum)]

    def time_off_labels(
        self, minimum: timedelta = timedelta(minutes=15)
    ) -> list[tuple[Span, Span]]:
        """Each time off's words, in its first piece clear of visits (none if all covered).

        Words under a visit cannot be read (nor their contrast checked); a visit over time
        off says so itself ("needs moving").
        """
        return _labels(self.time_off, self._visits(), minimum)

    def break_labels(self, minimum: timedelta = timedelta(minutes=15)) -> list[tuple[Span, Span]]:
        """The word "Break" where no visit or time off covers it."""
        taken = self._visits() + [(t.start, t.end) for t in self.time_off]
        return _labels(self.breaks, taken, minimum)

    def _visits(self) -> list[tuple[datetime, datetime]]:
        return [(v.start, v.end) for v in self.visits]

    @property
    def breaks(self) -> list[Span]:
        """The gaps between working windows (lunch), for the grid to shade."""
        return [
            Span(a.end, b.start, "Break")
            for a, b in zip(self.hours, self.hours[1:], strict=False)
            if a.end < b.start
        ]


def _clear(
    windows: list[Span], taken: list[tuple[datetime, datetime]], minimum: timedelta
) -> list[tuple[datetime, datetime]]:
    """The pieces of `windows` that nothing in `taken` covers, each at least `minimum`."""
    taken = sorted(taken)
    gaps = []
    for window in windows:
        cursor = window.start
        for start, end in taken:
            if end <= cursor or start >= window.end:
                continue
            if start - cursor >= minimum:
                gaps.append((cursor, start))
            cursor = max(cursor, end)
        if window.end - cursor >= minimum:
            gaps.append((cursor, window.end))
    return gaps


def _labels(
    spans: list[Span], taken: list[tuple[datetime, datetime]], minimum: timedelta
) -> list[tuple[Span, Span]]:
    """(where the words go, the span they describe) for each span with a clear piece."""
    found = []
    for span in spans:
        pieces = _clear([span], taken, minimum)
        if pieces:
            found.append((Span(*pieces[0]), span))
    return found


@dataclass
class Schedule:
    columns: list[Column]
    zone: ZoneInfo
    opens: time  # the first and last grid row, local wall clock
    closes: time
    closed: bool = False  # a clinic closure covers the day

    def row(self, instant: datetime, day: date | None = None) -> int:
        """The grid row (from 2: row 1 holds the headings) where `instant` falls on `day`.

        Instants before or after that day (time off running past midnight) and times
        outside the grid are held at its first or last row.
        """
        local = instant.astimezone(self.zone)
        minutes = local.hour * 60 + local.minute
        if day is not None and local.date() != day:
            minutes = 0 if local.date() < day else 24 * 60
        first = self.opens.hour * 60 + self.opens.minute
        last = self.closes.hour * 60 + self.closes.minute
        return 2 + (min(max(minutes, first), last) - first) // ROW_MINUTES

    def span(self, start: datetime, end: datetime, day: date | None = None) -> int:
        return max(1, self.row(end, day) - self.row(start, day))

    def row_of(self, wall: time) -> int:
        minutes = wall.hour * 60 + wall.minute - (self.opens.hour * 60 + self.opens.minute)
        return 2 + minutes // ROW_MINUTES

    def hour_marks(self) -> list[tuple[int, time]]:
        """Return each whole hour's row and wall-clock time (the `time_of_day` filter writes it)."""
        marks = []
        for hour in range(self.opens.hour, self.closes.hour + (1 if self.closes.minute else 0)):
            if time(hour) >= self.opens:
                marks.append((self.row_of(time(hour)), time(hour)))
        return marks


def day_schedule(
    catalog: Catalog, day: date, *, therapist_ids: list[int] | None = None
) -> Schedule:
    """Every therapist who works or has visits on `day` (or only those given), side by side."""
    visits = _visits(catalog, therapist_ids, day, day)
    if therapist_ids is None:
        # Everyone bookable, and anyone no longer bookable who still has visits that day:
        # switching a therapist off must not hide the patients who are coming to see them.
        wanted = list(catalog.therapists)
        wanted += sorted({tid for tid, _ in visits} - set(catalog.therapists))
    else:
        wanted = therapist_ids
    away = _time_off(catalog, wanted, day, day)
    columns = []
    for therapist_id in wanted:
        therapist = catalog.therapist(therapist_id)
        column = _column(catalog, therapist, day, visits, away)
        if therapist_ids is not None or column.hours or column.visits:
            columns.append(column)
    return _schedule(catalog, columns, day, day)


def week_schedule(catalog: Catalog, therapist: TherapistInfo, monday: date) -> Schedule:
    """One therapist's week, a column per day."""
    therapist_id = therapist.id
    sunday = monday + timedelta(days=6)
    visits = _visits(catalog, [therapist_id], monday, sunday)
    away = _time_off(catalog, [therapist_id], monday, sunday)
    days = [monday + timedelta(days=n) for n in range(7)]
    columns = [_column(catalog, therapist, day, visits, away) for day in days]
    return _schedule(catalog, columns, monday, sunday)


def _schedule(catalog: Catalog, columns: list[Column], first: date, last: date) -> Schedule:
    zone = catalog.clinic.zone
    timed: list[Span | Visit] = []
    for c in columns:
        timed += c.hours
        timed += c.visits
    walls = [(s.start.astimezone(zone).time(), s.end.astimezone(zone).time()) for s in timed]
    earliest = min([DEFAULT_OPEN, *(a for a, _ in walls)])
    latest = max([DEFAULT_CLOSE, *(b for _, b in walls if b != time(0))])
    opens = time(earliest.hour)
    closes = time(min(latest.hour + (1 if latest.minute else 0), 23))
    closed = first == last and bool(catalog.closed_dates(first, last))
    return Schedule(columns, zone, opens, closes, closed=closed)


Spans = dict[tuple[int, date], list[Span]]  # by (therapist id, local day)
Visits = dict[tuple[int, date], list[Visit]]


def _column(
    catalog: Catalog, therapist: TherapistInfo, day: date, visits: Visits, away: Spans
) -> Column:
    column = Column(therapist, day)
    if not catalog.closed_dates(day, day):
        # The availability engine's own windows: the same instants, daylight saving included.
        week = catalog.hours.get(therapist.id, {})
        column.hours = [
            Span(w.start, w.end) for w in working_windows(week, day, catalog.clinic.zone)
        ]
    column.time_off = away.get((therapist.id, day), [])
    column.visits = visits.get((therapist.id, day), [])
    return column


def _time_off(catalog: Catalog, therapist_ids: list[int], first: date, last: date) -> Spans:
    """Time off per (therapist, local day), cut at each day's edges; one query for all."""
    zone = catalog.clinic.zone
    start, end = local_day_bounds(first, last, zone)
    found: Spans = {}
    for row in db.session.scalars(
        select(TimeOff)
        .where(
            TimeOff.therapist_id.in_(therapist_ids),
            TimeOff.start_at < end,
            TimeOff.end_at > start,
        )
        .order_by(TimeOff.start_at)
    ):
        day = max(row.start_at.astimezone(zone).date(), first)
        while day <= last:
            day_start, day_end = local_day_bounds(day, day, zone)
            if row.start_at >= day_end:
                break
            if row.end_at > day_start:
                span = Span(
                    max(row.start_at, day_start),
                    min(row.end_at, day_end),
                    row.reason or "Time off",
                    from_before=row.start_at <= day_start,
                    runs_after=row.end_at >= day_end,
                )
                found.setdefault((row.therapist_id, day), []).append(span)
            day += timedelta(days=1)
    return found


def _visits(catalog: Catalog, therapist_ids: list[int] | None, first: date, last: date) -> Visits:
    """Visits per (therapist, local day) of those given, or of everyone with None."""
    zone = catalog.clinic.zone
    start, end = local_day_bounds(first, last, zone)
    found: Visits = {}
    query = (
        select(Appointment, Patient.name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .where(Appointment.start_at >= start, Appointment.start_at < end)
        .order_by(Appointment.start_at, Appointment.id)
    )
    # Everyone's still goes through the (therapist_id, start_at) index, one descent per
    # therapist: on the start time alone PostgreSQL read a whole index, 20 ms at 1M rows.
    everyone = select(Therapist.id).scalar_subquery()
    ids = everyone if therapist_ids is None else therapist_ids
    query = query.where(Appointment.therapist_id.in_(ids))
    rows = db.session.execute(query).all()
    # Only booked visits: a cancelled or past one needs nobody's review any more.
    flags = screenings.flags(a.id for a, _ in rows if a.status == Status.BOOKED)
    for appointment, patient_name in rows:
        service: ServiceInfo = catalog.services[appointment.service_id]
        therapist = catalog.therapists.get(appointment.therapist_id)
        day = appointment.start_at.astimezone(zone).date()
        lapsed = (
            service.requires_ims
            and appointment.status == Status.BOOKED
            and (therapist is None or not certified(therapist, day))
        )
        found.setdefault((appointment.therapist_id, day), []).append(
            Visit(
                id=appointment.id,
                start=appointment.start_at,
                end=appointment.end_at,
                status=appointment.status,
                arrived=appointment.arrived_at is not None,
                patient=patient_name,
                service=service.name,
                uncertified=lapsed,
                screening=flags.get(appointment.id, ""),
            )
        )
    return found
