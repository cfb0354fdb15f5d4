"""Horizons → calendar periods, and which forecast steps of a series fall in them."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from trendcast.forecasting import InputError, Period, default_as_of, infer_freq, resolve_period, steps_in_period


@pytest.mark.parametrize(
    "horizon, as_of, freq, start, end, label",
    [
        ("next-month", "2019-12-31", "MS", "2020-01-01", "2020-01-31", "2020-01"),
        ("next month", "2019-12-15", "MS", "2020-01-01", "2020-01-31", "2020-01"),
        ("next-month", "2020-01-31", "MS", "2020-02-01", "2020-02-29", "2020-02"),
        ("next-quarter", "2019-12-31", "MS", "2020-01-01", "2020-03-31", "2020-Q1"),
        ("next-quarter", "2019-11-15", "MS", "2020-01-01", "2020-03-31", "2020-Q1"),
        ("next-quarter", "2020-01-01", "MS", "2020-04-01", "2020-06-30", "2020-Q2"),
        ("month:2020-03", "2019-12-31", "MS", "2020-03-01", "2020-03-31", "2020-03"),
        # Walmart: last week dated 2012-10-26 (a Friday) ends 2012-11-01 = default as-of
        ("next-week", "2012-11-01", "W-FRI", "2012-11-02", "2012-11-08", "2012-11-02..2012-11-08"),
        ("next-4-weeks", "2012-11-01", "W-FRI", "2012-11-02", "2012-11-29", "2012-11-02..2012-11-29"),
        ("next-month", "2012-11-01", "W-FRI", "2012-12-01", "2012-12-31", "2012-12"),
        ("next-week", "2016-04-24", "D", "2016-04-25", "2016-05-01", "2016-04-25..2016-05-01"),
        # every horizon an analyst says (issue 15), as of the end of March 2020 unless said
        ("month:+1", "2020-03-31", "MS", "2020-04-01", "2020-04-30", "2020-04"),
        ("month:+2", "2020-03-31", "MS", "2020-05-01", "2020-05-31", "2020-05"),
        ("month:+12", "2020-03-31", "MS", "2021-03-01", "2021-03-31", "2021-03"),
        ("month:+2", "2020-03-15", "MS", "2020-05-01", "2020-05-31", "2020-05"),
        ("next-3-months", "2020-03-31", "MS", "2020-04-01", "2020-06-30", "2020-Q2"),
        ("next-2-months", "2020-11-30", "MS", "2020-12-01", "2021-01-31", "2020-12..2021-01"),
        ("next-12-months", "2020-03-31", "MS", "2020-04-01", "2021-03-31", "2020-04..2021-03"),
        ("next-year", "2020-03-31", "MS", "2021-01-01", "2021-12-31", "2021"),
        ("next-year", "2019-12-31", "MS", "2020-01-01", "2020-12-31", "2020"),
        ("year:2021", "2020-03-31", "MS", "2021-01-01", "2021-12-31", "2021"),
        ("half:2020-H2", "2020-03-31", "MS", "2020-07-01", "2020-12-31", "2020-H2"),
        ("half:--H1", "2020-03-31", "MS", "2021-01-01", "2021-06-30", "2021-H1"),
        ("half:--H2", "2020-06-30", "MS", "2020-07-01", "2020-12-31", "2020-H2"),
        ("quarter:--Q3", "2020-03-31", "MS", "2020-07-01", "2020-09-30", "2020-Q3"),
        ("quarter:--Q1", "2020-03-31", "MS", "2021-01-01", "2021-03-31", "2021-Q1"),
        ("range:2020-05..2020-07", "2020-03-31", "MS", "2020-05-01", "2020-07-31", "2020-05..2020-07"),
        ("range:--04..--06", "2020-03-31", "MS", "2020-04-01", "2020-06-30", "2020-Q2"),
        ("range:--11..--02", "2020-03-31", "MS", "2020-11-01", "2021-02-28", "2020-11..2021-02"),
        ("range:--03..--05", "2020-03-31", "MS", "2021-03-01", "2021-05-31", "2021-03..2021-05"),
        ("next-8-weeks", "2012-11-01", "W-FRI", "2012-11-02", "2012-12-27", "2012-11-02..2012-12-27"),
        ("week:+2", "2012-11-01", "W-FRI", "2012-11-09", "2012-11-15", "2012-11-09..2012-11-15"),
    ],
)
def test_resolve_period(horizon, as_of, freq, start, end, label):
    period = resolve_period(horizon, date.fromisoformat(as_of), freq)
    assert period == Period(date.fromisoformat(start), date.fromisoformat(end))
    assert period.label == label


@pytest.mark.parametrize(
    "horizon, freq, pattern",
    [
        ("next-week", "MS", r"needs daily or weekly data"),
        ("month:2019-12", "MS", r"2019-12 does not start after as-of 2019-12-31"),
        ("next-decade", "MS", r"unknown horizon 'next-decade'; expected one of next-month"),
        ("month:2020-13", "MS", r"unknown horizon"),
        ("month:+25", "MS", r"'month:\+25': between 1 and 24 only"),
        ("next-30-months", "MS", r"between 1 and 24 only"),
        ("next-8-weeks", "MS", r"needs daily or weekly data"),
        ("year:2019", "MS", r"2019 does not start after as-of 2019-12-31"),
        ("half:2019-H2", "MS", r"2019-H2 does not start after as-of"),
        ("range:2020-05..2020-03", "MS", r"a range runs forward, 1 to 24 months"),
        ("range:2019-11..2020-02", "MS", r"2019-11..2020-02 does not start after as-of"),
    ],
)
def test_bad_horizons(horizon, freq, pattern):
    with pytest.raises(InputError, match=pattern):
        resolve_period(horizon, date(2019, 12, 31), freq)


def test_monthly_steps():
    jan = resolve_period("next-month", date(2019, 12, 31), "MS")
    h, mask = steps_in_period(pd.Timestamp("2019-12-01"), "MS", jan)
    assert h == 1 and mask.tolist() == [True]
    march = resolve_period("month:2020-03", date(2019, 12, 31), "MS")
    h, mask = steps_in_period(pd.Timestamp("2019-12-01"), "MS", march)
    assert h == 3 and mask.tolist() == [False, False, True]
    q1 = resolve_period("next-quarter", date(2019, 12, 31), "MS")
    assert steps_in_period(pd.Timestamp("2019-12-01"), "MS", q1)[1].tolist() == [True, True, True]


def test_weekly_data_to_a_month_counts_the_weeks_dated_in_it():
    last = pd.Timestamp("2012-10-26")  # Walmart's last week
    as_of = default_as_of(pd.DataFrame({"ds": [pd.Timestamp("2012-10-19"), last], "y": [1.0, 2.0]}), "W-FRI")
    assert as_of == date(2012, 11, 1)
    december = resolve_period("next-month", as_of, "W-FRI")
    h, mask = steps_in_period(last, "W-FRI", december)
    # Nov 2, 9, 16, 23, 30 are before the period; Dec 7, 14, 21, 28 are the period's four weeks
    assert h == 9 and mask.tolist() == [False] * 5 + [True] * 4
    h, mask = steps_in_period(last, "W-FRI", resolve_period("next-4-weeks", as_of, "W-FRI"))
    assert (h, mask.tolist()) == (4, [True] * 4)
    h, mask = steps_in_period(last, "W-FRI", resolve_period("next-week", as_of, "W-FRI"))
    assert (h, mask.tolist()) == (1, [True])
    # a month with five Fridays
    h, mask = steps_in_period(last, "W-FRI", Period(date(2012, 11, 1), date(2012, 11, 30)))
    assert (h, int(mask.sum())) == (5, 5)


def test_daily_steps():
    may = resolve_period("next-month", date(2016, 4, 24), "D")
    h, mask = steps_in_period(pd.Timestamp("2016-04-24"), "D", may)
    assert h == 6 + 31 and mask.sum() == 31


def test_no_step_in_the_period():
    with pytest.raises(InputError, match="no W-FRI step after 2012-10-26 falls in it"):
        steps_in_period(pd.Timestamp("2012-10-26"), "W-FRI", Period(date(2012, 11, 3), date(2012, 11, 8)))


def test_default_as_of_is_the_end_of_the_last_period():
    monthly = pd.DataFrame({"ds": pd.to_datetime(["2019-11-01", "2019-12-01"]), "y": [1.0, 2.0]})
    assert default_as_of(monthly) == date(2019, 12, 31)
    daily = pd.DataFrame({"ds": pd.to_datetime(["2016-04-23", "2016-04-24"]), "y": [1.0, 2.0]})
    assert default_as_of(daily) == date(2016, 4, 24)


@pytest.mark.parametrize(
    "dates, freq",
    [
        (["2019-11-01", "2019-12-01", "2020-02-01"], "MS"),
        (["2010-02-05", "2010-02-12", "2010-03-05"], "W-FRI"),
        (["2011-01-29", "2011-01-30", "2011-02-02"], "D"),
        (["2020-01-31", "2020-02-29", "2020-03-31"], "MS"),  # month ends are monthly too
    ],
)
def test_infer_freq(dates, freq):
    assert infer_freq(pd.to_datetime(dates)) == freq


def test_infer_freq_refuses_irregular_dates():
    with pytest.raises(ValueError, match="cannot infer the frequency"):
        infer_freq(pd.to_datetime(["2020-01-01", "2020-01-04", "2020-01-11"]))


def test_named_month_without_a_year_and_quarters():
    from datetime import date

    from trendcast.forecasting.periods import Period, relative_horizon, resolve_period

    assert resolve_period("month:--12", date(2019, 10, 31), "MS") == Period(date(2019, 12, 1), date(2019, 12, 31))
    assert resolve_period("month:--10", date(2019, 10, 31), "MS") == Period(date(2020, 10, 1), date(2020, 10, 31))
    assert resolve_period("month:--01", date(2019, 12, 31), "MS") == Period(date(2020, 1, 1), date(2020, 1, 31))
    assert resolve_period("quarter:2020-Q2", date(2019, 12, 31), "MS") == Period(date(2020, 4, 1), date(2020, 6, 30))
    with pytest.raises(InputError, match="does not start after as-of"):
        resolve_period("quarter:2020-Q1", date(2020, 1, 31), "MS")
    assert relative_horizon("month:--12") == "next-month" and relative_horizon("quarter:2020-Q2") == "next-quarter"


def test_multi_month_periods_are_judged_in_the_past_by_a_rolling_horizon_of_their_length():
    """Past cases and the carry adjuster's misses of a fixed period come from a rolling horizon as long as it."""
    from trendcast.forecasting.periods import relative_horizon

    assert [relative_horizon(h) for h in ("month:2020-05", "month:--12", "quarter:2020-Q2", "quarter:--Q3",
                                          "half:2020-H2", "year:2021", "range:2020-05..2020-07",
                                          "range:--11..--02", "range:2020-05..2020-05")] == [
        "next-month", "next-month", "next-quarter", "next-quarter", "next-6-months", "next-year", "next-3-months",
        "next-4-months", "next-month"]
    for rolling in ("month:+2", "next-3-months", "next-year", "next-8-weeks", "week:+2", "next-month"):
        assert relative_horizon(rolling) == rolling


def test_a_multi_month_period_takes_every_step_in_it():
    six = resolve_period("next-6-months", date(2020, 3, 31), "MS")
    h, mask = steps_in_period(pd.Timestamp("2020-03-01"), "MS", six)
    assert h == 6 and mask.all()
    in_two = resolve_period("month:+2", date(2020, 3, 31), "MS")
    assert steps_in_period(pd.Timestamp("2020-03-01"), "MS", in_two)[1].tolist() == [False, True]
    year = resolve_period("next-year", date(2020, 3, 31), "MS")
    h, mask = steps_in_period(pd.Timestamp("2020-03-01"), "MS", year)
    assert h == 21 and mask.sum() == 12 and not mask[:9].any()
