"""Known-ahead events as exogenous regressors of daily fits: one 0/1 column per event name, on its day.

Only daily data: a holiday is one day of 30 in a month and of 7 in a week, where the seasonal baseline and the
carry adjuster's seasonal event effect (agent.events) account for it. A name becomes a column when its day occurs at
least MIN_OCCURRENCES times in the training window (its effect can be estimated) and once in the forecast steps (it
matters). Models that take regressors use them (AutoARIMA, and the MSTL members whose trend model is AutoARIMA,
through StatsForecast's X_df); the others ignore them.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

MIN_OCCURRENCES = 2


def event_columns(train_ds: pd.DatetimeIndex, future_ds: pd.DatetimeIndex,
                  events: Mapping[date, Sequence[str]]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``(train X, future X, names)``: the 0/1 columns of the event names that qualify (none: empty frames)."""
    by_name: dict[str, set[np.datetime64]] = {}
    for day, names in events.items():
        for name in names:
            by_name.setdefault(name, set()).add(np.datetime64(day, "D"))
    train = pd.DatetimeIndex(train_ds).normalize().to_numpy("datetime64[D]")
    future = pd.DatetimeIndex(future_ds).normalize().to_numpy("datetime64[D]")
    cols_train, cols_future, kept = {}, {}, []
    for name in sorted(by_name):
        days = np.array(sorted(by_name[name]), dtype="datetime64[D]")
        x_train, x_future = np.isin(train, days), np.isin(future, days)
        if x_train.sum() >= MIN_OCCURRENCES and x_future.any():
            col = "ev_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "event")
            if col in cols_train:
                continue
            cols_train[col], cols_future[col] = x_train.astype("float64"), x_future.astype("float64")
            kept.append(name)
    return pd.DataFrame(cols_train), pd.DataFrame(cols_future), kept
