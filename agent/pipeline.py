"""Question → answer. Resolve the target, baseline, evidence, past cases, adjust, assemble the Answer."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agent import workspace
from agent.adjusters import AdjustmentResult, direction_of, get_adjuster
from agent.answer import (AdjustmentOut, Answer, BaselineOut, EvidenceOut, ForecastOut, HistoryOut, PeriodOut,
                          TargetOut)
from agent.cases import PastCase, break_warning, find_cases, origins_before, related_series
from agent.periods import pct_change, period_total, previous_period, year_ago
from agent.question import QuestionError, parse_question
from agent.resolve import Target, resolve_category
from agent.settings import Settings

CASE_LOOKBACK = 36  # past origins considered for analogues / few-shot examples
CASE_SERIES = 8  # related series considered
CASE_MODEL = "AutoETS"  # cheap backtest baseline of past cases
CASE_REFIT_YEARS = 2  # its parameters are re-estimated every 2nd 31 December (states still run to each origin)


@dataclass
class Situation:
    """Everything an adjuster may see — all of it dated on or before as_of."""
    question: str
    target: Target
    as_of: dt.date
    horizon: str
    period: object  # forecasting.periods.Period
    history: pd.DataFrame
    baseline: object  # forecasting.baseline.BaselineForecast
    last_period_total: float | None
    same_period_last_year: float | None
    evidence: list = field(default_factory=list)
    cases: list[PastCase] = field(default_factory=list)
    unit: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Context:
    """Evidence and news-climate lookups against the workspace index (absent index → empty, with a warning)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.index = workspace.open_index(settings) if workspace.index_exists(settings) else None

    def evidence(self, query_vecs, as_of: dt.date, k: int):
        """The k best documents dated in (as_of - window, as_of] over the situation's queries (MMR-diversified
        per query, merged by score); the whole past when the window holds none."""
        if self.index is None or query_vecs is None:
            return []
        since = as_of - dt.timedelta(days=self.settings.evidence_window_days - 1)
        per_query = max(k // len(query_vecs) + 2, 3)
        hits = [h for v in query_vecs for h in self.index.search(v, as_of=as_of, since=since, k=per_query, mmr=0.7)]
        if not hits:
            hits = [h for v in query_vecs for h in self.index.search(v, as_of=as_of, k=per_query, mmr=0.7)]
        best: dict = {}
        for h in sorted(hits, key=lambda h: -h.score):
            best.setdefault(h.doc_id, h)
        return list(best.values())[:k]

    def climate(self, hits) -> np.ndarray | None:
        if not hits:
            return None
        v = self.index.vectors([h.doc_id for h in hits]).mean(axis=0)
        n = np.linalg.norm(v)
        return v / n if n > 0 else None


def _past_cases(settings, store, series, target, as_of, horizon, ctx: Context, query_vec) -> list[PastCase]:
    from forecasting.backtest import backtest_situations

    origins = origins_before(as_of, horizon, target.freq, CASE_LOOKBACK)
    if not origins:
        return []
    ids = related_series(series, target.series_id, CASE_SERIES)
    # The backtest gets the whole series, not a cut at as_of: each situation's baseline is fitted on data up to its
    # own origin only (forecasting.backtest guarantees and tests it), so nothing after as_of reaches a baseline, and
    # find_cases keeps only cases whose outcome period ended by as_of. Uncut, the backtest cache key is the same for
    # every as_of, so asks, reports and eval origins share one backtest per series.
    full = store.panel(ids)
    h = "next-month" if horizon.startswith("month:") else horizon
    bt = backtest_situations(full, target.freq, origins, h, model=CASE_MODEL, store=store,
                             refit_years=CASE_REFIT_YEARS)
    panel = full[pd.to_datetime(full["ds"]) <= pd.Timestamp(as_of)]

    def context_at(origin):
        hits = ctx.evidence(query_vec, origin, 6)
        return ctx.climate(hits), hits

    now = ctx.climate(ctx.evidence(query_vec, as_of, 8))
    return find_cases(target=target, series=series, panel=panel, as_of=as_of, horizon=horizon, backtests=bt,
                      context_at=context_at, now_context=now)


def cached_baseline(settings: Settings, history: pd.DataFrame, freq: str, period, as_of: dt.date):
    """forecast_period through the workspace's baseline cache."""
    from agent.baseline_cache import BaselineCache, cache_key

    cache = BaselineCache(settings.home / "baselines.sqlite")
    key = cache_key(history, freq, period, as_of, settings.baseline_models, settings.train_window)
    hit = cache.get(key, period, as_of)
    if hit is not None:
        return hit
    from forecasting.baseline import forecast_period

    baseline = forecast_period(history, freq, period, as_of=as_of, models=settings.baseline_models,
                               train_window=settings.train_window)
    cache.put(key, baseline)
    return baseline


def prepare(settings: Settings, target: Target, *, question: str, as_of: dt.date | None, horizon: str,
            need_cases: bool, series: pd.DataFrame, ctx: Context, store, baseline=None) -> Situation:
    """Gather what an adjuster may see. `baseline` (a BaselineForecast) skips the fit — eval computes its
    baselines in bulk with cross-validation and passes them in."""
    from forecasting.periods import default_as_of, resolve_period

    t0 = time.perf_counter()
    history = store.history(target.series_id)
    if history.empty:
        raise QuestionError(f"series {target.series_id!r} has no observations")
    as_of = as_of or default_as_of(history, target.freq)
    history = history[pd.to_datetime(history["ds"]) <= pd.Timestamp(as_of)].reset_index(drop=True)
    if len(history) < 3:
        raise QuestionError(f"{target.name}: fewer than 3 observations on or before {as_of}")
    period = resolve_period(horizon, as_of, target.freq)
    timings = {}
    if baseline is None:
        baseline = cached_baseline(settings, history, target.freq, period, as_of)
    timings["baseline_s"] = time.perf_counter() - t0
    n_steps = len(baseline.steps)
    warnings = list(baseline.warnings)
    t1 = time.perf_counter()
    qvec = None
    if ctx.index is not None:
        qvec = workspace.query_vectors(settings, workspace.situation_queries(target.name))
    else:
        warnings.append("no document index in the workspace (run `trendcast ingest docs` and `trendcast index`): "
                        "no evidence")
    evidence = ctx.evidence(qvec, as_of, settings.n_evidence)
    timings["evidence_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    cases = _past_cases(settings, store, series, target, as_of, horizon, ctx, qvec) if need_cases else []
    timings["cases_s"] = time.perf_counter() - t2
    brk = break_warning(cases, target.series_id, as_of)
    if brk:
        warnings.append(brk)
    from agent.demo import UNITS

    row = series.loc[series["unique_id"] == target.series_id]
    unit = UNITS.get(str(row["dataset"].iloc[0])) if not row.empty and "dataset" in row else None
    return Situation(
        question=question, target=target, as_of=as_of, horizon=horizon, period=period, history=history, unit=unit,
        baseline=baseline,
        last_period_total=period_total(history, previous_period(period), None if n_steps > 1 else 1),
        same_period_last_year=period_total(history, year_ago(period)),
        evidence=evidence, cases=cases, warnings=warnings, timings=timings)


def assemble(sit: Situation, adj: AdjustmentResult, settings: Settings) -> Answer:
    from forecasting.adjust import apply_adjustment

    b = sit.baseline
    f = apply_adjustment(b, adj.pct)
    recent = sit.history.tail(36)
    return Answer(
        question=sit.question,
        target=TargetOut(series_id=sit.target.series_id, name=sit.target.name, level=sit.target.level,
                         resolved_by=sit.target.resolved_by),
        as_of=sit.as_of, period=PeriodOut(start=sit.period.start, end=sit.period.end), horizon=sit.horizon,
        unit=sit.unit,
        history=HistoryOut(last_period_total=sit.last_period_total, same_period_last_year=sit.same_period_last_year,
                           recent=[(pd.Timestamp(d).date(), float(y)) for d, y in zip(recent["ds"], recent["y"])]),
        baseline=BaselineOut(model=b.model, total=b.total, lo_80=b.lo_80, hi_80=b.hi_80, lo_95=b.lo_95,
                             hi_95=b.hi_95, members=dict(b.members)),
        adjustment=AdjustmentOut(source=adj.source, model=adj.model, prompt=adj.prompt, pct=round(adj.pct, 4),
                                 direction=adj.direction, confidence=adj.confidence, rationale=adj.rationale,
                                 evidence_ids=adj.evidence_ids, drivers=adj.drivers, attempts=adj.attempts,
                                 cached=adj.cached),
        forecast=ForecastOut(
            total=f["total"], lo_80=f["lo_80"], hi_80=f["hi_80"], lo_95=f["lo_95"], hi_95=f["hi_95"],
            change_vs_last_period_pct=pct_change(f["total"], sit.last_period_total),
            change_vs_last_year_pct=pct_change(f["total"], sit.same_period_last_year),
            direction=direction_of(pct_change(f["total"], sit.last_period_total) or 0.0, settings.flat_band_pct)),
        evidence=[EvidenceOut(id=h.id, date=h.date, kind=h.kind, source=h.source, text=h.text,
                              score=round(float(h.score), 4)) for h in sit.evidence],
        warnings=sit.warnings + adj.warnings, timings={k: round(v, 3) for k, v in sit.timings.items()})


def choose_adjuster(settings: Settings, name: str | None) -> str:
    return name or ("llm" if settings.llm.configured else "analog")


def answer_batch(settings: Settings, targets: list[Target], *, as_of: dt.date | None = None,
                 horizon: str = "next-month", adjuster: str | None = None, question: str | None = None,
                 progress=None, **deps) -> list[Answer]:
    """Answers for many targets: situations one by one, then one concurrent batch through the adjuster."""
    name = choose_adjuster(settings, adjuster)
    store = workspace.sales_store(settings)
    series = store.series()
    ctx = Context(settings)
    sits = [prepare(settings, t, question=question or f"how will {t.name} trend ({horizon})?", as_of=as_of,
                    horizon=horizon, need_cases=name != "none", series=series, ctx=ctx, store=store)
            for t in targets]
    t0 = time.perf_counter()
    adj = get_adjuster(name, settings, **deps)
    results = adj.adjust_many(sits, progress=progress)
    for s in sits:
        s.timings["adjust_s"] = (time.perf_counter() - t0) / max(len(sits), 1)
    return [assemble(s, r, settings) for s, r in zip(sits, results)]


def answer(settings: Settings, question: str, *, as_of: dt.date | None = None, horizon: str | None = None,
           series_id: str | None = None, adjuster: str | None = None, **deps) -> Answer:
    parsed = parse_question(question) if not series_id else None
    store = workspace.sales_store(settings)
    table = store.series()
    if series_id:
        hit = table[table["unique_id"] == series_id]
        if hit.empty:
            raise QuestionError(f"no series with id {series_id!r} (see `trendcast series`)")
        r = hit.iloc[0]
        target = Target(series_id, str(r["name"]), str(r["level"]), "id", str(r["freq"]))
    else:
        target = resolve_category(parsed.category, table, semantic=_semantic(settings))
    h = horizon or (parsed.horizon if parsed else "next-month")
    return answer_batch(settings, [target], as_of=as_of, horizon=h, adjuster=adjuster, question=question,
                        **deps)[0]


def _semantic(settings: Settings):
    """Semantic category matching (last resort): cosine of the text to each series name's embedding."""
    def match(text: str, names: list[str]):
        vecs = workspace.query_vectors(settings, [text] + names)
        return vecs[1:] @ vecs[0]
    return match
