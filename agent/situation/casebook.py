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

from trendcast.agent.situation.cases import origins_before, related_series

CASE_LOOKBACK = 36  # past origins considered for analogues / few-shot examples
MISS_LOOKBACK = 240  # past origins the carry adjuster learns from (agent.carry): breaks are rare, look far back
MISS_SERIES = 40  # series it learns from: the related ones, then others of the same data set, evenly spread
CASE_SERIES = 8  # related series considered
CASE_MODEL = "AutoETS"  # cheap backtest baseline of past cases
CASE_REFIT_YEARS = 2  # its parameters are re-estimated every 2nd 31 December (states still run to each origin)


_MEMO: list = [None, {}]  # [the last series table, {(function, target id): its answer}]


def _memo(series: pd.DataFrame, fn, target_id: str) -> list[str]:
    """fn(series, target_id), once per series table and target: a report over a chain asks each a few times per
    target, and each answer scans the whole table."""
    if _MEMO[0] is not series:
        _MEMO[:] = [series, {}]
    key = (fn.__name__, target_id)
    if key not in _MEMO[1]:
        _MEMO[1][key] = fn(series, target_id)
    return list(_MEMO[1][key])


def case_series(series: pd.DataFrame, target_id: str) -> list[str]:
    """The series a target's past cases come from: itself, its siblings, parent and children."""
    return _memo(series, _case_series, target_id)


def _case_series(series: pd.DataFrame, target_id: str) -> list[str]:
    return related_series(series, target_id, CASE_SERIES)


def case_origins(as_of: dt.date, horizon: str, freq: str) -> list[dt.date]:
    """The past origins a situation at `as_of` looks back to (their outcomes observed by as-of)."""
    return origins_before(as_of, horizon, freq, CASE_LOOKBACK)


def miss_series(series: pd.DataFrame, target_id: str) -> list[str]:
    """The series agent.carry learns breaks from: the target, then the other series of its data set, frequency and
    level, evenly spread over their sorted ids, up to MISS_SERIES. A family alone holds too few breaks (clothing's
    13 past new breaks, with its 5-digit children, carried 10 % of their miss), and levels behave differently: on
    MRTS before 2020, new breaks of 3-digit series carried 49 %, of 4-digit 74 %, of the small 5-digit series 6 %
    (idiosyncratic jumps that revert)."""
    return _memo(series, _miss_series, target_id)


def _miss_series(series: pd.DataFrame, target_id: str) -> list[str]:
    row = series.set_index("unique_id").loc[target_id]
    same = series[series["freq"] == row["freq"]]
    for col in ("dataset", "level"):
        if col in same.columns:
            same = same[same[col] == row[col]]
    rest = sorted(set(same["unique_id"].astype(str)) - {target_id})
    room = MISS_SERIES - 1
    if len(rest) > room:
        rest = [rest[int(i * len(rest) / room)] for i in range(room)]
    return [target_id] + rest


def backtest_series(series: pd.DataFrame, target_id: str) -> list[str]:
    """Every series a situation's backtest covers: `case_series`, then `miss_series`."""
    return list(dict.fromkeys(case_series(series, target_id) + miss_series(series, target_id)))


def miss_origins(as_of: dt.date, horizon: str, freq: str) -> list[dt.date]:
    """The past origins whose misses agent.carry learns from (a superset of `case_origins`)."""
    return origins_before(as_of, horizon, freq, MISS_LOOKBACK)


def backtest(store, ids: list[str], freq: str, origins: list[dt.date], horizon: str,
             panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """Backtests of `ids` at `origins` through the store's situation cache (uncut series: see module doc).
    `panel`: those series' rows, when the caller has already read them (more series are fine)."""
    from trendcast.forecasting.backtest import backtest_situations
    from trendcast.forecasting.periods import relative_horizon

    if not origins or not ids:
        return pd.DataFrame(columns=["unique_id", "origin", "period_start", "period_end", "baseline", "actual"])
    panel = store.panel(ids) if panel is None else panel[panel["unique_id"].isin(ids)]
    return backtest_situations(panel, freq, origins, relative_horizon(horizon), model=CASE_MODEL,
                               store=store, refit_years=CASE_REFIT_YEARS)


def precompute_backtests(store, series: pd.DataFrame, target_ids: list[str], freq: str, as_ofs: list[dt.date],
                         horizon: str) -> pd.DataFrame:
    """One backtest serving every target at every as-of (eval runs, reports): the union of their case series
    and case origins. `situation.prepare(backtests=...)` then selects each situation's rows from it."""
    ids = sorted({i for uid in target_ids for i in backtest_series(series, uid)})
    origins = sorted({o for a in as_ofs for o in miss_origins(a, horizon, freq)})
    return backtest(store, ids, freq, origins, horizon)


def backtests_for(store, series: pd.DataFrame, target_id: str, freq: str, as_of: dt.date, horizon: str,
                  precomputed: pd.DataFrame | None = None, panel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The backtest rows one situation's past cases and misses are drawn from (`panel`: the case series' rows,
    uncut): every origin of `miss_origins` (the cases use the latest `case_origins` of them)."""
    ids, origins = backtest_series(series, target_id), miss_origins(as_of, horizon, freq)
    if precomputed is None:
        return backtest(store, ids, freq, origins, horizon, panel=panel)
    by_id = _by_series(precomputed)
    parts = [by_id[i] for i in ids if i in by_id]
    if not parts:
        return precomputed.iloc[:0].reset_index(drop=True)
    rows = pd.concat(parts) if len(parts) > 1 else parts[0]
    rows = rows[pd.to_datetime(rows["origin"]).isin(pd.to_datetime(pd.Series(origins)))]
    return rows.sort_index().reset_index(drop=True)  # the precomputed frame's row order, as a filter would give


_INDEXED: list = [None, {}]  # [the last precomputed frame, its rows by series id]: reports ask it thousands of times


def _by_series(precomputed: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if _INDEXED[0] is not precomputed:
        _INDEXED[:] = [precomputed, {str(k): g for k, g in precomputed.groupby("unique_id", sort=False)}]
    return _INDEXED[1]
