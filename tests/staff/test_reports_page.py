"""The reports page: a table per therapist and month, a server-drawn SVG chart, per role."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta

import pytest
from staffing import sign_in
from support import VANCOUVER, person

from booking.models import Appointment, Course, CourseStatus, Status

SVG = "{http://www.w3.org/2000/svg}"


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VANCOUVER)


@pytest.fixture
def courses(world, staff):
    """Maya: two started in January (one at 23:30 on the 31st), one completed in February,
    two started before the range ended early in it (after 1 and 3 sessions); Daniel: one
    started in February."""
    ann = person("Ann Gill", "ann@example.com")
    world.add(ann)
    physio = world.services["physio"].id
    day = iter(at(date(2026, 6, 1), 9) + timedelta(days=n) for n in range(100))

    def course(therapist, created, status=CourseStatus.ACTIVE, ended=None, done=0):
        row = Course(patient_id=ann.id, therapist_id=therapist, service_id=physio, sessions=8,
                     created_by="reception", created_at=created, status=status.value,
                     ended_at=ended)  # fmt: skip
        world.add(row)
        for _ in range(done):
            start, key = next(day), uuid.uuid4().hex
            world.add(
                Appointment(
                    reference=key[:10],
                    therapist_id=therapist,
                    patient_id=ann.id,
                    service_id=physio,
                    start_at=start,
                    end_at=start + timedelta(minutes=45),
                    occupied_until=start + timedelta(hours=1),
                    status=Status.COMPLETED.value,
                    calendar_uid=f"{key}@test",
                    manage_token_hash=key * 2,
                    course_id=row.id,
                )
            )

    jan, feb = date(2027, 1, 5), date(2027, 2, 8)
    course(world.maya, at(jan))
    course(world.maya, at(date(2027, 1, 31), 23, 30), CourseStatus.COMPLETED, at(feb), done=8)
    course(world.maya, at(date(2026, 3, 2)), CourseStatus.ENDED, at(jan), done=1)
    course(world.maya, at(date(2026, 3, 3)), CourseStatus.ENDED, at(feb), done=3)
    course(world.daniel, at(feb))
    return world


def page(client, email, query=""):
    sign_in(client, email)
    return client.get(f"/staff/reports{query}")


def rows(html: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<caption>{re.escape(caption)}.*?</table>", html, re.S)
    assert table is not None, caption
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", table[0], re.S)[1:]:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        found.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return found


def test_reception_sees_every_therapist_by_month(client, staff, courses):
    response = page(client, staff.reception)
    assert response.status_code == 200
    html = response.text
    assert rows(html, "Per therapist and month") == [
        ["Daniel Okafor", "February 2027", "1", "0", "0", "—"],
        ["Maya Chen", "January 2027", "2", "0", "1", "1"],
        ["Maya Chen", "February 2027", "0", "1", "1", "3"],
    ]
    totals = rows(html, "Every therapist, by month")
    assert len(totals) == 12 and totals[0][0] == "April 2026" and totals[-1][0] == "March 2027"
    assert totals[-3:-1] == [["January 2027", "2", "0", "1"], ["February 2027", "1", "1", "1"]]
    stops = "Where patients stop: courses ended early, by sessions done at the end (median 2)"
    assert rows(html, stops) == [["After 1", "1"], ["After 3", "1"]]
    assert '<th scope="col">Month</th>' in html and '<th scope="row">Maya Chen</th>' in html
    assert 'href="/staff/reports" aria-current="page">Reports</a>' in html


def test_the_chart_is_well_formed_labelled_svg(client, staff, courses):
    html = page(client, staff.admin).text
    drawn = re.search(r'<div class="chart">(.*?)(<svg.*?</svg>)(.*?)</div>', html, re.S)
    assert drawn is not None
    svg = ET.fromstring(drawn[2])  # raises if it is not well-formed XML
    assert svg.get("role") == "img"
    labelled = svg.get("aria-labelledby").split()
    assert [svg.find(f"{SVG}title").get("id"), svg.find(f"{SVG}desc").get("id")] == labelled
    assert "April 2026 to March 2027" in svg.find(f"{SVG}title").text
    assert "In all, 3 started and 1 completed." in svg.find(f"{SVG}desc").text
    _, _, width, height = map(float, svg.get("viewBox").split())
    assert svg.get("preserveAspectRatio") == "none"  # stretched to the box the CSS gives
    bars = svg.findall(f"{SVG}g[@class='bars']/{SVG}rect")
    assert len(bars) == 24
    titles = [b.find(f"{SVG}title").text for b in bars]
    assert "January 2027: 2 started" in titles and "February 2027: 1 completed" in titles
    tallest = max(bars, key=lambda b: float(b.get("height")))
    assert tallest.find(f"{SVG}title").text == "January 2027: 2 started"
    assert float(tallest.get("height")) == height  # the top of the scale
    assert all(0 <= float(b.get("x")) < float(b.get("x")) + 9 <= width for b in bars)
    assert "<script" not in drawn[0] and "href" not in drawn[0] and "style=" not in drawn[0]
    # The scale and the months are the page's text, beside and under the bars.
    scale = re.findall(r"<li>(\d+)</li>", drawn[1])
    assert scale == ["0", "1", "2"]
    months = re.findall(r"<li>(.*?)</li>", drawn[3])
    assert len(months) == 12 and months[0] == "Apr<br>2026" and months[9] == "Jan<br>2027"


def test_a_therapist_sees_only_their_own_numbers(client, staff, courses):
    html = page(client, staff.maya).text
    assert "Courses of care: your numbers" in html
    names = [r[0] for r in rows(html, "Per therapist and month")]
    assert set(names) == {"Maya Chen"} and "Daniel Okafor" not in html


def test_a_chosen_range_and_an_empty_one(client, staff, courses):
    html = page(client, staff.reception, "?from=2027-02&to=2027-02").text
    assert [r[:2] for r in rows(html, "Per therapist and month")] == [
        ["Daniel Okafor", "February 2027"],
        ["Maya Chen", "February 2027"],
    ]
    empty = client.get("/staff/reports?from=2025-01&to=2025-06")
    assert empty.status_code == 200
    assert "No course was started, completed or ended from January 2025 to June 2025." in empty.text
    assert "<svg" not in empty.text.split("<main", 1)[1] and "<table" not in empty.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2027-13", "Choose a month as YYYY-MM, such as 2027-03."),
        ("?from=march", "Choose a month as YYYY-MM, such as 2027-03."),
        ("?from=2027-03&to=2026-01", "The last month comes before the first."),
        ("?from=2020-01&to=2027-03", "Choose at most 36 months."),
    ],
)
def test_a_bad_range_is_a_clear_400(client, staff, query, message):
    response = page(client, staff.reception, query)
    assert response.status_code == 400
    assert f'<span class="visually-hidden">Error: </span>{message}' in response.text


def test_signed_out_is_sent_to_sign_in(client, staff):
    response = client.get("/staff/reports")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
