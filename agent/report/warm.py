"""The report's heavy statistics, spread over worker processes before the categories are prepared one by one.

`prepare` fits each category's baseline and backtests its related series (the past cases) one category at a time
in one process. For a report that is most of the run, and it is CPU-bound (scipy optimisers under the GIL):
threads do not help, processes do. Here, before `prepare` runs, worker processes compute (1) every
category's baseline, through the workspace's baseline cache as `prepare` would, passed to `prepare(baseline=...)`,
and (2) the backtests of every related series, written to the sales store's situation cache (multi-process safe),
which `prepare` then reads instead of fitting. Same inputs, same functions, same results as `prepare` alone: only
where and when they are computed changes (tests/test_report_build.py checks that `prepare` is left nothing to
fit). A worker's failure is not an error: `prepare` then computes that piece itself (and reports a failure of its
own, if there is one).
"""
from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from agent import workspace
from agent.resolve import Target
from agent.settings import Settings

CHUNKS_PER_WORKER = 4  # backtest tasks per worker: small enough to balance, big enough to amortise


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def precompute(settings: Settings, series, targets: list[Target], *, as_of: dt.date, horizon: str,
               need_cases: bool, workers: int, progress=None) -> dict:
    """Baselines by series id (only those that worked); the situation cache warmed as a side effect."""
    from agent.cases import origins_before, related_series
    from agent.pipeline import CASE_LOOKBACK, CASE_MODEL, CASE_SERIES

    db = str(settings.sales_db)
    tasks = [(_baseline, (settings, t.series_id, t.freq, as_of, horizon), t.series_id) for t in targets]
    if need_cases:
        h = "next-month" if horizon.startswith("month:") else horizon
        by_freq: dict[str, list[str]] = {}
        for t in targets:
            ids = by_freq.setdefault(t.freq, [])
            ids += [i for i in related_series(series, t.series_id, CASE_SERIES) if i not in ids]
        for freq, ids in by_freq.items():
            origins = origins_before(as_of, horizon, freq, CASE_LOOKBACK)
            n = max(1, min(len(ids), workers * CHUNKS_PER_WORKER))
            tasks += [(_backtests, (db, ids[i::n], freq, origins, h, CASE_MODEL), None) for i in range(n)
                      if origins]
    if progress is not None:
        progress.phase(f"fits ({workers} processes)", len(tasks))
    baselines = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(fn, *args): key for fn, args, key in tasks}
        for fut in as_completed(futures):
            key = futures[fut]
            try:
                result = fut.result()
            except Exception:  # prepare() will compute it again and report its own failure
                result = None
            if key is not None and result is not None:
                baselines[key] = result
            if progress is not None:
                progress.advance()
    return baselines


def _baseline(settings: Settings, series_id: str, freq: str, as_of: dt.date, horizon: str):
    """What prepare() fits for one category (same history cut and period, through the same baseline cache)."""
    import pandas as pd

    from agent.pipeline import cached_baseline
    from forecasting.periods import resolve_period

    history = workspace.sales_store(settings).history(series_id)
    history = history[pd.to_datetime(history["ds"]) <= pd.Timestamp(as_of)].reset_index(drop=True)
    if len(history) < 3:
        return None
    return cached_baseline(settings, history, freq, resolve_period(horizon, as_of, freq), as_of)


def _backtests(db: str, ids: list[str], freq: str, origins, horizon: str, model: str) -> None:
    """Backtest these series into the store's situation cache, exactly as prepare()'s past cases would."""
    from forecasting.backtest import backtest_situations
    from forecasting.store import SalesStore

    store = SalesStore(db, lock_timeout_s=60.0)
    panel = store.panel(ids)  # uncut, as prepare() backtests it (each fit sees data up to its origin only)
    if not panel.empty:
        from agent.pipeline import CASE_REFIT_YEARS

        backtest_situations(panel, freq, origins, horizon, model=model, store=store, refit_years=CASE_REFIT_YEARS)
    return None
