"""The adjusters registry: a batch of prepared situations → one AdjustmentResult each.

`none` keeps the baseline; `carry` (the default without an LLM) carries the learned share of the latest miss when
the sales just broke away from what the baseline method expected (agent.carry); `analog` (no LLM) applies the shrunk
median realised log-ratio of the most similar past cases; `llm` asks the served model (agent.llm_adjuster) and falls
back to `carry` per situation when it fails. What an adjuster proposes is then weighed by its own record
(agent.trust) before an answer applies it.
Every adjuster, these four included, is found through the `trendcast.adjusters` entry-point group
(agent.adjusters.plugins): a user's package adds one there; tests and programs can also `register_adjuster`.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Protocol

from trendcast.agent.adjusters.plugins import (_REGISTRY, adjuster_names, load,  # noqa: F401 (re-exported)
                                                register_adjuster, unregister_adjuster)
from trendcast.agent.situation.cases import closest
from trendcast.agent.evidence.injection import flag_evidence
from trendcast.agent.settings import Settings
from trendcast.agent.warning_codes import NO_RECORD, warn
from trendcast.forecasting.adjust import direction


@dataclass
class AdjustmentResult:
    source: str  # llm | analog | none
    pct: float = 0.0
    direction: str = "flat"
    confidence: float | None = None
    rationale: str = ""
    evidence_ids: list[str] = field(default_factory=list)
    drivers: list[dict] = field(default_factory=list)
    model: str | None = None
    prompt: str | None = None
    attempts: int = 0
    cached: bool = False
    warnings: list = field(default_factory=list)  # agent.warning_codes.WarningOut
    # a valid LLM proposal that was not applied (agent.injection.withhold_reason): its numbers and the reason, so that
    # a record of proposals against outcomes can still weigh it
    withheld: dict | None = None
    # the LLM path: the structured-output dialect the server accepted (agent.llm.dialects), the kind of each reply
    # rejected on the way (agent.llm.problems.KINDS, in order), and what was left out of the prompt to fit the
    # model's context window (None: nothing)
    dialect: str | None = None
    llm_problems: list[str] = field(default_factory=list)
    trimmed: str | None = None
    # set by agent.record.apply_trust: the proposal as the adjuster made it, and the agent.trust.Learned that
    # weighed it (then `pct` is the change applied)
    proposed_pct: float | None = None
    trust: object | None = None


class Adjuster(Protocol):
    name: str

    def adjust_many(self, situations: list, progress: Callable[[int], None] | None = None
                    ) -> list[AdjustmentResult]: ...


def get_adjuster(name: str, settings: Settings, **deps) -> Adjuster:
    """The adjuster registered or installed (entry point) under `name`; an unknown name is a user error."""
    factory = load(name)
    if factory is None:
        from trendcast.agent.question.parse import QuestionError

        raise QuestionError(f"unknown adjuster {name!r}; choose one of {', '.join(adjuster_names())}")
    return factory(settings, deps)


class NoAdjuster:
    name = "none"

    def __init__(self, settings: Settings, deps: dict):
        self.settings = settings

    def adjust_many(self, situations, progress=None):
        out = []
        for i, _ in enumerate(situations):
            out.append(AdjustmentResult("none", rationale="baseline kept as is (adjuster: none)"))
            if progress:
                progress(1)
        return out


class OneByOne:
    """An adjuster that adjusts each situation on its own (`adjust_one`), no batch to share."""

    def adjust_one(self, sit) -> AdjustmentResult:
        raise NotImplementedError

    def adjust_many(self, situations, progress=None):
        out = []
        for sit in situations:
            out.append(self.adjust_one(sit))
            if progress:
                progress(1)
        return out


class AnalogAdjuster(OneByOne):
    """Median realised log-ratio actual/baseline of the k most similar past cases, shrunk toward 0.

    The shrink factor is the mean similarity (0..1) of those k cases times k/(k+2): weak or few analogues pull the
    change toward no change. This is the control the LLM has to beat in evals.
    """

    name = "analog"

    def __init__(self, settings: Settings, deps: dict, k: int = 8):
        self.settings, self.k = settings, k

    def adjust_one(self, sit) -> AdjustmentResult:
        s = self.settings
        top = sit.cases[: self.k]
        if not top:
            return AdjustmentResult("analog", model="analog(k=0)",
                                    rationale="no past situations with known outcomes: baseline kept",
                                    warnings=[warn(NO_RECORD, "analog: no past situations before as-of; "
                                                             "baseline kept")])
        med = statistics.median(c.log_ratio for c in top)
        shrink = statistics.fmean(c.similarity for c in top) * len(top) / (len(top) + 2)
        pct = 100.0 * (math.exp(med * shrink) - 1.0)
        pct = min(max(pct, s.change_min_pct), s.change_max_pct)
        flagged = flag_evidence(sit.evidence)  # listed, never offered as context: they read like instructions
        ev = [h.id for h in sit.evidence if h.id not in flagged][:3]
        shown = _shown(closest(top, 3))
        return AdjustmentResult(
            "analog", pct=pct, direction=direction(pct, s.flat_band_pct), confidence=round(shrink, 3),
            rationale=(f"Median realised change vs baseline in the {len(top)} most similar past situations was "
                       f"{100 * (math.exp(med) - 1):+.1f} %, shrunk by their similarity ({shrink:.2f}) to "
                       f"{pct:+.1f} %. Closest: {shown}."),
            evidence_ids=ev, model=f"analog(k={self.k})",
            drivers=[{"evidence_id": e, "effect": "neutral", "note": "context at as-of"} for e in ev])


class CarryAdjuster(OneByOne):
    """The learned share of the latest miss, when it was a break (agent.carry); nothing in ordinary months."""

    name = "carry"

    def __init__(self, settings: Settings, deps: dict):
        self.settings = settings

    def adjust_one(self, sit) -> AdjustmentResult:
        from trendcast.agent.situation.misses import carried_pct, latest_miss, learn_shares

        s, freq = self.settings, sit.target.freq
        bt = sit.misses
        event_log, event_text = _event_part(sit)
        miss = None if bt is None or bt.empty else latest_miss(bt, sit.target.series_id, freq, sit.as_of)
        if miss is None:
            pct = min(max(100.0 * math.expm1(event_log), s.change_min_pct), s.change_max_pct)
            return AdjustmentResult("carry", pct=pct, direction=direction(pct, s.flat_band_pct), model="carry",
                                    rationale="too few past outcomes of this series to measure its latest miss: "
                                    "nothing carried." + event_text,
                                    warnings=[warn(NO_RECORD, "carry: too few past outcomes before as-of; "
                                                             "no miss carried")])
        shares = learn_shares(bt, freq, sit.as_of)
        share = shares[miss.kind]
        carried = carried_pct(miss, shares)
        pct = min(max(100.0 * math.expm1(math.log1p(carried / 100.0) + event_log), s.change_min_pct),
                  s.change_max_pct)
        when = (f"the period from {miss.period[0]:%Y-%m-%d}" if not freq.startswith("M") else
                f"{miss.period[0]:%B %Y}")
        head = (f"The latest known outcome ({when}, observed by {miss.period[1]}) came in {miss.pct:+.1f} % against "
                f"what the backtest baseline expected: {miss.z:.1f} robust sds of this series' usual misses "
                f"(±{100 * miss.scale:.1f} %), ")
        if miss.kind == "ordinary":
            body = (f"within ordinary noise, so nothing is carried (measured on MRTS: carrying ordinary misses made the "
                    f"combined baseline worse; {share.n} ordinary past periods here).")
        else:
            learned = (f"the next period carried {share.raw:.0%} of such a miss" if share.raw is not None
                       else "none were seen")
            span = f" ({share.first:%Y-%m}..{share.last:%Y-%m})" if share.first else ""
            body = (f"a {miss.kind}. In {share.n} past {miss.kind}s of this series and others at its level{span} "
                    f"{learned}; shrunk toward the prior and capped at 100 %: carried {share.share:.0%} → "
                    f"{carried:+.1f} %.")
        flagged = flag_evidence(sit.evidence)
        ev = [h.id for h in sit.evidence if h.id not in flagged][:3]
        shown = _shown(closest(sit.cases, 3))
        tail = f" Closest past situations by news climate: {shown}." if shown else ""
        return AdjustmentResult(
            "carry", pct=pct, direction=direction(pct, s.flat_band_pct), confidence=round(share.share, 3),
            rationale=head + body + event_text + tail, evidence_ids=ev,
            model=f"carry({miss.kind}, share {share.share:.2f} from {share.n})",
            drivers=[{"evidence_id": e, "effect": "neutral", "note": "context at as-of"} for e in ev])


def _shown(cases) -> str:
    return ", ".join(f"{c.name} {c.period.start:%Y-%m} ({c.right_change_pct:+.1f} %)" for c in cases)


def _event_part(sit) -> tuple[float, str]:
    """(log change, rationale sentence) for the events scheduled inside the period (agent.events)."""
    if not sit.scheduled:
        return 0.0, ""
    names = ", ".join(e.label() for e in sit.scheduled[:4]) + (" …" if len(sit.scheduled) > 4 else "")
    eff = sit.event_effect
    if eff is None:
        if (sit.period.end - sit.period.start).days >= 7:
            why = ("over a month the seasonal baseline carries its holidays; measured on MRTS, adding their past "
                   "effects made the forecasts worse")
        else:
            why = "too few past periods of this season with and without them to measure an effect"
        return 0.0, f" Scheduled in the period: {names}; no effect added ({why})."
    return eff.log_effect, (
        f" Scheduled in the period: {names}. In {eff.n} past periods of this season with them ({eff.first:%Y-%m-%d}"
        f"..{eff.last:%Y-%m-%d}) the baseline missed by {100 * math.expm1(eff.raw):+.1f} % more than in those "
        f"without; shrunk: {eff.pct:+.1f} % added.")
