"""The `llm` adjuster: one prompt per situation, sent as one concurrent batch to an OpenAI-compatible server (vLLM),
validated as a TrendAdjustment; per-situation fallback to the carry adjuster, reported in warnings.

Evidence that reads like instructions to the model is flagged in the prompt (agent.injection); a valid reply that
cites flagged evidence, or sits at a bound of the allowed change while flagged evidence was in its prompt, is not
applied: the carry adjuster stands in, the warning says why and the result keeps the withheld proposal. A reply at a bound
with nothing flagged is applied with a warning (a real collapse saturates too: April 2020 clothing, -89 %)."""
from __future__ import annotations

import pandas as pd

from trendcast.agent import workspace
from trendcast.agent.adjusters.adjustment import Adjustment
from trendcast.agent.adjusters.registry import CarryAdjuster
from trendcast.agent.situation.cases import pick_examples
from trendcast.agent.evidence.injection import at_bound, flag_evidence, withhold_reason
from trendcast.agent.settings import Settings
from trendcast.agent.warning_codes import FALLBACK, LLM_BOUND, LLM_SERVER_DOWN, warn

HISTORY_ROWS = 24


def copy_check(spec, ctx):
    """What the copy check needs (agent.schema._not_copied): each example's {label, pct, numbers}, and the numbers
    the situation shows itself (its prompt rendered without examples)."""
    import json

    from trendcast.agent.adjusters.schema import numbers_in

    examples = []
    for ex in ctx.examples:
        answer = json.loads(ex.answer_json)
        numbers = [ex.baseline_total, float(answer["change_pct"]), *numbers_in(answer.get("rationale", ""))]
        examples.append({"label": f"{ex.series_name} {ex.period_label}", "pct": float(answer["change_pct"]),
                         "numbers": numbers})
    if not examples:
        return [], []
    bare = spec.render(ctx.model_copy(update={"examples": []}))
    return examples, numbers_in("\n".join(m["content"] for m in bare))


def build_context(sit, settings: Settings, n_examples: int):
    """The PromptContext of one situation: history, baseline, evidence and few-shot examples — all ≤ as_of."""
    from trendcast.prompts import PromptContext
    from trendcast.prompts.context import Evidence, FewShotExample, period_label
    from trendcast.forecasting.adjust import direction
    from trendcast.prompts.examples import outcome_answer_json

    def evidence(hits):
        items = [Evidence.model_validate(h) for h in hits]
        flags = flag_evidence(items)
        return [e.model_copy(update={"flag": flags.get(e.id)}) for e in items]

    examples = []
    for c in pick_examples(sit.cases, n_examples):
        drivers = [{"evidence_id": h.id, "effect": "neutral", "note": "news at the time"} for h in c.evidence[:1]]
        examples.append(FewShotExample(
            series_name=c.name, origin=c.origin, period_label=period_label(c.period.start, c.period.end),
            baseline_total=round(c.baseline, 1), evidence=evidence(c.evidence),
            answer_json=outcome_answer_json(c.baseline, c.actual,
                                            direction_of=lambda pct: direction(pct, settings.flat_band_pct),
                                            min_pct=settings.change_min_pct, max_pct=settings.change_max_pct,
                                            drivers=drivers)))
    hist = sit.history.tail(HISTORY_ROWS)
    b = sit.baseline
    return PromptContext(
        series_name=sit.target.name, level=sit.target.level, unit=sit.unit or "", freq=sit.target.freq,
        as_of=sit.as_of, period_start=sit.period.start, period_end=sit.period.end,
        history=[(pd.Timestamp(d).date(), float(y)) for d, y in zip(hist["ds"], hist["y"])],
        baseline_model=b.model, baseline_total=b.total, lo_80=b.lo_80, hi_80=b.hi_80, lo_95=b.lo_95, hi_95=b.hi_95,
        last_period_total=sit.last_period_total, same_period_last_year=sit.same_period_last_year,
        evidence=evidence(sit.evidence), examples=examples,
        scheduled=[f"{e.text} ({e.event_date:%a %d %b})" for e in getattr(sit, "scheduled", [])],
        min_pct=settings.change_min_pct, max_pct=settings.change_max_pct, flat_band_pct=settings.flat_band_pct)


class LLMAdjuster:
    name = "llm"

    def __init__(self, settings: Settings, deps: dict):
        from trendcast.prompts import load_prompt

        self.settings = settings
        self.spec = load_prompt(settings.prompt)
        self.blind_year_shift = deps.get("blind_year_shift")
        self.blind_names = tuple(deps.get("blind_names", ()))
        self.fallback = CarryAdjuster(settings, deps)
        self._client = deps.get("client")

    @property
    def client(self):
        if self._client is None:
            from trendcast.agent.llm.client import LLMClient

            self._client = LLMClient(self.settings.llm, workspace.calllog(self.settings))
        return self._client

    def request(self, sit):
        return self.prepare_request(sit)[0]

    def prepare_request(self, sit):
        """The ChatRequest for one situation and the Fitted prompt it carries (what was trimmed to fit)."""
        from trendcast.agent.adjusters.llm_request import adjustment_request
        from trendcast.agent.adjusters.prompt_fit import fit_prompt

        s = self.settings
        ctx = build_context(sit, s, s.n_examples if self.spec.few_shot else 0)
        if self.blind_year_shift:
            from trendcast.prompts import blind_context

            ctx = blind_context(ctx, self.blind_year_shift, names=self.blind_names)
        fitted = fit_prompt(self.spec, ctx, self._count, s.llm.context_tokens, s.llm.max_tokens)
        ctx = fitted.ctx
        examples, own = copy_check(self.spec, ctx)
        metadata = {"prompt_tokens": fitted.tokens, "counted_by": fitted.counted_by}
        if fitted.trimmed:
            metadata["trimmed"] = fitted.trimmed
        req = adjustment_request(
            fitted.messages, [e.id for e in ctx.evidence], min_pct=s.change_min_pct, max_pct=s.change_max_pct,
            flat_band_pct=s.flat_band_pct, prompt_id=self.spec.id, tag=f"{sit.target.series_id}@{sit.as_of}",
            metadata=metadata, examples=examples, own_numbers=own)
        return req, fitted

    def _count(self, messages):
        """Tokens of a prompt: the estimate when it is far below the budget, else the server's tokenizer."""
        from trendcast.agent.llm.tokens import estimate

        llm = self.settings.llm
        est = estimate(messages)
        if est < 0.6 * (llm.context_tokens - llm.max_tokens) or not llm.configured:
            return est, "estimate"
        try:
            return self.client.tokens.count(messages)
        except Exception:  # noqa: BLE001 - an unusable call log or counter: the estimate stands
            return est, "estimate"

    def adjust_many(self, situations, progress=None):
        s = self.settings
        if not s.llm.configured:
            return self._fallback_all(situations, "no LLM endpoint configured (TRENDCAST_LLM_URL)", progress)
        try:
            client = self.client
        except Exception as exc:  # noqa: BLE001 - an unusable call log: no unaudited LLM calls, fall back
            why = f"the LLM call log {s.llm_db} cannot be opened ({type(exc).__name__}: {exc})"
            return self._fallback_all(situations, why, progress)
        prepared = [self.prepare_request(x) for x in situations]
        results = client.run([req for req, _ in prepared], progress=progress)
        out = []
        for sit, (_, fitted), r in zip(situations, prepared, results):
            res = self._result(sit, r)
            res.dialect, res.llm_problems, res.prompt_trimmed = r.dialect, list(r.problems), fitted.trimmed
            res.warnings.extend(warn(LLM_SERVER_DOWN, note) for note in r.warnings)  # agent.llm.pool
            out.append(res)
        return out

    def _result(self, sit, r):
        """The Adjustment of one LLM result: the proposal (applied or withheld), or the carry fallback."""
        s = self.settings
        if r.ok:
            v = r.value
            res = Adjustment(
                source="llm", pct=float(v.change_pct), direction=v.direction, confidence=float(v.confidence),
                rationale=v.rationale, evidence_ids=list(dict.fromkeys(d.evidence_id for d in v.drivers)),
                drivers=[d.model_dump() for d in v.drivers], model=r.model or s.llm.model, prompt=self.spec.id,
                attempts=r.attempts, cached=r.cached)
            why = withhold_reason(res.pct, res.evidence_ids, flag_evidence(sit.evidence),
                                  min_pct=s.change_min_pct, max_pct=s.change_max_pct)
            bound = at_bound(res.pct, min_pct=s.change_min_pct, max_pct=s.change_max_pct)
            if why is None and bound:
                res.warnings.append(warn(LLM_BOUND, f"LLM adjustment at a bound, applied: {bound}; "
                                                    "check the evidence it cites"))
            return res if why is None else self._withheld(sit, res, why)
        fb = self.fallback.adjust_one(sit)
        fb.attempts = r.attempts
        fb.prompt = self.spec.id
        fb.warnings.append(warn(FALLBACK, f"LLM adjustment failed, fell back to carry: {r.error}"))
        return fb

    def _withheld(self, sit, proposed: Adjustment, why: str) -> Adjustment:
        """The carry adjuster in place of a valid LLM proposal that must not be applied; the proposal is kept."""
        fb = self.fallback.adjust_one(sit)
        fb.attempts, fb.cached, fb.prompt = proposed.attempts, proposed.cached, self.spec.id
        fb.withheld = {"source": "llm", "model": proposed.model, "prompt": proposed.prompt, "pct": proposed.pct,
                       "direction": proposed.direction, "confidence": proposed.confidence,
                       "evidence_ids": proposed.evidence_ids, "reason": why}
        fb.warnings.append(warn(FALLBACK, f"LLM adjustment of {proposed.pct:+g} % not applied ({why}); "
                                          f"fell back to carry ({fb.pct:+.1f} %)"))
        return fb

    def _fallback_all(self, situations, why: str, progress):
        out = []
        for sit in situations:
            fb = self.fallback.adjust_one(sit)
            fb.warnings.append(warn(FALLBACK, f"LLM adjuster unavailable, fell back to carry: {why}"))
            out.append(fb)
            if progress:
                progress(1)
        return out


