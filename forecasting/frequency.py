"""Data frequencies: parsing user spellings, inferring from dates, season lengths and period ends.

Canonical frequency strings (pandas offset aliases, stored in the `series` table):
``'D'`` daily, ``'W-FRI'`` weekly anchored on the weekday the data uses (any of MON..SUN), ``'MS'`` monthly.
Every `ds` is the *start* of its period: the day, the week's date as given in the data, the first of the month.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_SPELLINGS = {
    "d": "D", "day": "D", "daily": "D",
    "w": "W", "week": "W", "weekly": "W",
    "m": "MS", "ms": "MS", "month": "MS", "monthly": "MS",
}
SEASON_LENGTH = {"D": 7, "W": 52, "M": 12}
DEFAULT_TRAIN_WINDOW = {"D": 730, "W": 156, "M": 120}  # ~2 years daily, 3 years weekly, 10 years monthly


def parse_freq(freq: str) -> str:
    """User spelling → ``'D'``, ``'W'`` (weekday still to be found from the data), ``'W-FRI'`` or ``'MS'``."""
    key = str(freq).strip()
    if key.upper().startswith("W-") and key[2:].upper() in WEEKDAYS:
        return "W-" + key[2:].upper()
    if key.lower() in _SPELLINGS:
        return _SPELLINGS[key.lower()]
    raise ValueError(f"unknown frequency {freq!r}: use D, W or M (or daily, weekly, monthly)")


def freq_kind(freq: str) -> str:
    """``'D'``, ``'W'`` or ``'M'`` for a canonical (or user-spelled) frequency."""
    canon = parse_freq(freq)
    return "M" if canon == "MS" else canon[0]


def season_length(freq: str) -> int:
    return SEASON_LENGTH[freq_kind(freq)]


def default_train_window(freq: str) -> int:
    return DEFAULT_TRAIN_WINDOW[freq_kind(freq)]


def weekly_alias(weekday: int) -> str:
    return f"W-{WEEKDAYS[weekday]}"


def period_ends(ds: pd.DatetimeIndex | pd.Series, freq: str) -> pd.DatetimeIndex:
    """Last day covered by each period starting at `ds` (a week covers ds .. ds + 6 days)."""
    ds = pd.DatetimeIndex(ds)
    kind = freq_kind(freq)
    if kind == "M":
        return ds + pd.offsets.MonthEnd(0)
    if kind == "W":
        return ds + pd.Timedelta(days=6)
    return ds


def normalize_dates(ds: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """Period starts: the day (time dropped); monthly dates become the first of their month."""
    ds = pd.DatetimeIndex(ds).normalize()
    if freq_kind(freq) == "M":
        return ds.to_period("M").to_timestamp()
    return ds


def infer_freq(dates: pd.DatetimeIndex) -> str:
    """Infer ``'D'``, ``'W-<DAY>'`` or ``'MS'`` from the distinct dates of a data set (all series together).

    Raises ValueError (a problem description without file context) when the dates fit none of them.
    """
    uniq = pd.DatetimeIndex(dates).normalize().unique().sort_values()
    if len(uniq) < 2:
        raise ValueError("cannot infer the frequency from a single date; set freq to D, W or M")
    gaps = np.diff(uniq.asi8) // (86_400 * 10**9)
    smallest = int(gaps.min())
    if smallest == 1:
        return "D"
    weekdays = np.unique(uniq.weekday)
    if smallest == 7 and len(weekdays) == 1 and np.all(gaps % 7 == 0):
        return weekly_alias(int(weekdays[0]))
    if 28 <= smallest <= 31 and uniq.to_period("M").is_unique:
        return "MS"
    raise ValueError(
        f"cannot infer the frequency (dates {uniq[0].date()} .. {uniq[-1].date()}, smallest gap {smallest} days); "
        "set freq to D, W or M"
    )
