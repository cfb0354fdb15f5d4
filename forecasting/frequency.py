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
SEASON_LENGTH = {"D": 7, "W": 52, "M": 12}  # the main season: MASE's lag, "two seasons of history"
LONGER_SEASONS = {"D": (365,)}  # also fitted (forecasting.models: MSTL) when the history holds two of them
SEASON_NAMES = {7: "weekly", 12: "yearly", 52: "yearly", 365: "yearly"}
# ~3 years daily (the yearly season needs two full years, and a third smooths its estimate), 3 years weekly,
# 10 years monthly
DEFAULT_TRAIN_WINDOW = {"D": 1095, "W": 156, "M": 120}


class SeasonLength(int):
    """A frequency's season length: an int, the main season (7 for daily data: what MASE scales by, what "two
    seasons of history" counts, what backtests fit), that also carries every season of the frequency in `all`
    (daily: ``(7, 365)``, weekly and yearly). `forecasting.models.plan_models` fits the longer ones where the
    history holds two of each; everything else reads it as the plain number."""

    all: tuple[int, ...]

    def __new__(cls, seasons):
        seasons = tuple(int(s) for s in seasons)
        obj = super().__new__(cls, seasons[0])
        obj.all = seasons
        return obj

    def __getnewargs__(self):
        return (self.all,)

    def __repr__(self) -> str:
        return f"SeasonLength({self.all})" if len(self.all) > 1 else str(int(self))


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


def season_length(freq: str) -> SeasonLength:
    """The main season length (an int: 7, 52 or 12), carrying the longer seasons in ``.all`` (daily: 7, 365)."""
    kind = freq_kind(freq)
    return SeasonLength((SEASON_LENGTH[kind], *LONGER_SEASONS.get(kind, ())))


def season_lengths(season) -> tuple[int, ...]:
    """Every season of a `season_length` result (a plain int: just itself)."""
    return tuple(getattr(season, "all", (int(season),)))


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
    gaps = np.diff(uniq.to_numpy("int64")) // (86_400 * 10**9)
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
