"""The report's statistics in bulk, for a whole chain: every baseline in one StatsForecast `forecast` call per plan on
the chosen engine, every past-case backtest once, before the categories are prepared (with nothing left to fit).

`agent.report.warm.precompute` fits one category per task in local worker processes (~3 s of AutoETS + AutoARIMA
per weekly Walmart series): fine for a level of 45 stores, hours for 3,331 store x department series. Here, when a
report has more than BULK_MIN targets or the engine setting is not local:
1. baselines: each target's observed history (`agent.situation.observed_history`, as `prepare` reads it) and
   period; the workspace's baseline cache is read first (same key as `cached_baseline`), the rest go through
   `forecasting.bulk.bulk_baselines` on the session of `forecasting.distributed.engine_session` and are written to
   the cache. A target the bulk call cannot do (a failed series) is left to `prepare`, which
   fits it itself.
2. backtests (carry / analog / llm adjusters): the related series of every target, backtested into the sales
   store's situation cache in chunks by `agent.backtest_warm` — on the Dask workers for engine dask, in local
   worker processes otherwise — then read back in ONE `agent.casebook.precompute_backtests` call, passed to
   `prepare`.
   Cost, measured on the Walmart panel (3,376 weekly series, miss_origins' 239 origins of which ~30 inside the data):
   ~0.6 s per series, one AutoETS fit per refit anchor dominating, not the origins; so the origins are not cut.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING

from trendcast.agent import workspace
from trendcast.agent.question.resolve import Target
from trendcast.agent.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from trendcast.forecasting.baseline import BaselineForecast
    from trendcast.forecasting.periods import Period

BULK_MIN = 200  # more targets than this (or an engine other than local): the bulk path


def use_bulk(settings: Settings, targets: list[Target]) -> bool:
    return len(targets) > BULK_MIN or settings.engine != "local"


def bulk_precompute(settings: Settings, series, targets: list[Target], *, as_of: dt.date, horizon: str,
                    need_cases: bool, workers: int, progress=None
                    ) -> tuple[dict[str, BaselineForecast], pd.DataFrame | None, dict[str, float]]:
    """(baselines by series id, the precomputed backtests or None, timings in seconds)."""
    from trendcast.forecasting.distributed import engine_session

    timings: dict[str, float] = {}
    with engine_session(settings.engine, settings.engine_address, workers) as session:
        t0 = time.perf_counter()
        baselines = _baselines(settings, targets, as_of, horizon, session, workers, progress)
        timings["bulk_baselines_s"] = round(time.perf_counter() - t0, 3)
        backtests = None
        if need_cases:
            t1 = time.perf_counter()
            backtests = _backtests(settings, series, targets, as_of, horizon, session, workers, progress)
            timings["bulk_backtests_s"] = round(time.perf_counter() - t1, 3)
    return baselines, backtests, timings


def _baselines(settings, targets, as_of, horizon, session, workers, progress) -> dict:
    from trendcast.agent.situation.baseline_cache import BaselineCache, cache_key
    from trendcast.agent.situation.build import observed_history
    from trendcast.forecasting.bulk import bulk_baselines
    from trendcast.forecasting.frequency import freq_kind
    from trendcast.forecasting.periods import resolve_period

    store = workspace.sales_store(settings)
    cache = BaselineCache(settings.home / "baselines.sqlite")
    out: dict[str, BaselineForecast] = {}
    todo: dict[tuple[str, Period, dt.date], dict[str, pd.DataFrame]] = {}  # (freq, period, as-of) -> {id: history}
    keys = {}
    if progress is not None:
        progress.phase("histories", len(targets))
    for t in targets:
        if progress is not None:
            progress.advance()
        if settings.calendar_effects and freq_kind(t.freq) == "M":
            continue  # calendar effects: prepare() fits it (forecast_period(calendar=True)), as `ask` does
        try:
            t_as_of, history = observed_history(store, t, as_of)
            period = resolve_period(horizon, t_as_of, t.freq)
        except Exception:  # too little history: prepare() reports it
            continue
        keys[t.series_id] = key = cache_key(history, t.freq, period, t_as_of, settings.baseline_models,
                                            settings.train_window)
        hit = cache.get(key, period, t_as_of)
        if hit is not None:
            out[t.series_id] = hit
        else:
            todo.setdefault((t.freq, period, t_as_of), {})[t.series_id] = history
    n = sum(len(v) for v in todo.values())
    if progress is not None:
        progress.phase(f"baselines in bulk ({n} series, {session.describe()})", max(len(todo), 1))
    for (freq, period, t_as_of), histories in todo.items():
        got, _errors = bulk_baselines(histories, freq, period, t_as_of, settings.baseline_models,
                                      settings.train_window, session=session, n_jobs=workers)
        for uid, b in got.items():  # _errors: prepare() fits those itself and reports its own failure
            cache.put(keys[uid], b)
        out.update(got)
        if progress is not None:
            progress.advance()
    return out


def _backtests(settings, series, targets, as_of, horizon, session, workers, progress):
    import pandas as pd

    from trendcast.agent.situation.backtest_warm import warm
    from trendcast.agent.situation.casebook import precompute_backtests

    by_freq: dict[str, list[Target]] = {}
    for t in targets:
        by_freq.setdefault(t.freq, []).append(t)
    for freq, ts in by_freq.items():
        warm(str(settings.sales_db), series, [t.series_id for t in ts], freq, [as_of], horizon, session, workers,
             progress)
    store = workspace.sales_store(settings)
    parts = [precompute_backtests(store, series, [t.series_id for t in ts], freq, [as_of], horizon)
             for freq, ts in by_freq.items()]
    return pd.concat(parts, ignore_index=True) if parts else None


def servers_down(results) -> list[str]:
    """The report's batch warnings for LLM servers that were out of the rotation: one line per server (the
    answers' ``llm_server_down`` notes, agent.llm.pool's ``LLM server <url> was taken out ...``; each answer's note
    carries its own seconds-left and servers-answering figures: the last one seen per server is kept)."""
    import re

    from trendcast.agent.warning_codes import LLM_SERVER_DOWN

    by_server: dict[str, str] = {}
    for r in results:
        for w in getattr(r, "warnings", []):
            if getattr(w, "code", None) == LLM_SERVER_DOWN:
                m = re.match(r"LLM server (\S+) ", w.message)
                by_server[m.group(1) if m else w.message] = w.message
    return list(by_server.values())
