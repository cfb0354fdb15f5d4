"""Period arithmetic the answer needs around the target period: the previous period, a year ago, totals."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from forecasting.periods import Period


def _is_month(p: Period) -> bool:
    return p.start.day == 1 and (pd.Timestamp(p.start) + pd.offsets.MonthEnd(0)).date() == p.end


def _is_quarter(p: Period) -> bool:
    return p.start.day == 1 and p.start.month % 3 == 1 and \
        (pd.Timestamp(p.start) + pd.offsets.QuarterEnd(0)).date() == p.end


def previous_period(p: Period) -> Period:
    start = pd.Timestamp(p.start)
    if _is_month(p):
        s = start - pd.offsets.MonthBegin(1)
        return Period(s.date(), (s + pd.offsets.MonthEnd(0)).date())
    if _is_quarter(p):
        s = start - pd.offsets.QuarterBegin(1, startingMonth=1)
        return Period(s.date(), (s + pd.offsets.QuarterEnd(0)).date())
    length = (p.end - p.start).days + 1
    return Period(p.start - dt.timedelta(days=length), p.start - dt.timedelta(days=1))


def year_ago(p: Period) -> Period:
    if _is_month(p) or _is_quarter(p):
        s = pd.Timestamp(p.start) - pd.DateOffset(years=1)
        e = pd.Timestamp(p.end) - pd.DateOffset(years=1)
        return Period(s.date(), (e + pd.offsets.MonthEnd(0)).date())
    # weekly/daily periods: the same weekdays 52 weeks earlier
    return Period(p.start - dt.timedelta(weeks=52), p.end - dt.timedelta(weeks=52))


def period_total(history: pd.DataFrame, p: Period, expected_steps: int | None = None) -> float | None:
    """Sum of y over ds in [start, end]; None when the period is not (fully) observed."""
    ds = pd.to_datetime(history["ds"])
    mask = (ds >= pd.Timestamp(p.start)) & (ds <= pd.Timestamp(p.end))
    n = int(mask.sum())
    if n == 0 or (expected_steps is not None and n < expected_steps):
        return None
    return float(history.loc[mask, "y"].sum())


def pct_change(new: float, old: float | None) -> float | None:
    if old is None or old == 0:
        return None
    return 100.0 * (new / old - 1.0)
