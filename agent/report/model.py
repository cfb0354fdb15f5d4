"""The report as data: one entry per category (its Answer, or why it has none) and the run's footer.

Everything the Markdown and HTML show is a field here (or a plain formatting of one), and `report.json` is
`Report.model_dump_json()`: the JSON holds every number shown.
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from trendcast.agent.answer.model import Answer
from trendcast.agent.report.rollup import RollupRow, material, material_floor

Status = Literal["ok", "break", "stale", "fallback", "failed"]
# the badges an entry can carry, most severe first: its status is the first that applies, "ok" when none does
BADGES: tuple[str, ...] = ("failed", "fallback", "stale", "break")


def warning_badges(warnings) -> list[str]:
    """The risk badges an answer's warnings call for: "stale" (as-of past the data, a series that stopped, old
    evidence), "break" (the last period broke from the baseline's pattern), "fallback" (another adjuster answered).
    A warning without a code (plain text) calls for none."""
    from trendcast.agent import warning_codes as wc
    
    codes = {getattr(w, "code", None) for w in warnings or ()}
    found = {"fallback"} if wc.FALLBACK in codes else set()
    found |= {"stale"} if codes & wc.STALE else set()
    found |= {"break"} if wc.BREAK in codes else set()
    return [b for b in BADGES if b in found]


class PerStep(BaseModel):
    """A period total spread evenly over its steps (weekly data, monthly period: total / 4 or 5) for the chart."""
    total: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float


class ChartData(BaseModel):
    """The numbers a category chart draws: recent history, and baseline / forecast as per-step averages."""
    steps_in_period: int
    history: list[tuple[dt.date, float]]
    baseline: PerStep
    forecast: PerStep


class Driver(BaseModel):
    """One driver of the adjustment joined with the evidence it cites (date, source, text)."""
    evidence_id: str
    effect: str
    note: str
    date: dt.date | None = None
    source: str | None = None
    text: str | None = None


class Entry(BaseModel):
    series_id: str
    name: str
    level: str
    freq: str
    status: Status
    answer: Answer | None = None
    error: str | None = None  # why there is no answer (failed) or why the adjuster fell back (fallback)
    chart: ChartData | None = None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type it
    @property
    def badges(self) -> list[str]:
        """Every badge that applies (status first); empty for an "ok" entry."""
        found = set(warning_badges(self.answer.warnings if self.answer else [])) | {self.status} - {"ok"}
        return [b for b in BADGES if b in found]

    def baseline_change(self) -> float | None:
        """The baseline's change in percent vs the last period (what the adjustment started from)."""
        if self.answer is None or not self.answer.history.last_period_total:
            return None
        return 100.0 * (self.answer.baseline.total / self.answer.history.last_period_total - 1.0)

    def change(self, basis: str = "last_period") -> float | None:
        """The adjusted forecast's change in percent vs the last period ("last_period") or the same period a year
        ago: what the summary and the movers rank on (never the baseline's change)."""
        if self.answer is None:
            return None
        f = self.answer.forecast
        return f.change_vs_last_period_pct if basis == "last_period" else f.change_vs_last_year_pct

    def drivers(self) -> list[Driver]:
        if self.answer is None:
            return []
        by_id = {e.id: e for e in self.answer.evidence}
        out = []
        for d in self.answer.adjustment.drivers:
            ev = by_id.get(str(d.get("evidence_id", "")))
            out.append(Driver(evidence_id=str(d.get("evidence_id", "")), effect=str(d.get("effect", "")),
                              note=str(d.get("note", "")), date=ev.date if ev else None,
                              source=ev.source if ev else None, text=ev.text if ev else None))
        return out


class RunStats(BaseModel):
    """The footer's counts. LLM counts come from the call log (rows written during this run)."""
    categories: int = 0
    ok: int = 0  # entries with no badge
    fallbacks: int = 0
    failed: int = 0
    badges: dict[str, int] = Field(default_factory=dict)  # entries carrying each badge ("ok": none), BADGES order
    llm_requests: int = 0  # categories sent to the LLM
    llm_calls: int = 0  # HTTP calls made (re-asks and transport retries included; cache hits excluded)
    cache_hits: int = 0
    retries: int = 0  # transport retries (timeouts, 429, 5xx)
    reasks: int = 0  # re-asks after a reply that failed validation
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    concurrency: int = 0
    wall_s: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict)  # fits_s, prepare_s, adjust_s, charts_s


class Report(BaseModel):
    title: str
    week: str  # ISO week of as-of, e.g. 2020-W14
    as_of: dt.date
    horizon: str
    selection: str  # how the categories were chosen, e.g. "level 3-digit, 4-digit"
    adjuster: str
    model: str | None = None
    prompt: str | None = None
    generated_at: dt.datetime
    entries: list[Entry]
    stats: RunStats
    warnings: list[str] = Field(default_factory=list)
    version: str = ""
    top_n: int = 5  # movers shown each way
    rollup: list[RollupRow] = Field(default_factory=list)  # entries by parent (agent.report.rollup)
    rollup_level: str = ""  # the parents' level, e.g. Store

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type it
    @property
    def ranking(self) -> list[str]:
        """Series ids in the summary table's order."""
        return [e.series_id for e in self.ranked()]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type it
    @property
    def movers_up(self) -> list[str]:
        return [e.series_id for e in self.movers()[0]]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type it
    @property
    def movers_down(self) -> list[str]:
        return [e.series_id for e in self.movers()[1]]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form; mypy cannot type it
    @property
    def rank_by(self) -> Literal["last_period", "last_year"]:
        """What "forecast change" means in the ranking: vs the last period — or, when no category has a fully
        observed last period (weekly data asked about the month after next), vs the same period last year."""
        if any(e.change("last_period") is not None for e in self.entries) or not self.entries:
            return "last_period"
        return "last_year"

    def ranked(self) -> list[Entry]:
        """Entries by forecast change (rank_by), biggest rise first; no change known (or failed) last."""
        basis = self.rank_by
        known = [(c, e) for e in self.entries if (c := e.change(basis)) is not None]
        unknown = [e for e in self.entries if e.change(basis) is None]
        return [e for _, e in sorted(known, key=lambda ce: -ce[0])] + unknown

    def movers(self) -> tuple[list[Entry], list[Entry]]:
        """The top_n biggest rises (change > 0) and the top_n biggest falls (change < 0), largest first, among the
        material categories (`material`): over a chain, +50,000 % on a department that sold 7.50 last month is
        noise, not a mover."""
        n, basis = self.top_n, self.rank_by
        floor = material_floor(self.entries)
        known = [(c, e) for e in self.entries if (c := e.change(basis)) is not None and material(e, floor)]
        up = [e for c, e in sorted(known, key=lambda ce: -ce[0]) if c > 0][:n]
        down = [e for c, e in sorted(known, key=lambda ce: ce[0]) if c < 0][:n]
        return up, down

    def periods(self) -> list[tuple[dt.date, dt.date]]:
        return sorted({(e.answer.period.start, e.answer.period.end) for e in self.entries if e.answer})

    def units(self) -> list[str]:
        return sorted({e.answer.unit for e in self.entries if e.answer and e.answer.unit})
