"""What a forecast period is compared with: the same number of steps just before it, and a year earlier.

"vs last period" and "vs same period last year" must compare like with like. For weekly data "next month" is the
4 or 5 weeks dated in it, and summing all weeks dated in the previous month would compare 4 weeks with 5 (a -20 %
artifact). So both comparisons count steps, not calendar spans:

- last: the `n` latest steps observed by as-of (n = the period's number of steps) — for monthly data at a month's
  end, the previous month; at mid-month, the last *complete* month (as-of 2020-03-15, period April → February);
- last year: the period's own steps shifted back one year (12 months, 52 weeks, 364 days: the same weekdays),
  known only when every one of them is observed.

Unknown stays unknown (None): never a partial sum, never "flat".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from trendcast.forecasting.frequency import freq_kind, period_ends
from trendcast.forecasting.history import observed
from trendcast.forecasting.periods import Period, step_starts


@dataclass(frozen=True)
class Span:
    """`steps` observed steps from `start` to `end` (the end of the last step), summing to `total`."""

    start: date
    end: date
    steps: int
    total: float


def _year_back(ds: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    kind = freq_kind(freq)
    if kind == "M":
        return ds - pd.DateOffset(years=1)
    return ds - pd.Timedelta(weeks=52) if kind == "W" else ds - pd.Timedelta(days=364)


def _span(rows: pd.DataFrame, freq: str) -> Span:
    ds = pd.DatetimeIndex(rows["ds"])
    return Span(ds[0].date(), period_ends(ds[-1:], freq)[0].date(), len(rows), float(rows["y"].sum()))


def last_steps(history: pd.DataFrame, freq: str, period: Period, as_of: date) -> Span | None:
    """The latest steps observed by `as_of`, as many as `period` has; None when there are fewer."""
    n = len(step_starts(period, freq))
    seen = observed(history[["ds", "y"]], freq, as_of).dropna(subset=["y"])
    seen = seen[seen["ds"] < pd.Timestamp(period.start)]
    if n == 0 or len(seen) < n:
        return None
    return _span(seen.tail(n), freq)


def year_ago(history: pd.DataFrame, freq: str, period: Period, as_of: date) -> Span | None:
    """The period's steps one year earlier; None unless every one of them is observed by `as_of`."""
    want = _year_back(step_starts(period, freq), freq)
    seen = observed(history[["ds", "y"]], freq, as_of).dropna(subset=["y"])
    rows = seen[seen["ds"].isin(want)]
    if len(want) == 0 or len(rows) != len(want):
        return None
    return _span(rows, freq)


def pct_change(new: float, old: float | None) -> float | None:
    """100 * (new / old - 1); None when old is unknown or not positive."""
    if old is None or not old > 0:
        return None
    return 100.0 * (new / old - 1.0)
