"""Transaction logs → period series: one row per sale (timestamp, keys, quantity, price) summed or counted per
series and day / week / month, in one ingest.

- The value is a column or a product of columns (``Quantity*UnitPrice``).
- Negative lines (returns, cancellations) are kept (net sales, the default) or dropped, as the user says.
- A period with no transactions between a series' first period and the data's last is a zero, not a gap.
- Weeks start on WEEK_START (Monday) and are labelled by that day.
- The last period is *partial* when the log stops before it ends (a month with 9 of its 31 days); it is left out
  and reported, unless the user says the data is complete through a date (``complete_through``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from trendcast.forecasting.frequency import freq_kind, period_ends, weekly_alias

AGGREGATES = ("sum", "count")
NEGATIVES = ("keep", "drop")
WEEK_START = 0  # Monday


def canonical_freq(freq: str) -> str:
    """The stored frequency of aggregated data (weeks anchored on WEEK_START)."""
    kind = freq_kind(freq)
    return {"D": "D", "M": "MS"}.get(kind) or weekly_alias(WEEK_START)


def period_starts(stamps: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    days = pd.DatetimeIndex(stamps).normalize()
    kind = freq_kind(freq)
    if kind == "M":
        return days.to_period("M").to_timestamp()
    if kind == "W":
        return days - pd.to_timedelta((days.weekday - WEEK_START) % 7, unit="D")
    return days


@dataclass
class Aggregated:
    key_codes: list[np.ndarray]  # per key column: the code of each aggregated row
    ds: pd.DatetimeIndex
    y: np.ndarray
    lines: int  # transaction lines read
    negative_lines: int  # of which negative (kept or dropped)
    dropped_negative: int
    partial: pd.Timestamp | None  # the first period left out as incomplete (it ends after the data does)


def aggregate(key_codes: list[np.ndarray], stamps: pd.DatetimeIndex, y: np.ndarray, freq: str, how: str,
              negatives: str = "keep", complete_through: pd.Timestamp | None = None) -> Aggregated:
    """Sum or count transaction lines per (series key, period); `y` NaN lines are skipped (sum) or counted."""
    negative = np.nan_to_num(y, nan=0.0) < 0
    keep = np.ones(len(y), dtype=bool)
    if negatives == "drop":
        keep &= ~negative
    if how == "sum":
        keep &= ~np.isnan(y)
    starts = period_starts(stamps, freq)
    frame = pd.DataFrame({f"k{i}": c[keep] for i, c in enumerate(key_codes)})
    frame["ds"] = starts[keep]
    frame["y"] = y[keep] if how == "sum" else 1.0
    keys = [f"k{i}" for i in range(len(key_codes))]
    summed = frame.groupby([*keys, "ds"], sort=True)["y"].sum().reset_index()
    summed = _zero_fill(summed, keys, freq)
    through = complete_through if complete_through is not None else pd.DatetimeIndex(stamps).normalize().max()
    late = period_ends(pd.DatetimeIndex(summed["ds"]), freq) > through
    partial = pd.Timestamp(summed.loc[late, "ds"].min()) if late.any() else None
    summed = summed[~late]
    return Aggregated([summed[k].to_numpy() for k in keys], pd.DatetimeIndex(summed["ds"]),
                      summed["y"].to_numpy("float64"), lines=len(y), negative_lines=int(negative.sum()),
                      dropped_negative=int((negative & (negatives == "drop")).sum()), partial=partial)


def _zero_fill(summed: pd.DataFrame, keys: list[str], freq: str) -> pd.DataFrame:
    """Every period from each series' first to the data's last: periods without a transaction are zeros."""
    step = {"D": "D", "W": "7D", "M": "MS"}[freq_kind(freq)]
    grid = pd.date_range(summed["ds"].min(), summed["ds"].max(), freq=step)
    first = summed.groupby(keys, sort=False)["ds"].min().reset_index()
    parts = []
    for row in first.itertuples(index=False):
        span = grid[grid >= cast(pd.Timestamp, row.ds)]  # the minimum of a datetime column
        parts.append(pd.DataFrame({**{k: getattr(row, k) for k in keys}, "ds": span}))
    full = pd.concat(parts, ignore_index=True)
    out = full.merge(summed, on=[*keys, "ds"], how="left")
    out["y"] = out["y"].fillna(0.0)
    return out
