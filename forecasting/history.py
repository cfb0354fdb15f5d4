"""One series' history made ready for fitting: only what was observed by as-of, on a regular grid, windowed."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import period_ends


def observed(frame: pd.DataFrame, freq: str, as_of: date) -> pd.DataFrame:
    """THE CLOCK: the rows of `frame` (a ``ds`` column of period starts, any other columns) whose period has ENDED by
    `as_of`, sorted by (unique_id,) ds. A month is known after its last day, a week after its seventh; an as-of in
    the middle of a period never lets that period in. Every cut of history, panel, cases and prompts goes through
    this function (forecasting, agent, eval alike)."""
    df = frame.copy()
    df["ds"] = pd.to_datetime(df["ds"])
    df = df.sort_values(["unique_id", "ds"] if "unique_id" in df.columns else "ds", ignore_index=True)
    return df[period_ends(df["ds"], freq) <= pd.Timestamp(as_of)].reset_index(drop=True)


def on_grid(ds, y: np.ndarray, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The series on its regular `freq` grid from first to last date; absent periods become NaN.

    Duplicate dates, or dates off the grid (a Thursday in W-FRI data), are an InputError.
    """
    ds = pd.DatetimeIndex(ds)
    if ds.has_duplicates:
        raise InputError(f"history has duplicate dates, e.g. {ds[ds.duplicated()][0].date()}")
    grid = pd.date_range(ds[0], ds[-1], freq=freq)
    y = np.asarray(y, dtype="float64")
    if len(grid) == len(ds):
        if not (grid == ds).all():
            raise InputError(f"history dates are not on the {freq} grid")
        return grid, y
    if not ds.isin(grid).all():
        raise InputError(f"history date {ds[~ds.isin(grid)][0].date()} is not on the {freq} grid")
    return grid, pd.Series(y, index=ds).reindex(grid).to_numpy()


def prepare(
    history: pd.DataFrame, freq: str, as_of: date, train_window: int
) -> tuple[pd.DatetimeIndex, np.ndarray, list[str]]:
    """``(ds, y, warnings)``: observed by as-of, on the regular grid, the last `train_window` periods, with
    interior missing periods linearly interpolated (and said so in a warning)."""
    df = observed(history[["ds", "y"]], freq, as_of)
    df = df[df["y"].notna()]
    if df.empty:
        raise InputError(f"no observations on or before as-of {as_of}")
    ds, y = on_grid(df["ds"], df["y"].to_numpy("float64"), freq)
    ds, y = ds[-train_window:], y[-train_window:]
    start = int(np.flatnonzero(~np.isnan(y))[0])
    ds, y = ds[start:], y[start:]
    warnings = []
    gaps = int(np.isnan(y).sum())
    if gaps:
        y = pd.Series(y).interpolate(limit_area="inside").to_numpy()
        warnings.append(f"{gaps} missing period(s) in the training window were filled by linear interpolation")
    return ds, y, warnings
