"""Comparable totals: "vs last period" and "vs same period last year" sum the same number of steps as the period,
only steps observed by as-of, and say None when they cannot (forecasting.comparisons)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trendcast.forecasting.adjust import direction
from trendcast.forecasting.comparisons import last_steps, pct_change, year_ago
from trendcast.forecasting.periods import Period, known_by, resolve_period, step_starts

D = dt.date


def series(start: str, end: str, freq: str, value=None) -> pd.DataFrame:
    ds = pd.date_range(start, end, freq=freq)
    return pd.DataFrame({"ds": ds, "y": [float(value) if value is not None else float(i + 1)
                                         for i in range(len(ds))]})


def test_months_previous_month_and_a_year_ago():
    h = series("2018-01-01", "2020-03-01", "MS")  # y = 1, 2, ... (Jan 2018 = 1, Mar 2020 = 27)
    p = resolve_period("next-month", D(2020, 3, 31), "MS")
    last, ago = last_steps(h, "MS", p, D(2020, 3, 31)), year_ago(h, "MS", p, D(2020, 3, 31))
    assert (last.start, last.end, last.steps, last.total) == (D(2020, 3, 1), D(2020, 3, 31), 1, 27.0)
    assert (ago.start, ago.end, ago.steps, ago.total) == (D(2019, 4, 1), D(2019, 4, 30), 1, 16.0)


def test_mid_month_as_of_compares_with_the_last_complete_month():
    h = series("2018-01-01", "2020-03-01", "MS")
    p = resolve_period("next-month", D(2020, 3, 15), "MS")  # April; March is not over
    last = last_steps(h, "MS", p, D(2020, 3, 15))
    assert (last.start, last.total) == (D(2020, 2, 1), 26.0)


def test_quarters_sum_three_months():
    h = series("2018-01-01", "2020-03-01", "MS")
    p = resolve_period("next-quarter", D(2020, 3, 31), "MS")  # 2020-Q2
    last, ago = last_steps(h, "MS", p, D(2020, 3, 31)), year_ago(h, "MS", p, D(2020, 3, 31))
    assert (last.start, last.end, last.steps, last.total) == (D(2020, 1, 1), D(2020, 3, 31), 3, 25 + 26 + 27)
    assert (ago.start, ago.end, ago.steps, ago.total) == (D(2019, 4, 1), D(2019, 6, 30), 3, 16 + 17 + 18)


@pytest.mark.parametrize("month, fridays", [((2012, 9), 4), ((2012, 11), 5), ((2012, 12), 4)])
def test_weeks_4_and_5_friday_months_compare_like_with_like(month, fridays):
    """Constant weekly sales: every comparison is 0 %, whatever the number of Fridays in either month."""
    h = series("2010-02-05", "2012-12-28", "W-FRI", value=100)
    p = Period(D(*month, 1), (pd.Timestamp(D(*month, 1)) + pd.offsets.MonthEnd(0)).date())
    as_of = p.start - dt.timedelta(days=1)
    h = h[h["ds"] < pd.Timestamp(p.start)]
    assert len(step_starts(p, "W-FRI")) == fridays
    last, ago = last_steps(h, "W-FRI", p, as_of), year_ago(h, "W-FRI", p, as_of)
    assert last is None or last.steps == fridays  # None when the weeks just before are not over yet
    assert ago.steps == fridays and ago.total == 100.0 * fridays
    assert pct_change(100.0 * fridays, ago.total) == 0.0


def test_december_2012_vs_december_2011_is_not_4_weeks_against_5():
    h = series("2010-02-05", "2012-10-26", "W-FRI", value=100)
    p = resolve_period("next-month", D(2012, 11, 1), "W-FRI")  # December 2012: 4 Fridays; Dec 2011 had 5
    ago = year_ago(h, "W-FRI", p, D(2012, 11, 1))
    assert ago.steps == 4 and ago.start == D(2011, 12, 9) and ago.total == 400.0
    last = last_steps(h, "W-FRI", p, D(2012, 11, 1))
    assert last.steps == 4 and last.end == D(2012, 11, 1)  # the 4 weeks ended by as-of, dated 10-05 .. 10-26


def test_a_week_not_over_is_not_observed():
    h = series("2011-01-07", "2012-08-31", "W-FRI")  # the week dated 2012-08-31 runs to 09-06
    p = resolve_period("next-4-weeks", D(2012, 9, 2), "W-FRI")
    last = last_steps(h, "W-FRI", p, D(2012, 9, 2))
    assert last.end == D(2012, 8, 30) and last.total == float(sum(range(len(h) - 4, len(h))))


def test_days_and_the_same_weekdays_a_year_ago():
    h = series("2019-01-01", "2020-03-31", "D", value=5)
    p = resolve_period("next-week", D(2020, 3, 31), "D")
    last, ago = last_steps(h, "D", p, D(2020, 3, 31)), year_ago(h, "D", p, D(2020, 3, 31))
    assert (last.start, last.end, last.steps) == (D(2020, 3, 25), D(2020, 3, 31), 7)
    assert (ago.start, ago.end, ago.steps) == (D(2019, 4, 3), D(2019, 4, 9), 7)  # 364 days back
    assert ago.start.weekday() == p.start.weekday()


def test_unknown_stays_unknown():
    h = series("2019-06-01", "2020-03-01", "MS")  # no April 2019
    p = resolve_period("next-month", D(2020, 3, 31), "MS")
    assert year_ago(h, "MS", p, D(2020, 3, 31)) is None
    assert last_steps(h.head(0), "MS", p, D(2020, 3, 31)) is None
    assert pct_change(10.0, None) is None and pct_change(10.0, 0.0) is None
    assert direction(None, 1.0) is None and direction(1.5, 1.0) == "up" and direction(1.0, 1.0) == "flat"


def test_known_by_is_the_end_of_the_last_step():
    sep = Period(D(2012, 9, 1), D(2012, 9, 30))
    assert known_by(sep, "W-FRI") == D(2012, 10, 4)  # the week dated 09-28 ends on 10-04
    assert known_by(sep, "MS") == D(2012, 9, 30)
