"""A situation: everything an adjuster may see for one (series, as-of, horizon) — all of it known at as-of.

`prepare` gathers it: the history observed by as-of (forecasting.history.observed, the one clock), the baseline
(through the workspace cache, or given), the comparison spans, the evidence as of as-of and the past cases whose
outcomes were observed by then.
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trendcast.agent import workspace
from trendcast.agent.situation.cases import PastCase, find_cases
from trendcast.agent.situation.casebook import backtest_series, backtests_for, case_origins, case_series, miss_series
from trendcast.agent.evidence.search import EvidenceSearch, category_of
from trendcast.agent.question.parse import QuestionError
from trendcast.agent.question.resolve import Target
from trendcast.agent.settings import Settings
from trendcast.agent.warning_codes import BASELINE, BREAK, NO_INDEX, NO_SPECIFIC_EVIDENCE, WarningOut, warn

if TYPE_CHECKING:
    from trendcast.agent.situation.events import EventEffect
    from trendcast.forecasting.baseline import BaselineForecast
    from trendcast.forecasting.comparisons import Span
    from trendcast.forecasting.periods import Period

MIN_HISTORY = 3  # observations a situation needs


@dataclass
class Situation:
    """Everything an adjuster may see — all of it observed or dated on or before as_of."""
    question: str
    target: Target
    as_of: dt.date
    horizon: str
    period: Period
    history: pd.DataFrame  # ds, y: the periods ended by as_of
    baseline: BaselineForecast
    last: Span | None  # the same number of steps just before the period
    last_year: Span | None  # the period's steps a year earlier
    evidence: list = field(default_factory=list)
    cases: list[PastCase] = field(default_factory=list)
    # backtest rows (casebook.backtests_for) of the target and its related series at every `miss_origins` origin,
    # outcomes observed by as_of only: what agent.carry learns from
    misses: pd.DataFrame | None = None
    # how far recent breaks extend the answer's interval down and up (log units, agent.carry.break_extents;
    # forecasting.conformal)
    break_extent: tuple[float, float] = (0.0, 0.0)
    # events inside the period known by as_of (agent.events.Scheduled) and what the same events did before
    scheduled: list = field(default_factory=list)
    event_effect: EventEffect | None = None
    unit: str | None = None
    warnings: list[WarningOut] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def last_period_total(self) -> float | None:
        return None if self.last is None else self.last.total

    @property
    def same_period_last_year(self) -> float | None:
        return None if self.last_year is None else self.last_year.total


def observed_history(store, target: Target, as_of: dt.date | None) -> tuple[dt.date, pd.DataFrame]:
    """(as_of, the target's history observed by it); as_of defaults to the end of the last observed period."""
    from trendcast.forecasting.history import observed
    from trendcast.forecasting.periods import default_as_of

    history = store.history(target.series_id)
    if history.empty:
        raise QuestionError(f"series {target.series_id!r} has no observations")
    as_of = as_of or default_as_of(history, target.freq)
    history = observed(history, target.freq, as_of)
    if len(history) < MIN_HISTORY:
        raise QuestionError(f"{target.name}: fewer than {MIN_HISTORY} observations ended by {as_of}")
    return as_of, history


def cached_baseline(settings: Settings, history: pd.DataFrame, freq: str, period, as_of: dt.date):
    """forecast_period through the workspace's baseline cache."""
    from trendcast.agent.situation.baseline_cache import BaselineCache, cache_key

    cache = BaselineCache(settings.home / "baselines.sqlite")
    key = cache_key(history, freq, period, as_of, settings.baseline_models, settings.train_window,
                    settings.calendar_effects)
    hit = cache.get(key, period, as_of)
    if hit is not None:
        return hit
    from trendcast.forecasting.baseline import forecast_period

    baseline = forecast_period(history, freq, period, as_of=as_of, models=settings.baseline_models,
                               train_window=settings.train_window, calendar=settings.calendar_effects)
    cache.put(key, baseline)
    return baseline


def _past_cases(store, series, target: Target, as_of, horizon, search: EvidenceSearch, query_vec,
                backtests) -> tuple[list[PastCase], pd.DataFrame]:
    """The past cases (at `case_origins`) and the backtest rows of every `miss_origins` origin, outcomes known by
    as_of only."""
    from trendcast.forecasting.history import observed
    from trendcast.forecasting.periods import known_dates

    full = store.panel(backtest_series(series, target.series_id))
    bt = backtests_for(store, series, target.series_id, target.freq, as_of, horizon, backtests, panel=full)
    if bt.empty:
        return [], bt
    known = known_dates(bt["period_start"], bt["period_end"], target.freq) <= np.datetime64(as_of)
    known_bt = bt.loc[known].reset_index(drop=True)
    misses = known_bt[known_bt["unique_id"].isin(miss_series(series, target.series_id))].reset_index(drop=True)
    recent = pd.to_datetime(pd.Series(case_origins(as_of, horizon, target.freq)))
    bt = known_bt[pd.to_datetime(known_bt["origin"]).isin(recent)
                  & known_bt["unique_id"].isin(case_series(series, target.series_id))]
    if bt.empty:
        return [], misses
    panel = observed(full, target.freq, as_of)

    def context_at(origin):
        hits = search.evidence(query_vec, origin, 6)
        return search.climate(hits), hits

    now = search.climate(search.evidence(query_vec, as_of, 8))
    return find_cases(target=target, series=series, panel=panel, as_of=as_of, horizon=horizon, backtests=bt,
                      context_at=context_at, now_context=now), misses


def prepare(settings: Settings, target: Target, *, question: str, as_of: dt.date | None, horizon: str,
            need_cases: bool, series: pd.DataFrame, search: EvidenceSearch, store, baseline=None,
            backtests: pd.DataFrame | None = None) -> Situation:
    """Gather what an adjuster may see. `baseline` (a BaselineForecast) skips the fit (eval computes baselines in
    bulk, reports in worker processes); `backtests` (casebook.precompute_backtests) skips the case backtests."""
    from trendcast.forecasting.comparisons import last_steps, year_ago
    from trendcast.forecasting.periods import resolve_period

    t0 = time.perf_counter()
    as_of, history = observed_history(store, target, as_of)
    period = resolve_period(horizon, as_of, target.freq)
    timings = {}
    if baseline is None:
        baseline = cached_baseline(settings, history, target.freq, period, as_of)
    timings["baseline_s"] = time.perf_counter() - t0
    from trendcast.agent.situation.staleness import data_warnings, evidence_warning

    warnings = data_warnings(series, target, history, as_of) + [warn(BASELINE, w) for w in baseline.warnings]
    t1 = time.perf_counter()
    qvec = search.query_vectors(target.name)
    if search.index is None:
        warnings.append(warn(NO_INDEX, "no document index in the workspace (run `trendcast ingest docs` and "
                                       "`trendcast index`): no evidence"))
    evidence = search.category_evidence(category_of(series, target), qvec, as_of, settings.n_evidence,
                                        series_names=series["name"] if series is not None else ())
    if search.index is not None and not evidence and settings.n_evidence:
        warnings.append(warn(NO_SPECIFIC_EVIDENCE, f"no specific evidence: nothing in the index dated by {as_of} is "
                                                   f"about {target.name} rather than shopping in general; none cited"))
    stale = evidence_warning(evidence, as_of, settings.evidence_window_days)
    warnings += [stale] if stale else []
    timings["evidence_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    cases, misses = (_past_cases(store, series, target, as_of, horizon, search, qvec, backtests) if need_cases
                     else ([], None))
    timings["cases_s"] = time.perf_counter() - t2
    extent = (0.0, 0.0)
    if misses is not None and not misses.empty:
        from trendcast.agent.situation.misses import break_extents, break_text, latest_miss

        miss = latest_miss(misses, target.series_id, target.freq, as_of)
        text = break_text(miss, target.freq) if miss is not None else None  # None: not a break
        if text is not None:
            warnings.append(warn(BREAK, text))
        extent = break_extents(misses, target.series_id, target.freq, as_of)
    scheduled, effect = _events(settings, series, target, period, as_of, misses)
    return Situation(
        question=question, target=target, as_of=as_of, horizon=horizon, period=period, history=history,
        unit=workspace.unit_of(series, target.series_id), baseline=baseline,
        last=last_steps(history, target.freq, period, as_of), last_year=year_ago(history, target.freq, period, as_of),
        evidence=evidence, cases=cases, misses=misses, break_extent=extent, scheduled=scheduled,
        event_effect=effect, warnings=warnings, timings=timings)


def _events(settings: Settings, series: pd.DataFrame, target: Target, period, as_of: dt.date, misses):
    """The events scheduled inside the period known by as_of, and their past effect (agent.events)."""
    from trendcast.agent.situation import events
    
    docs = workspace.doc_store(settings)
    tags = events.series_tags(series, target.series_id, target.name)
    found = events.scheduled(docs, tags, period.start, period.end, as_of)
    return found, events.effect(docs, found, misses, target.series_id, period.start, as_of, period.end)
