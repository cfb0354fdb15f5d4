"""Calendar effects of monthly data: the weekday mix and Easter, the way the Census's X-13 regressors see them.

A retail month's sales depend on how many Fridays, Saturdays and Sundays it holds, on its length (February in a leap
year) and on whether the days before Easter fall in it (March or April). None of that is in a seasonal model, whose
March is the same every year. Five columns per month (`features`): its count of Fridays, Saturdays and Sundays, its
length, and the share of the eight days before Easter Sunday inside it — each centred on that calendar month's mean
over 1950..2049, so an ordinary month has factor ≈ 1.

`fit(ds, y)` learns the effects from a series' own history, known at as-of (the caller cuts it: forecasting.history):
an ordinary least-squares regression of the year-over-year change of log sales on the year-over-year change of the
five columns (the seasonal difference removes the season and the level; what is left to explain is the calendar),
refitted once without the months it misses by more than 3.5 robust sds (2020's lockdown months must not teach it).
It is KEPT only where the series' own record says it helps: over the last `RECORD` months, a one-month-ahead
year-over-year forecast (the mean change of the previous 12 months) with the effects learned from the months before
each one must beat the same forecast without them on median absolute log error (the median: a shock month misses
both by the same large amount and must not decide). Otherwise `fit` returns None and the
forecast is the one without calendar effects, so a series where they do not help is not made worse by them.

Applied as a prior adjustment (X-13's approach): every member is fitted on sales divided by their calendar factor,
and its forecast (point and bounds) is multiplied by the factor of the forecast month (`factors`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.easter import easter

COLUMNS = ("fridays", "saturdays", "sundays", "days", "easter")
EASTER_DAYS = 8  # the days before Easter Sunday whose shopping moves with it
MIN_MONTHS = 48  # of history (36 year-over-year changes, and a record to judge them by)
RECORD = 36  # months of out-of-sample record a series' effects are judged by
OUTLIER_SDS = 3.5


@dataclass(frozen=True)
class CalendarEffect:
    beta: tuple[float, ...]  # log effect per unit of each COLUMNS entry (centred)
    error_with: float  # mean |log error| over the record, with the effects
    error_without: float  # and without

    def factors(self, ds) -> np.ndarray:
        """The multiplicative calendar factor of each month start in `ds`."""
        return np.exp(features(ds) @ np.asarray(self.beta))

    def describe(self) -> str:
        gain = 100.0 * (1.0 - self.error_with / self.error_without) if self.error_without > 0 else 0.0
        return (f"calendar effects (weekday mix, month length, Easter): past year-over-year misses {gain:.0f} % "
                f"smaller with them over the last {RECORD} months")


def _raw(months: pd.DatetimeIndex) -> np.ndarray:
    starts = months.to_period("M").to_timestamp()
    length = starts.days_in_month.to_numpy()
    first = starts.weekday.to_numpy()  # weekday of the 1st
    out = np.zeros((len(starts), len(COLUMNS)))
    for j, weekday in enumerate((4, 5, 6)):  # a weekday occurs 4 times, once more if it falls in the days past 28
        out[:, j] = 4 + ((weekday - first) % 7 < length - 28)
    out[:, 3] = length
    sundays = {year: np.datetime64(easter(year), "D") for year in np.unique(starts.year)}
    begin = starts.to_numpy().astype("datetime64[D]")
    end = begin + length.astype("timedelta64[D]")  # exclusive
    for i, year in enumerate(starts.year):
        lead = sundays[year] - np.arange(EASTER_DAYS, 0, -1).astype("timedelta64[D]")
        out[i, 4] = float(((lead >= begin[i]) & (lead < end[i])).mean())
    return out


def _month_means() -> np.ndarray:
    months = pd.date_range("1950-01-01", "2049-12-01", freq="MS")
    raw = _raw(months)
    return np.vstack([raw[months.month == m].mean(axis=0) for m in range(1, 13)])


_MEANS: np.ndarray | None = None


def features(ds) -> np.ndarray:
    """The five COLUMNS of each month in `ds` (any day of the month), centred on that calendar month's mean."""
    global _MEANS
    if _MEANS is None:
        _MEANS = _month_means()
    months = pd.DatetimeIndex(pd.to_datetime(ds))
    return _raw(months) - _MEANS[months.month.to_numpy() - 1]


def _ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y)), x]), y, rcond=None)
    resid = y - np.column_stack([np.ones(len(y)), x]) @ beta
    scale = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    keep = np.abs(resid) <= OUTLIER_SDS * scale if scale > 0 else np.ones(len(y), dtype=bool)
    if keep.sum() > x.shape[1] + 5 and not keep.all():
        beta, *_ = np.linalg.lstsq(np.column_stack([np.ones(keep.sum()), x[keep]]), y[keep], rcond=None)
    return beta[1:]


def fit(ds, y) -> CalendarEffect | None:
    """The series' calendar effect learned from this history (ds: month starts, regular; y: sales, all known at the
    caller's as-of), or None: too short, not positive, or its own record says the effects do not help (module doc)."""
    ds = pd.DatetimeIndex(pd.to_datetime(ds))
    y = np.asarray(y, dtype="float64")
    if len(y) < MIN_MONTHS or not np.all(np.isfinite(y)) or np.any(y <= 0):
        return None
    x = features(ds)
    d = np.log(y[12:]) - np.log(y[:-12])
    dx = x[12:] - x[:-12]
    n = len(d)
    start = max(24, n - RECORD)
    err_with, err_without = [], []
    for t in range(start, n):  # month t is forecast from the months before it only
        beta = _ols(dx[:t], d[:t])
        recent = slice(t - 12, t)
        plain = float(np.mean(d[recent]))
        adjusted = float(np.mean(d[recent] - dx[recent] @ beta)) + float(dx[t] @ beta)
        err_without.append(abs(d[t] - plain))
        err_with.append(abs(d[t] - adjusted))
    if not err_with:
        return None
    e_with, e_without = float(np.median(err_with)), float(np.median(err_without))
    if not e_with < e_without:
        return None
    return CalendarEffect(tuple(float(b) for b in _ols(dx, d)), e_with, e_without)


def adjust_panel(df: pd.DataFrame, cutoffs: dict, freq: str) -> tuple[pd.DataFrame, dict[str, CalendarEffect]]:
    """A long panel (unique_id, ds, y) with each series divided by its calendar factors, the effects learned from its
    rows up to its cutoff (`cutoffs`: unique_id → last ds known; the eval's block origin), and the effects kept.
    Series without a kept effect (or data that is not monthly) are returned unchanged."""
    if freq != "MS":
        return df, {}
    kept: dict[str, CalendarEffect] = {}
    parts = []
    for uid, g in df.groupby("unique_id", sort=False):
        known = g[(g["ds"] <= cutoffs.get(uid, g["ds"].max())) & g["y"].notna()]
        effect = fit(known["ds"], known["y"]) if uid in cutoffs else None
        if effect is not None:
            kept[str(uid)] = effect
            g = g.assign(y=g["y"] / effect.factors(g["ds"]))
        parts.append(g)
    return (pd.concat(parts, ignore_index=True) if parts else df), kept
