"""Forecast periods: which calendar span a horizon means, and which forecast steps fall in it.

Conventions (the whole package uses them):
- A row's `ds` is the start of its period; the row is *observed by* `as_of` when its period ends on or before
  `as_of` (a month is known after its last day, a week after its seventh day).
- `default_as_of(history)` is the end of the last observed period: monthly 2019-12-01 → 2019-12-31; weekly
  2012-10-26 → 2012-11-01; daily → that day.
- Horizons, all relative to `as_of`:
  ``next-month``   the calendar month after the month containing as_of (as_of 2019-12-31 → 2020-01-01..2020-01-31);
  ``next-quarter`` the calendar quarter after the quarter containing as_of;
  ``next-week``    the 7 days after as_of (for weekly data with the default as_of: exactly the next data week);
  ``next-4-weeks`` the 28 days after as_of;
  ``month:YYYY-MM`` that calendar month, which must start after as_of;
  ``month:--MM``   the next calendar month MM starting after as_of ("in December" as of 2019-10-31: 2019-12);
  ``quarter:YYYY-QN`` that calendar quarter, which must start after as_of; ``quarter:--QN`` the next QN after as_of;
  ``month:+N``     the single calendar month N months after as_of's month ("in 2 months" as of 2020-03-31: 2020-05);
  ``next-N-months`` the N calendar months after as_of's month, one period (its total and its N steps);
  ``next-year``    the calendar year after as_of's year; ``year:YYYY`` that year, which must start after as_of;
  ``half:YYYY-HN`` that half-year (H1 January..June, H2 July..December), which must start after as_of;
                   ``half:--HN`` the next one after as_of;
  ``range:YYYY-MM..YYYY-MM`` those calendar months, the first starting after as_of; ``range:--MM..--MM`` the next
                   month MM after as_of through the next month MM from there ("from May to July");
  ``next-N-weeks`` the 7*N days after as_of; ``week:+N`` the Nth 7 days after as_of.
  Weekly horizons need daily or weekly data.
- A step belongs to a period when its `ds` falls in it: for weekly data "next month" is the weeks *dated* in that
  month (4 or 5 of them), the week dated 2012-11-30 counts for November even though it runs into December.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import freq_kind, infer_freq, period_ends

HORIZONS = ("next-month", "next-week", "next-quarter", "next-4-weeks", "next-N-weeks", "week:+N", "month:+N",
            "next-N-months", "next-year", "month:YYYY-MM", "month:--MM", "quarter:YYYY-QN", "quarter:--QN",
            "half:YYYY-HN", "half:--HN", "year:YYYY", "range:YYYY-MM..YYYY-MM", "range:--MM..--MM")
MAX_MONTHS = 24  # the longest monthly horizon: "in 24 months", "next 24 months"
MAX_WEEKS = 26


@dataclass(frozen=True)
class Period:
    """A closed span of days: `start` .. `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def label(self) -> str:
        """``2020-01`` for a calendar month, ``2020-Q1`` for a calendar quarter, else ``2020-01-04..2020-01-10``."""
        s, e = self.start, self.end
        month_end = (pd.Timestamp(s) + pd.offsets.MonthEnd(0)).date()
        if s.day == 1 and e == month_end:
            return f"{s:%Y-%m}"
        quarter_end = (pd.Timestamp(s) + pd.offsets.QuarterEnd(0)).date()
        if s.day == 1 and s.month % 3 == 1 and e == quarter_end:
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if s.day == 1 and e == (pd.Timestamp(e) + pd.offsets.MonthEnd(0)).date():
            if (s.month, e.month, s.year) == (1, 12, e.year):
                return f"{s.year}"
            if s.month in (1, 7) and e.month == s.month + 5 and s.year == e.year:
                return f"{s.year}-H{1 if s.month == 1 else 2}"
            return f"{s:%Y-%m}..{e:%Y-%m}"
        return f"{s.isoformat()}..{e.isoformat()}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def to_date(value) -> date:
    """A `date` from a date, datetime, Timestamp or ISO string."""
    return pd.Timestamp(value).date()


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return Period(start, (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date())


def _months(start: date, n: int) -> Period:
    """n calendar months from the month of `start`."""
    s = pd.Timestamp(start.year, start.month, 1)
    return Period(s.date(), (s + pd.offsets.MonthEnd(n)).date())


def _after(period: Period, horizon: str, as_of: date) -> Period:
    if period.start <= as_of:
        raise InputError(f"horizon {horizon!r}: {period.label} does not start after as-of {as_of}")
    return period


def _next_start(month: int, as_of: date) -> date:
    """The first day of the next calendar month `month` starting after as_of."""
    return date(as_of.year if month > as_of.month else as_of.year + 1, month, 1)


def _count(text: str, most: int, horizon: str) -> int:
    n = int(text)
    if not 1 <= n <= most:
        raise InputError(f"horizon {horizon!r}: between 1 and {most} only")
    return n


def resolve_period(horizon: str, as_of: date, freq: str) -> Period:
    """The calendar span a horizon string means, seen from `as_of`, for data of frequency `freq`."""
    as_of = to_date(as_of)
    key = re.sub(r"[\s_]+", "-", str(horizon).strip().lower())
    kind = freq_kind(freq)
    if (key in ("next-week", "next-4-weeks") or re.fullmatch(r"next-\d+-weeks|week:\+\d+", key)) and kind == "M":
        raise InputError(f"horizon {horizon!r} needs daily or weekly data; this series is monthly")
    month_after = (pd.Timestamp(as_of) + pd.offsets.MonthBegin(1)).date()  # the first month not begun by as_of
    match = re.fullmatch(r"month:\+(\d+)", key)
    if match:
        n = _count(match.group(1), MAX_MONTHS, horizon)
        return _months((pd.Timestamp(month_after) + pd.DateOffset(months=n - 1)).date(), 1)
    match = re.fullmatch(r"next-(\d+)-months?", key)
    if match:
        return _months(month_after, _count(match.group(1), MAX_MONTHS, horizon))
    match = re.fullmatch(r"next-(\d+)-weeks?", key)
    if match and key != "next-4-weeks":
        n = _count(match.group(1), MAX_WEEKS, horizon)
        return Period(as_of + timedelta(days=1), as_of + timedelta(days=7 * n))
    match = re.fullmatch(r"week:\+(\d+)", key)
    if match:
        n = _count(match.group(1), MAX_WEEKS, horizon)
        return Period(as_of + timedelta(days=7 * (n - 1) + 1), as_of + timedelta(days=7 * n))
    if key == "next-year":
        return _months(date(as_of.year + 1, 1, 1), 12)
    match = re.fullmatch(r"year:(\d{4})", key)
    if match:
        return _after(_months(date(int(match.group(1)), 1, 1), 12), horizon, as_of)
    match = re.fullmatch(r"half:(\d{4}|--)-?h([12])", key)
    if match:
        month = 1 if match.group(2) == "1" else 7
        start = _next_start(month, as_of) if match.group(1) == "--" else date(int(match.group(1)), month, 1)
        return _after(_months(start, 6), horizon, as_of)
    match = re.fullmatch(r"quarter:--q([1-4])", key)
    if match:
        return _months(_next_start(3 * int(match.group(1)) - 2, as_of), 3)
    match = re.fullmatch(r"range:(\d{4})-(\d{1,2})\.\.(\d{4})-(\d{1,2})", key)
    if match and all(1 <= int(match.group(i)) <= 12 for i in (2, 4)):
        y1, m1, y2, m2 = map(int, match.groups())
        n = (y2 * 12 + m2) - (y1 * 12 + m1) + 1
        if not 1 <= n <= MAX_MONTHS:
            raise InputError(f"horizon {horizon!r}: a range runs forward, 1 to {MAX_MONTHS} months")
        return _after(_months(date(y1, m1, 1), n), horizon, as_of)
    match = re.fullmatch(r"range:--(\d{1,2})\.\.--(\d{1,2})", key)
    if match and all(1 <= int(g) <= 12 for g in match.groups()):
        m1, m2 = map(int, match.groups())
        return _months(_next_start(m1, as_of), (m2 - m1) % 12 + 1)
    if key == "next-month":
        nxt = pd.Timestamp(as_of) + pd.offsets.MonthBegin(1)
        return _month(nxt.year, nxt.month)
    if key == "next-quarter":
        start = (pd.Timestamp(as_of) + pd.offsets.QuarterBegin(1, startingMonth=1)).date()
        return Period(start, (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date())
    if key == "next-week":
        return Period(as_of + timedelta(days=1), as_of + timedelta(days=7))
    if key == "next-4-weeks":
        return Period(as_of + timedelta(days=1), as_of + timedelta(days=28))
    match = re.fullmatch(r"month:--(\d{1,2})", key)
    if match and 1 <= int(match.group(1)) <= 12:  # a month named without a year: the next one after as_of
        month = int(match.group(1))
        year = as_of.year if month > as_of.month else as_of.year + 1
        return _month(year, month)
    match = re.fullmatch(r"quarter:(\d{4})-q([1-4])", key)
    if match:
        start = date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1)
        period = Period(start, (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date())
        if period.start <= as_of:
            raise InputError(f"horizon {horizon!r}: {period.label} does not start after as-of {as_of}")
        return period
    match = re.fullmatch(r"month:(\d{4})-(\d{1,2})", key)
    if match and 1 <= int(match.group(2)) <= 12:
        period = _month(int(match.group(1)), int(match.group(2)))
        if period.start <= as_of:
            raise InputError(f"horizon {horizon!r}: {period.label} does not start after as-of {as_of}")
        return period
    raise InputError(f"unknown horizon {horizon!r}; expected one of {', '.join(HORIZONS)}")


def steps_in_period(last_ds, freq: str, period: Period) -> tuple[int, np.ndarray]:
    """Forecast steps needed after the last observed `ds`, and which of them fall in `period`.

    Returns ``(h, mask)``: forecasting `h` steps ahead reaches the period's last step; ``mask[i]`` is True when step
    ``i + 1`` (the period starting at ``last_ds + (i + 1) * freq``) has its `ds` inside `period`.
    Raises InputError when no step of this frequency falls in the period or the period starts before the next step.
    """
    last = pd.Timestamp(last_ds)
    future = pd.date_range(start=last, end=pd.Timestamp(period.end), freq=freq)
    future = future[future > last]
    mask = np.asarray(future >= pd.Timestamp(period.start))
    if not mask.any():
        raise InputError(f"period {period.label}: no {freq} step after {last.date()} falls in it")
    return len(future), mask


def default_as_of(history: pd.DataFrame, freq: str | None = None) -> date:
    """End of the last observed period of `history` (columns ds, y)."""
    ds = pd.DatetimeIndex(history["ds"])
    if len(ds) == 0:
        raise InputError("no history: cannot choose an as-of date")
    freq = freq or infer_freq(ds)
    return period_ends(ds[[int(ds.argmax())]], freq)[0].date()


def relative_horizon(horizon: str) -> str:
    """The rolling horizon a horizon is judged by in the past: an explicit month (``month:2020-04``) is a
    ``next-month`` seen from the month before it; the rolling horizons are themselves."""
    key = str(horizon).lower()
    if re.fullmatch(r"month:\d{4}-\d{1,2}|month:--\d{1,2}", key):
        return "next-month"
    if key.startswith("quarter:"):
        return "next-quarter"
    if key.startswith("half:"):
        return "next-6-months"
    if key.startswith("year:"):
        return "next-year"
    match = re.fullmatch(r"range:(\d{4})-(\d{1,2})\.\.(\d{4})-(\d{1,2})", key)
    if match:
        y1, m1, y2, m2 = map(int, match.groups())
        n = (y2 * 12 + m2) - (y1 * 12 + m1) + 1
        return "next-month" if n == 1 else f"next-{n}-months"
    match = re.fullmatch(r"range:--(\d{1,2})\.\.--(\d{1,2})", key)
    if match:
        n = (int(match.group(2)) - int(match.group(1))) % 12 + 1
        return "next-month" if n == 1 else f"next-{n}-months"
    return horizon  # rolling: next-*, month:+N, week:+N


def step_starts(period: Period, freq: str) -> pd.DatetimeIndex:
    """The `ds` of the `freq` steps that belong to `period` (those dated inside it)."""
    return pd.date_range(pd.Timestamp(period.start), pd.Timestamp(period.end), freq=freq)


def known_by(period: Period, freq: str) -> date:
    """The first as-of at which every step of `period` is observed: the end of its last step (for weekly data a
    month's last week may run into the next month)."""
    steps = step_starts(period, freq)
    if len(steps) == 0:
        return period.end
    return max(period.end, period_ends(steps[-1:], freq)[0].date())


_KNOWN: dict[tuple, np.datetime64] = {}  # (start, end, freq) -> known_by, for the process (a pure function)


def known_dates(starts, ends, freq: str) -> np.ndarray:
    """`known_by` of many periods (aligned start and end dates), as datetime64[D]: computed once per distinct
    period and frequency in the process, so thousands of situations over the same few hundred periods (a report
    over a whole chain) cost a few hundred calls."""
    s = pd.to_datetime(pd.Series(starts)).to_numpy("datetime64[D]")
    e = pd.to_datetime(pd.Series(ends)).to_numpy("datetime64[D]")
    if not len(s):
        return np.empty(0, dtype="datetime64[D]")
    pairs, inverse = np.unique(np.stack([s.astype("int64"), e.astype("int64")], axis=1), axis=0,
                               return_inverse=True)
    values = np.empty(len(pairs), dtype="datetime64[D]")
    for k, (a, b) in enumerate(pairs):
        key = (int(a), int(b), freq)
        if key not in _KNOWN:
            start, end = (np.datetime64(int(v), "D").astype(object) for v in (a, b))
            _KNOWN[key] = np.datetime64(known_by(Period(start, end), freq), "D")
        values[k] = _KNOWN[key]
    return values[np.asarray(inverse).reshape(-1)]
