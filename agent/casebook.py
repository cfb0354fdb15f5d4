"""Where past cases come from: which related series and origins a situation looks back to, and their backtests.

A past case is (related series, past origin) with the cheap backtest baseline (forecasting.backtest_situations:
each fitted on data up to its own origin) and the realised outcome. The backtest is given the whole, uncut series —
its cache key is then the same for every as-of, so asks, reports and eval origins share one backtest per series —
and `agent.cases.find_cases` keeps only cases whose outcome was observed by the as-of (`forecasting.periods
.known_by`). Eval precomputes one backtest for all its origins (`precompute_backtests`) and passes it in.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from agent.cases import origins_before, related_series

CASE_LOOKBACK = 36  # past origins considered for analogues / few-shot examples
CASE_SERIES = 8  # related series considered
CASE_MODEL = "AutoETS"  # cheap backtest baseline of past cases
CASE_REFIT_YEARS = 2  # its parameters are re-estimated every 2nd 31 December (states still run to each origin)


def case_series(series: pd.DataFrame, target_id: str) -> list[str]:
    """The series a target's past cases come from: itself, its siblings, parent and children."""
    return related_series(series, target_id, CASE_SERIES)


def case_origins(as_of: dt.date, horizon: str, freq: str) -> list[dt.date]:
    """The past origins a situation at `as_of` looks back to (their outcomes observed by as-of)."""
    return origins_before(as_of, horizon, freq, CASE_LOOKBACK)


def backtest(store, ids: list[str], freq: str, origins: list[dt.date], horizon: str,
             panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Backtests of `ids` at `origins` through the store's situation cache (uncut series: see module doc).
    `panel`: those series' rows, when the caller has already read them."""
    from forecasting.backtest import backtest_situations
    from forecasting.periods import relative_horizon

    if not origins or not ids:
        return pd.DataFrame(columns=["unique_id", "origin", "period_start", "period_end", "baseline", "actual"])
    panel = store.panel(ids) if panel is None else panel[panel["unique_id"].isin(ids)]
    return backtest_situations(panel, freq, origins, relative_horizon(horizon), model=CASE_MODEL,
                               store=store, refit_years=CASE_REFIT_YEARS)


def precompute_backtests(store, series: pd.DataFrame, target_ids: list[str], freq: str, as_ofs: list[dt.date],
                         horizon: str) -> pd.DataFrame:
    """One backtest serving every target at every as-of (eval runs, reports): the union of their case series
    and case origins. `situation.prepare(backtests=...)` then selects each situation's rows from it."""
    ids = sorted({i for uid in target_ids for i in case_series(series, uid)})
    origins = sorted({o for a in as_ofs for o in case_origins(a, horizon, freq)})
    return backtest(store, ids, freq, origins, horizon)


def backtests_for(store, series: pd.DataFrame, target_id: str, freq: str, as_of: dt.date, horizon: str,
                  precomputed: pd.DataFrame | None = None, panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The backtest rows one situation's past cases are drawn from (`panel`: the case series' rows, uncut)."""
    ids, origins = case_series(series, target_id), case_origins(as_of, horizon, freq)
    if precomputed is None:
        return backtest(store, ids, freq, origins, horizon, panel=panel)
    rows = precomputed[precomputed["unique_id"].isin(ids)
                       & pd.to_datetime(precomputed["origin"]).isin(pd.to_datetime(pd.Series(origins)))]
    return rows.reset_index(drop=True)
