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
from collections.abc import Callable
from concurrent.futures import as_completed
from typing import Any

from trendcast.agent import workspace
from trendcast.agent.situation.backtest_warm import backtest_chunk as _backtests
from trendcast.agent.question.resolve import Target
from trendcast.agent.settings import Settings
from trendcast.common.processes import WorkerPool

CHUNKS_PER_WORKER = 4  # backtest tasks per worker: small enough to balance, big enough to amortise


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def precompute(settings: Settings, series, targets: list[Target], *, as_of: dt.date, horizon: str,
               need_cases: bool, workers: int, progress=None) -> dict:
    """Baselines by series id (only those that worked); the situation cache warmed as a side effect."""
    from trendcast.agent.situation.casebook import backtest_series, miss_origins

    db = str(settings.sales_db)
    # (function, its arguments, the series id its result is the baseline of; None: warms the cache only)
    tasks: list[tuple[Callable[..., Any], tuple[Any, ...], str | None]] = [
        (_baseline, (settings, t, as_of, horizon), t.series_id) for t in targets]
    if need_cases:
        by_freq: dict[str, list[str]] = {}
        for t in targets:
            ids = by_freq.setdefault(t.freq, [])
            ids += [i for i in backtest_series(series, t.series_id) if i not in ids]
        for freq, ids in by_freq.items():
            origins = miss_origins(as_of, horizon, freq)
            n = max(1, min(len(ids), workers * CHUNKS_PER_WORKER))
            tasks += [(_backtests, (db, ids[i::n], freq, origins, horizon), None) for i in range(n) if origins]
    if progress is not None:
        progress.phase(f"fits ({workers} processes)", len(tasks))
    baselines = {}
    with WorkerPool(workers) as pool:  # spawned; they die with this process; an interrupt terminates them
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


def _baseline(settings: Settings, target: Target, as_of: dt.date, horizon: str):
    """What prepare() fits for one category (the same observed history and period, through the same cache)."""
    from trendcast.agent.situation.build import cached_baseline, observed_history
    from trendcast.forecasting.periods import resolve_period

    try:
        as_of, history = observed_history(workspace.sales_store(settings), target, as_of)
    except Exception:  # too little history: prepare() reports it
        return None
    return cached_baseline(settings, history, target.freq, resolve_period(horizon, as_of, target.freq), as_of)
