"""Saying when an answer stands on old data: an as-of past the series' data, a series that stopped while others
continue, evidence older than the evidence window, and bounds of non-negative data clipped at zero.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from trendcast.agent.warning_codes import (INTERVAL_CLIPPED, SERIES_STOPPED, STALE_AS_OF, STALE_EVIDENCE, WarningOut,
                                           warn)

# a series has stopped when the other series of its frequency run at least this many periods further (by as-of)
STOPPED_STEPS = {"M": 3, "W": 4, "D": 14}
UNITS = {"M": "month", "W": "week", "D": "day"}


def _kind(freq: str) -> str:
    from trendcast.forecasting.frequency import freq_kind

    return freq_kind(freq)


def _label(ds, freq: str) -> str:
    ts = pd.Timestamp(ds)
    return ts.strftime("%Y-%m") if _kind(freq) == "M" else ts.date().isoformat()


def _count(n: int, freq: str) -> str:
    unit = UNITS.get(_kind(freq), "period")
    return f"{n} {unit}{'' if n == 1 else 's'}"


def periods_after(last_ds, until: dt.date, freq: str) -> int:
    """How many whole periods after the one starting at `last_ds` have ended by `until`."""
    from trendcast.forecasting.frequency import period_ends

    last = pd.Timestamp(last_ds)
    starts = pd.date_range(last, pd.Timestamp(until), freq=freq)
    starts = starts[starts > last]
    if len(starts) == 0:
        return 0
    return int((period_ends(starts, freq) <= pd.Timestamp(until)).sum())


def _others_end(series: pd.DataFrame, target, as_of: dt.date) -> dt.date | None:
    """The day up to which the other series of the target's dataset and frequency are observed by as-of (the end
    of their latest period, as-of at most); None when there are none."""
    from trendcast.forecasting.frequency import period_ends

    if series is None or series.empty or "end" not in series:
        return None
    ids = series["unique_id"].astype(str)
    others = series[(ids != str(target.series_id)) & (series["freq"] == target.freq)]
    mine = series.loc[ids == str(target.series_id)]
    if "dataset" in series and not mine.empty:
        others = others[others["dataset"] == mine["dataset"].iloc[0]]
    ends = pd.to_datetime(others["end"]).dropna()
    if ends.empty:
        return None
    return min(period_ends(pd.DatetimeIndex([ends.max()]), target.freq)[0].date(), as_of)


def data_warnings(series: pd.DataFrame, target, history: pd.DataFrame, as_of: dt.date) -> list[WarningOut]:
    """`series_stopped` when the target's data stops well before the other series' (by as-of), else
    `stale_as_of` when as-of is past the target's last observed period."""
    last = pd.Timestamp(history["ds"].max())
    gap = periods_after(last, as_of, target.freq)
    if gap == 0:
        return []
    when = _label(last, target.freq)
    others = _others_end(series, target, as_of)
    if others is not None and periods_after(last, others, target.freq) >= STOPPED_STEPS.get(_kind(target.freq), 3):
        return [warn(SERIES_STOPPED, f"the data of {target.name} stops at {when}, {_count(gap, target.freq)} before "
                                     f"as-of {as_of}, while other series run to {_label(others, target.freq)}: "
                                     f"the forecast extrapolates from {when}")]
    return [warn(STALE_AS_OF, f"as-of {as_of} is {_count(gap, target.freq)} after the data ends ({when}): the "
                              f"forecast extrapolates from {when}")]


def evidence_warning(hits, as_of: dt.date, window_days: int) -> WarningOut | None:
    """`stale_evidence` when the newest dated evidence is older than the evidence window (as_of - window, as_of]."""
    dates = [pd.Timestamp(h.date).date() for h in hits if getattr(h, "date", None) is not None]
    if not dates:
        return None
    newest = max(dates)
    since = as_of - dt.timedelta(days=window_days - 1)
    if newest >= since:
        return None
    months = (as_of.year - newest.year) * 12 + as_of.month - newest.month
    age = f"{months} months" if months >= 2 else f"{(as_of - newest).days} days"
    return warn(STALE_EVIDENCE, f"the newest evidence ({newest}) is {age} older than as-of {as_of} (evidence window "
                                f"{window_days} days): it is background, not current news")


BOUND_NAMES = {"total": "point forecast", "lo_80": "80 % lower bound", "lo_95": "95 % lower bound",
               "hi_80": "80 % upper bound", "hi_95": "95 % upper bound"}


def clipped_warning(baseline_clipped: list[str], forecast_clipped: list[str],
                    forecast_capped: Sequence[str] = (), factor: float | None = None) -> WarningOut | None:
    """`interval_clipped` naming what was raised to 0 (the data is non-negative) and which bounds were capped at
    `factor` x the series' largest value per step (agent.assemble.ceiling_of)."""
    parts = []
    for what, names in (("forecast", forecast_clipped), ("baseline", baseline_clipped)):
        if names:
            parts.append(f"{what} {', '.join(BOUND_NAMES.get(n, n) for n in names)}")
    text = f"{'; '.join(parts)} clipped at 0 (the data is never negative)" if parts else ""
    if forecast_capped:
        cap = (f"forecast {', '.join(BOUND_NAMES.get(n, n) for n in forecast_capped)} capped at "
               f"{factor:g}x the series' largest value per step (its spread is too wide to bound it)")
        text = f"{text}; {cap}" if text else cap
    return warn(INTERVAL_CLIPPED, text) if text else None
