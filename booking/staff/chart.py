"""A bar chart's geometry: numbers in, rectangles, a scale and month labels out.

The template `staff/reports.html` draws the bars and grid lines as inline SVG from these
values, and writes the scale and the months as HTML text beside and under it: a contrast
checker (axe) cannot tell the background of text inside an SVG, and the page's own text is
also the easier to read. No script, no external asset, no inline style (the CSP allows none).

The SVG is stretched to its box (`preserveAspectRatio="none"`): as wide as the screen gives
(360 px phones included), as tall as the stylesheet says, so the HTML scale's evenly spaced
labels line up with the evenly spaced grid lines, and the months' equal columns with the
bars of each month.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

PLOT_HEIGHT = 150  # in viewBox units
BAR, GAP, GROUP_GAP = 9, 1, 6  # one bar's width, between a month's bars, between months
MAX_TICKS = 5
MAX_LABELS = 12  # more months than this: a label every second (third ...) month


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # its index in the chart's series (the stylesheet styles each differently)
    title: str  # what a pointer's tooltip shows: "March 2027: 3 started"


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True, slots=True)
class Label:
    month: str  # "Mar", or "" where a long range leaves it out
    year: str  # "2027" on the first label of each year, else ""


@dataclass(frozen=True, slots=True)
class BarChart:
    width: float
    height: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]  # from 0 up, evenly spaced, the last at the top
    labels: tuple[Label, ...]  # one per month


def month_name(month: date, locale: str = "en_CA") -> str:
    """A month as the table writes it: "March 2027"."""
    return str(format_date(month, "MMMM y", locale=locale))


def nice_step(top: int) -> int:
    """A step of 1, 2 or 5 times a power of ten giving at most `MAX_TICKS` ticks above 0."""
    if top <= MAX_TICKS:
        return 1
    power = int(10 ** math.floor(math.log10(top / MAX_TICKS)))
    for factor in (1, 2, 5, 10):
        if top <= factor * power * MAX_TICKS:
            return factor * power
    return 10 * power  # not reached: 10 * power * MAX_TICKS > top by the choice of power


def monthly(
    months: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    locale: str = "en_CA",
) -> BarChart:
    """Grouped bars: for each month, one bar per (name, values) series, side by side."""
    per_month = len(series) * BAR + (len(series) - 1) * GAP
    pitch = per_month + GROUP_GAP
    top = max((v for _, values in series for v in values), default=0)
    step = nice_step(top)
    scale_top = max(step, math.ceil(top / step) * step)
    baseline = PLOT_HEIGHT
    every = math.ceil(len(months) / MAX_LABELS)
    shown_year = None

    def height(value: int) -> float:
        return round(value / scale_top * PLOT_HEIGHT, 2)

    bars = []
    labels = []
    for i, month in enumerate(months):
        x0 = GROUP_GAP / 2 + i * pitch
        long_name = month_name(month, locale)
        for s, (name, values) in enumerate(series):
            h = height(values[i])
            bars.append(
                Bar(
                    x=x0 + s * (BAR + GAP),
                    y=baseline - h,
                    width=BAR,
                    height=h,
                    series=s,
                    title=f"{long_name}: {values[i]} {name}",
                )
            )
        if i % every:
            labels.append(Label(month="", year=""))
            continue
        labels.append(
            Label(
                month=format_date(month, "MMM", locale=locale).rstrip("."),
                year=str(month.year) if month.year != shown_year else "",
            )
        )
        shown_year = month.year
    ticks = tuple(Tick(y=baseline - height(v), value=v) for v in range(0, scale_top + 1, step))
    return BarChart(
        width=len(months) * pitch,
        height=PLOT_HEIGHT,
        bars=tuple(bars),
        ticks=ticks,
        labels=tuple(labels),
    )
