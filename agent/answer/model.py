"""The answer contract of `trendcast ask --json` (DESIGN.md), as pydantic models."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from trendcast.agent.warning_codes import WarningOut
from trendcast.forecasting.baseline import BaselineForecast


class TargetOut(BaseModel):
    series_id: str
    name: str
    level: str
    resolved_by: str


class PeriodOut(BaseModel):
    start: dt.date
    end: dt.date


class SpanOut(BaseModel):
    """The observed steps a comparison total sums (forecasting.comparisons.Span)."""
    start: dt.date
    end: dt.date
    steps: int


class StepOut(BaseModel):
    """One step of the period (agent.steps): its baseline, and the forecast's share of the period's adjustment."""
    start: dt.date
    baseline: float
    forecast: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float


class HistoryOut(BaseModel):
    last_period_total: float | None  # the same number of steps as the period, the latest observed by as-of
    same_period_last_year: float | None  # the period's steps a year earlier
    last_period: SpanOut | None = None
    last_year: SpanOut | None = None
    recent: list[tuple[dt.date, float]] = Field(default_factory=list)  # for sparklines and charts


class AdjustmentOut(BaseModel):
    source: str  # the adjuster that proposed it: llm, carry, analog, none, or a plug-in's (agent.adjusters.plugins)
    model: str | None = None  # LLM model name, or a description of the analog
    prompt: str | None = None  # name@version
    pct: float = 0.0
    direction: Literal["up", "flat", "down"] = "flat"
    confidence: float | None = None
    rationale: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    drivers: list[dict] = Field(default_factory=list)
    attempts: int = 0
    cached: bool = False
    # the LLM path (llm answers, and fallbacks after a failed LLM request): the structured-output dialect the server
    # accepted (agent.llm.dialects), the kind of each reply rejected on the way (agent.llm.problems.KINDS, in order),
    # and what was left out of the prompt to fit the model's context window (None: nothing)
    dialect: str | None = None
    llm_problems: list[str] = Field(default_factory=list)
    prompt_trimmed: str | None = None
    # trust from the adjuster's record (agent.trust): the change it proposed, the weight applied (pct = the trusted
    # proposal) and the record behind it; None where nothing was weighed (adjuster none)
    proposed_pct: float | None = None
    trust: float | None = None
    record: dict | None = None


class ForecastOut(BaseModel):
    total: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float
    change_vs_last_period_pct: float | None
    change_vs_last_year_pct: float | None
    direction: Literal["up", "flat", "down"] | None  # vs the last period; None when that is unknown


class EvidenceOut(BaseModel):
    id: str
    date: dt.date | None
    kind: str
    source: str | None
    text: str
    score: float
    flagged: bool = False  # the text reads like instructions to a model (agent.injection); shown, never obeyed
    flag_reason: str | None = None


class ScheduledOut(BaseModel):
    """An event inside the period, known by as-of (agent.events)."""
    text: str
    event_date: dt.date
    known: dt.date | None  # the day it became known; None: from the start (a calendar)
    kind: str
    source: str | None = None


class Answer(BaseModel):
    question: str
    target: TargetOut
    as_of: dt.date
    period: PeriodOut
    horizon: str
    unit: str | None = None
    history: HistoryOut
    baseline: BaselineForecast  # forecasting's one baseline model, totals clipped at the series' floor
    adjustment: AdjustmentOut
    forecast: ForecastOut
    # why the forecast's direction (vs the last period) differs from the adjustment's (vs the baseline), one line;
    # None when they agree (agent.direction_note)
    direction_note: str | None = None
    evidence: list[EvidenceOut]
    scheduled: list[ScheduledOut] = Field(default_factory=list)
    steps: list[StepOut] = Field(default_factory=list)  # the period's steps; their forecasts sum to forecast.total
    warnings: list[WarningOut] = Field(default_factory=list)  # code + message (agent.warning_codes)
    timings: dict[str, float] = Field(default_factory=dict)
