"""Answer assembly: (situation, adjustment) → the Answer of the `ask --json` contract.

`adjusted_forecast` is THE function that turns a baseline and an adjustment into the forecast an answer shows;
`ask`, `report` and eval all call it (eval scores exactly what the product answers).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pandas as pd

from trendcast.agent.adjusters.registry import AdjustmentResult
from trendcast.agent.answer.model import (AdjustmentOut, Answer, EvidenceOut, ForecastOut, HistoryOut, PeriodOut,
                          ScheduledOut,
                          SpanOut, TargetOut)
from trendcast.agent.answer.direction_note import direction_note
from trendcast.agent.settings import Settings
from trendcast.agent.answer.steps import period_steps
from trendcast.agent.warning_codes import BREAK, FLAGGED_EVIDENCE, WarningOut, has, warn

if TYPE_CHECKING:
    from trendcast.agent.trust.learn import Learned

RECENT = 36  # history points an answer carries for sparklines and charts


def adjusted_forecast(baseline, pct: float, *, last_total: float | None, last_year_total: float | None,
                      flat_band_pct: float, learned=None, ext: tuple[float, float] = (0.0, 0.0),
                      floor: float | None = None, ceiling: float | None = None) -> ForecastOut:
    """The forecast: the baseline's total times (1 + pct / 100), its change against the comparison totals (None
    when unknown) and its direction (None when the last period is unknown).

    Without `learned` (an agent.trust.Learned: the proposal's record) pct is applied as given and the baseline's
    bounds move with it (the raw variants of eval). With it, pct is the *proposal*: the change applied is the
    trusted one and the 80/95 % bounds come from the record's own past errors (forecasting.conformal), widened on
    either side by recent breaks (`ext`: Situation.break_extent, agent.carry.break_extents). `floor` (0 for data
    that is never negative, `floor_of`): the total and bounds are raised to it where below. A baseline whose total
    is not positive (a department clipped to 0) has no log-scale spread: its own bounds move with the applied
    change instead, so the answer never carries NaN bounds. `ceiling` (`ceiling_of`): no bound above it (nor
    below the total)."""
    from trendcast.forecasting import conformal
    from trendcast.forecasting.adjust import apply_adjustment, direction
    from trendcast.forecasting.comparisons import pct_change

    if learned is None:
        f = apply_adjustment(baseline, pct)
    else:
        import math

        applied = learned.applied(pct)
        total = baseline.total * (1.0 + applied / 100.0)
        sigma = conformal.log_sigma(baseline.total, baseline.lo_80, baseline.hi_80)
        if math.isfinite(sigma):
            f = {"total": total, **conformal.bounds(total, sigma, math.log1p(applied / 100.0), learned.q, ext)}
        else:
            f = apply_adjustment(baseline, applied)
    f, _ = conformal.clip_at(f, floor)
    if ceiling is not None:
        top = max(ceiling, f["total"])
        f = {k: (min(v, top) if k != "total" else v) for k, v in f.items()}
    vs_last = pct_change(f["total"], last_total)
    return ForecastOut(total=f["total"], lo_80=f["lo_80"], hi_80=f["hi_80"], lo_95=f["lo_95"], hi_95=f["hi_95"],
                       change_vs_last_period_pct=vs_last,
                       change_vs_last_year_pct=pct_change(f["total"], last_year_total),
                       direction=direction(vs_last, flat_band_pct))


def floor_of(history) -> float | None:
    """0 for a history that is never negative (its forecast and bounds are clipped there), else None."""
    y = history["y"] if history is not None and len(history) else None
    return 0.0 if y is not None and float(y.min()) >= 0 else None


CEILING_FACTOR = 10.0  # no bound above this many times the series' largest step, times the period's steps


def ceiling_of(history, steps: int) -> float | None:
    """CEILING_FACTOR x the largest value the history ever had x the period's steps: bounds above it say nothing
    (a sparse Walmart department's log-scale spread once put its 95 % bound at 2e30 on a forecast of 4). None for a
    history with no positive value."""
    if history is None or not len(history):
        return None
    top = float(history["y"].max())
    return CEILING_FACTOR * top * max(int(steps), 1) if top > 0 else None


def situation_forecast(sit, adj: AdjustmentResult, settings: Settings, *, clip: bool = True,
                       cap: bool = True) -> ForecastOut:
    """`adjusted_forecast` for a prepared situation (trusted when the result carries its record's trust), clipped
    at 0 for non-negative history unless `clip` is False, bounds capped at `ceiling_of` unless `cap` is False."""
    pct = adj.pct
    if adj.trust is not None:
        assert adj.proposed_pct is not None  # agent.trust.record.apply_trust sets both
        pct = adj.proposed_pct
    steps = getattr(sit.baseline, "steps", None)
    return adjusted_forecast(sit.baseline, pct, last_total=sit.last_period_total,
                             last_year_total=sit.same_period_last_year, flat_band_pct=settings.flat_band_pct,
                             learned=adj.trust, ext=sit.break_extent, floor=floor_of(sit.history) if clip else None,
                             ceiling=ceiling_of(sit.history, 0 if steps is None else len(steps)) if cap else None)



def trusted_forecast(baseline, proposed_pct: float, learned, *, ext: tuple[float, float], last_total: float | None,
                     flat_band_pct: float) -> ForecastOut:
    """`adjusted_forecast` of a proposal weighed by its record — what eval's `+trust` variants score (looked up at
    call time, so the one function stays the one function)."""
    return adjusted_forecast(baseline, proposed_pct, last_total=last_total, last_year_total=None,
                             flat_band_pct=flat_band_pct, learned=learned, ext=ext)


def _span(span) -> SpanOut | None:
    return None if span is None else SpanOut(start=span.start, end=span.end, steps=span.steps)


def _evidence(hits) -> tuple[list[EvidenceOut], list[WarningOut]]:
    """The answer's evidence list, flagged where a text reads like instructions to a model, and a warning each."""
    from trendcast.agent.evidence.injection import flag_evidence, flag_warning

    flags = flag_evidence(hits)
    out = [EvidenceOut(id=h.id, date=h.date, kind=h.kind, source=h.source, text=h.text, score=round(float(h.score), 4),
                       flagged=h.id in flags, flag_reason=flags.get(h.id)) for h in hits]
    return out, [warn(FLAGGED_EVIDENCE, flag_warning(i, why)) for i, why in flags.items()]


def _trust_out(adj: AdjustmentResult) -> dict:
    # set by agent.trust.record.apply_trust only; AdjustmentResult (adjusters: below trust) cannot name the type
    t = cast("Learned | None", adj.trust)
    if t is None:
        return {}
    assert adj.proposed_pct is not None  # agent.trust.record.apply_trust sets both
    return {"proposed_pct": round(adj.proposed_pct, 4), "trust": round(t.weight(adj.proposed_pct), 4),
            "record": {"key": t.key, "trust_down": round(t.down, 4), "trust_up": round(t.up, 4), "n_down": t.n_down,
                       "n_up": t.n_up, "n": t.n, "prior": list(t.prior), "q80": t.q80, "q95": t.q95,
                       "summary": t.describe()}}


def _clipped(sit, adj: AdjustmentResult, settings: Settings, forecast: ForecastOut):
    """The baseline's numbers clipped at the situation's floor, and the `interval_clipped` warning (None: nothing
    clipped)."""
    from trendcast.agent.situation.staleness import clipped_warning
    from trendcast.forecasting import conformal
    from trendcast.forecasting.constants import BOUNDS

    b = sit.baseline
    base, base_clipped = conformal.clip_at({k: getattr(b, k) for k in ("total", *BOUNDS)}, floor_of(sit.history))
    raw = situation_forecast(sit, adj, settings, clip=False)
    f_clipped = [k for k in ("total", *BOUNDS) if getattr(raw, k) != getattr(forecast, k) and getattr(raw, k) < 0]
    uncapped = situation_forecast(sit, adj, settings, cap=False)
    capped = [k for k in BOUNDS if getattr(uncapped, k) != getattr(forecast, k)]
    return base, clipped_warning(base_clipped, f_clipped, capped, CEILING_FACTOR)


def assemble(sit, adj: AdjustmentResult, settings: Settings) -> Answer:
    b = sit.baseline
    evidence, flag_warnings = _evidence(sit.evidence)
    forecast = situation_forecast(sit, adj, settings)
    base, clipped = _clipped(sit, adj, settings, forecast)
    note = direction_note(adjustment_direction=adj.direction, applied_pct=adj.pct, forecast=forecast,
                          baseline_total=base["total"], last_total=sit.last_period_total, last_span=sit.last,
                          period=sit.period, broke=has(sit.warnings, BREAK))
    recent = sit.history.tail(RECENT)
    return Answer(
        question=sit.question,
        target=TargetOut(series_id=sit.target.series_id, name=sit.target.name, level=sit.target.level,
                         resolved_by=sit.target.resolved_by),
        as_of=sit.as_of, period=PeriodOut(start=sit.period.start, end=sit.period.end), horizon=sit.horizon,
        unit=sit.unit,
        history=HistoryOut(last_period_total=sit.last_period_total, same_period_last_year=sit.same_period_last_year,
                           last_period=_span(sit.last), last_year=_span(sit.last_year),
                           recent=[(pd.Timestamp(d).date(), float(y)) for d, y in zip(recent["ds"], recent["y"])]),
        baseline=b.model_copy(update={**{k: float(v) for k, v in base.items()}, "members": dict(b.members)}),
        adjustment=AdjustmentOut(source=adj.source, model=adj.model, prompt=adj.prompt, pct=round(adj.pct, 4),
                                 direction=adj.direction, confidence=adj.confidence, rationale=adj.rationale,
                                 evidence_ids=adj.evidence_ids, drivers=adj.drivers, attempts=adj.attempts,
                                 cached=adj.cached, dialect=adj.dialect, llm_problems=list(adj.llm_problems),
                                 prompt_trimmed=adj.trimmed, **_trust_out(adj)),
        forecast=forecast, direction_note=note,
        evidence=evidence, warnings=sit.warnings + flag_warnings + adj.warnings + ([clipped] if clipped else []),
        steps=period_steps(b, situation_forecast(sit, adj, settings)),
        scheduled=[ScheduledOut(text=e.text, event_date=e.event_date, known=e.known, kind=e.kind, source=e.source)
                   for e in getattr(sit, "scheduled", [])],
        timings={k: round(v, 3) for k, v in sit.timings.items()})
