"""The bar chart's geometry: a readable scale, bars in proportion, every month labelled."""

from __future__ import annotations

from datetime import date

import pytest

from booking.staff import chart


@pytest.mark.parametrize(
    ("top", "step"),
    [(0, 1), (1, 1), (5, 1), (6, 2), (10, 2), (11, 5), (25, 5), (26, 10), (101, 50), (999, 200)],
)
def test_the_scale_has_at_most_five_steps_of_one_two_or_five(top, step):
    assert chart.nice_step(top) == step
    assert top <= step * chart.MAX_TICKS


def test_bars_are_in_proportion_and_months_labelled():
    months = [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    drawn = chart.monthly(months, [("started", [4, 8, 0]), ("completed", [0, 2, 1])])
    started = [b for b in drawn.bars if b.series == 0]
    assert [b.height for b in started] == [75.0, 150.0, 0.0]  # a scale of 0 to 8
    assert all(b.y + b.height == drawn.height for b in drawn.bars)  # on the baseline
    assert [t.y for t in drawn.ticks] == [150, 112.5, 75, 37.5, 0]  # evenly, the last on top
    assert [t.value for t in drawn.ticks] == [0, 2, 4, 6, 8]
    assert [(label.month, label.year) for label in drawn.labels] == [
        ("Dec", "2026"),
        ("Jan", "2027"),
        ("Feb", ""),
    ]
    assert drawn.bars[1].title == "December 2026: 0 completed"
    # Nothing to draw is still a chart with a scale, and no bar above the baseline.
    empty = chart.monthly(months, [("started", [0, 0, 0])])
    assert {b.height for b in empty.bars} == {0.0} and [t.value for t in empty.ticks] == [0, 1]


def test_a_long_range_labels_every_few_months_each_year_once():
    months = [date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 37)]
    drawn = chart.monthly(months, [("started", [1] * 36)])
    shown = [(i, label.month, label.year) for i, label in enumerate(drawn.labels) if label.month]
    assert [i for i, _, _ in shown] == list(range(0, 36, 3))  # 12 labels at most
    assert [y for _, _, y in shown if y] == ["2025", "2026", "2027"]
    assert len(drawn.labels) == 36 and drawn.width == 36 * (chart.BAR + chart.GROUP_GAP)
