"""Returning patients: "Been here before?", the emailed one-time link, and My visits.

What these pages answer never depends on whether an address is on record: "Been here
before?" redirects every valid address to one fixed page (the service writes a link and its
email only for a contact it knows). The link's GET shows a button and changes nothing, so a
mail scanner that follows links does not use it up; its POST redeems it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from booking import clock
from booking.public import bp, visitor
from booking.public.forms import AccessForm
from booking.services import access, booking
from booking.services.access import Household, VisitInfo
from booking.services.booking.change import MANAGE_LINK_LIFETIME
from booking.services.catalog import Catalog, current
from booking.services.courses import progress as courses
from booking.services.courses.next_visit import Suggestion, suggest
from booking.services.errors import NotFound
from booking.web.forms import ConfirmForm, filled
from booking.web.params import count_change, format_start, require_valid

LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


@bp.route("/been-here-before", methods=["GET", "POST"])
def been_here_before() -> Response | tuple[str, int, dict[str, str]]:
    """Ask for the address; every valid one is answered by the same redirect."""
    now = clock.now()
    form = AccessForm()
    status, headers = 200, dict(PRIVATE)
    busy = False
    if form.validate_on_submit():
        try:
            count_change()  # the booking's limit: a complete form counts, a typo does not
        except TooManyRequests as exc:
            busy, status = True, 429
            headers["Retry-After"] = str(exc.retry_after)
        else:
            access.request_link(filled(form.email.data), now=now)
            return redirect(url_for("public.link_sent"), 303)
    elif form.errors:
        status = 422 if "csrf_token" not in form.errors else 400
    page = render_template(
        "public/been_here_before.html",
        form=form,
        busy=busy,
        verified=visitor.contact(now) is not None,
    )
    return page, status, headers


@bp.get("/been-here-before/sent")
def link_sent() -> tuple[str, int, dict[str, str]]:
    """The one answer, for every address: nothing on it depends on what was typed."""
    return render_template("public/link_sent.html", answer=access.ANSWER), 200, PRIVATE


@bp.route("/my/<token>", methods=["GET", "POST"])
def my_visits_link(token: str) -> Response | tuple[str, int, dict[str, str]]:
    """The emailed link: GET shows one button; only its POST uses the link up."""
    form = ConfirmForm()
    headers = dict(PRIVATE)  # the site's Referrer-Policy (same-origin) keeps the token home
    if not LINK_TOKEN.fullmatch(token):
        return _link_invalid(headers)
    if request.method == "POST":
        require_valid(form)
        now = clock.now()
        try:
            contact_id = access.redeem(token, now=now)
        except access.LinkInvalid:
            return _link_invalid(headers)
        visitor.verify(contact_id, now)
        return redirect(url_for("public.my_visits"), 303)
    return render_template("public/open_link.html", form=form, token=token), 200, headers


@bp.post("/my/from-manage/<token>")
def open_from_manage(token: str) -> Response:
    """A manage link proves the same inbox as an emailed link: open My visits from it."""
    require_valid(ConfirmForm())
    now = clock.now()
    try:
        booking.appointment_for_token(token, now=now)  # a live link only
    except NotFound:
        abort(404)
    contact_id = access.contact_of_manage_token(token)
    if contact_id is None:
        abort(404)
    visitor.verify(contact_id, now)
    return redirect(url_for("public.my_visits"), 303)


@bp.get("/my")
def my_visits() -> Response | tuple[str, int, dict[str, str]]:
    now = clock.now()
    found = visitor.household(now)
    if found is None:
        return redirect(url_for("public.been_here_before"))
    catalog = current()

    def manageable(visit: VisitInfo) -> bool:
        return visit.manage_token is not None and visit.start_at + MANAGE_LINK_LIFETIME > now

    return (
        render_template(
            "public/my_visits.html",
            household=found,
            visits=_per_person(found),
            next_visits=_next_visits(catalog, found, manageable, now),
            format_start=format_start,
            courses=courses.of_people([p.id for p in found.people], now=now),
            now=now,
            services=catalog.services,
            therapists=catalog.therapists,
            zone=catalog.clinic.zone,
            called=visitor.called,
            manageable=manageable,
            form=ConfirmForm(),
        ),
        200,
        PRIVATE,
    )


@bp.post("/my/book-for")
def book_for() -> Response:
    """Start a booking for one person of the verified household, their details known."""
    require_valid(ConfirmForm())
    found = visitor.household(clock.now())
    if found is None:
        return redirect(url_for("public.been_here_before"), 303)
    raw = request.form.get("person", "")
    person = found.person(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if person is None:
        abort(400, description="That person is not in your visits. Please choose again.")
    visitor.book_for(person.id)
    return redirect(url_for("public.services"), 303)


@bp.post("/my/book-for/anyone")
def book_for_anyone() -> Response:
    """Book for someone not on record after all: the form asks who the visit is for."""
    require_valid(ConfirmForm())
    visitor.stop_booking_for()
    return redirect(url_for("public.services"), 303)


@bp.post("/my/sign-out")
def sign_out() -> Response:
    require_valid(ConfirmForm())
    visitor.forget()
    flash("You have left My visits. To open it again, ask for a new link.", "success")
    return redirect(url_for("public.index"), 303)


def _link_invalid(headers: dict[str, str]) -> tuple[str, int, dict[str, str]]:
    page = render_template(
        "public/link_invalid.html", form=AccessForm(formdata=None), message=access.LinkInvalid()
    )
    return page, 410, headers


def _per_person(found: Household) -> dict[int, tuple[list[VisitInfo], list[VisitInfo]]]:
    """Each person's (upcoming, past) visits."""
    upcoming: dict[int, list[VisitInfo]] = defaultdict(list)
    past: dict[int, list[VisitInfo]] = defaultdict(list)
    for visit in found.upcoming:
        upcoming[visit.person_id].append(visit)
    for visit in found.past:
        past[visit.person_id].append(visit)
    return {p.id: (upcoming[p.id], past[p.id]) for p in found.people}


def _next_visits(
    catalog: Catalog, found: Household, manageable: Callable[[VisitInfo], bool], now: datetime
) -> dict[int, tuple[Suggestion, VisitInfo]]:
    """Each person's next visit to book in one tap, with the visit whose link books it."""
    visits = {v.id: v for v in (*found.upcoming, *found.past)}
    offers = {}
    for person in found.people:
        offer = suggest(catalog, person.id, now=now)
        after = visits.get(offer.after_id) if offer else None
        if offer is not None and after is not None and manageable(after):
            offers[person.id] = (offer, after)
    return offers
