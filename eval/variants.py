"""One variant at one origin: the cells' forecasts, as the product would have made them then.

`none` variants read their forecast straight off the bulk baselines. `analog` and `llm` variants go through the
agent's engine: `engine.prepare(..., as_of=origin, baseline=<the bulk baseline>, backtests=<the run's one
backtest>)` gathers the history, evidence and past cases as of the origin, the adjuster registry adjusts the whole
origin as one batch (the llm adjuster sends it concurrently, through the workspace's LLM cache), and
`engine.situation_forecast` — the function `ask` shows — turns each baseline and adjustment into the cell's forecast.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from trendcast.eval.cells import BOUNDS, VALUES
from trendcast.eval.suite import COMBINED, Variant

if TYPE_CHECKING:
    from trendcast.agent.engine import EvidenceSearch
    from trendcast.agent.settings import Settings

CELL_COLUMNS = ["unique_id", "origin", "variant", "forecast", *BOUNDS, "baseline", "pct", "source", "fallback",
                "attempts", "cached", "n_evidence", "n_cases", "warnings", "dialect", "llm_problems", "key", "sigma",
                "ext_down", "ext_up"]
# dialect: the structured-output dialect the LLM server accepted ("" when no LLM request was answered);
# llm_problems: the kind of each reply rejected on the way (agent.llm.problems.KINDS), in order, joined by a space;
# key: whose record the proposal joins (agent.trust.record_key); sigma: the baseline's log spread
# (forecasting.conformal.log_sigma); ext_down/ext_up: how far recent breaks extend the interval
# (Situation.break_extent) — with baseline, pct and the actual, a row of that record (agent.record)


@dataclass
class OriginContext:
    """What every variant at one origin shares: the settings, the store, the baselines, and prepared situations."""
    settings: Settings
    store: object  # the workspace's SalesStore
    series: pd.DataFrame
    base: pd.DataFrame  # the grid rows of this origin with their baselines (eval.cells.compute_baselines)
    horizon: str
    members: list[str]
    search: EvidenceSearch | None = None  # the workspace's index (variants that search evidence)
    backtests: pd.DataFrame | None = None  # the run's past-case backtests (agent.engine.precompute_backtests)
    blind_year_shift: int | None = None
    _situations: dict = field(default_factory=dict)

    def preset(self, situations: dict[str, list]) -> None:
        """Situations prepared elsewhere (eval.parallel), by baseline name."""
        self._situations.update(situations)

    def situations(self, baseline: str) -> list:
        if baseline not in self._situations:
            self._situations[baseline] = self._prepare(baseline)
        return self._situations[baseline]

    def _prepare(self, baseline: str) -> list:
        from trendcast.agent import engine
        
        assert self.search is not None  # only variants that search evidence prepare situations
        out = []
        for row in self.base.to_dict("records"):
            target = engine.target_by_id(self.series, row["unique_id"])
            as_of = pd.Timestamp(row["origin"]).date()
            out.append(engine.prepare(self.settings, target, question=engine.default_question(target, self.horizon),
                                      as_of=as_of, horizon=self.horizon, need_cases=True, series=self.series,
                                      search=self.search, store=self.store, backtests=self.backtests,
                                      baseline=baseline_forecast(row, baseline, self.members, as_of)))
        return out


def baseline_forecast(get: dict, name: str, members: list[str], as_of):
    """A forecasting.baseline.BaselineForecast for one cell, from its bulk baseline columns (a record)."""
    from trendcast.forecasting.baseline import BaselineForecast
    from trendcast.forecasting.periods import Period

    import json

    vals = {k: float(get[f"{name}:{k}"]) for k in VALUES}
    if name == COMBINED and get.get("baseline_model"):  # what the combination really counted (forecasting.combine)
        label, ran = str(get["baseline_model"]), json.loads(get["baseline_members"])
        warnings = [w for w in str(get.get("baseline_warnings") or "").split("; ") if w]
    else:
        suffix = name[len(COMBINED):] if name.startswith(COMBINED) else ""  # combined+cal: its +cal members
        label, ran, warnings = name, {m: float(get[f"{m}{suffix}:total"]) for m in members}, []
    steps = pd.DataFrame({"ds": [get["period_start"]], "mean": [vals["total"]],
                          **{b: [vals[b]] for b in BOUNDS}})
    return BaselineForecast(model=label, steps=steps, members=ran, warnings=warnings,
                            period=Period(pd.Timestamp(get["period_start"]).date(),
                                          pd.Timestamp(get["period_end"]).date()),
                            as_of=as_of, **vals)


def variant_settings(settings, variant: Variant):
    """The settings an llm variant runs with: its endpoint and prompt where the suite names them."""
    if variant.adjuster != "llm":
        return settings
    llm = settings.llm
    if variant.model is not None:
        llm = llm.model_copy(update={k: v for k, v in {"url": variant.model.url, "model": variant.model.name}.items()
                                     if v is not None})
    return settings.model_copy(update={"llm": llm, "prompt": variant.prompt or settings.prompt})


def run_variant(oc: OriginContext, variant: Variant, progress=None) -> tuple[pd.DataFrame, dict]:
    """The cells of one (variant, origin) and the batch's meta (seconds, LLM call counts and tokens)."""
    t0 = time.perf_counter()
    if variant.adjuster == "none":
        frame = _unadjusted(oc.base, variant)
        if progress:
            progress(len(frame))
        return frame, {"seconds": round(time.perf_counter() - t0, 3)}
    from trendcast.agent import engine
    
    from trendcast.forecasting.conformal import log_sigma

    sits = oc.situations(variant.baseline)
    t1 = time.perf_counter()
    settings = variant_settings(oc.settings, variant)
    deps = {}
    if variant.adjuster == "llm" and oc.blind_year_shift:
        names = oc.series["name"].astype(str).tolist()
        deps = {"blind_year_shift": oc.blind_year_shift, "blind_names": names}
    log, since = _calllog(settings, variant)
    results = engine.get_adjuster(variant.adjuster, settings, **deps).adjust_many(sits, progress=progress)
    rows = []
    for sit, res in zip(sits, results):
        f = engine.situation_forecast(sit, res, settings)
        rows.append({"unique_id": sit.target.series_id, "origin": pd.Timestamp(sit.as_of), "variant": variant.name,
                     "forecast": f.total, **{b: getattr(f, b) for b in BOUNDS}, "baseline": sit.baseline.total,
                     "pct": res.pct, "source": res.source, "fallback": res.source != variant.adjuster,
                     "attempts": res.attempts, "cached": res.cached, "n_evidence": len(sit.evidence),
                     "n_cases": len(sit.cases), "warnings": " | ".join(w.message for w in sit.warnings + res.warnings),
                     "dialect": res.dialect or "", "llm_problems": " ".join(res.llm_problems),
                     "key": engine.record_key(res.source, res.model, res.prompt),
                     "sigma": log_sigma(sit.baseline.total, sit.baseline.lo_80, sit.baseline.hi_80),
                     "ext_down": sit.break_extent[0], "ext_up": sit.break_extent[1]})
    # situations may have been prepared in a worker (and are shared by the variants of one baseline): their own
    # timings say what preparing them cost
    prepared = sum(sum(s.timings.values()) for s in sits)
    adjust = time.perf_counter() - t1
    meta = {"seconds": round(prepared + adjust, 3), "prepare_seconds": round(prepared, 3),
            "adjust_seconds": round(adjust, 3)}
    if log is not None:
        meta["llm"] = log.counts(since=since)
        log.close()
    return pd.DataFrame(rows, columns=CELL_COLUMNS), meta


def _calllog(settings, variant: Variant):
    if variant.adjuster != "llm":
        return None, None
    from trendcast.agent.engine import CallLog, utc_now

    try:
        return CallLog(settings.llm_db), utc_now()
    except Exception:  # an unreadable llm.sqlite: the adjuster falls back (counted as fallbacks); no call counts
        return None, None


def _unadjusted(base: pd.DataFrame, variant: Variant) -> pd.DataFrame:
    from trendcast.forecasting.conformal import log_sigma

    b = variant.baseline
    frame = pd.DataFrame({
        "unique_id": base["unique_id"], "origin": base["origin"], "variant": variant.name,
        "forecast": base[f"{b}:total"], **{k: base[f"{b}:{k}"] for k in BOUNDS}, "baseline": base[f"{b}:total"],
        "pct": 0.0, "source": "none", "fallback": False, "attempts": 0, "cached": False, "n_evidence": 0,
        "n_cases": 0, "warnings": "", "dialect": "", "llm_problems": "", "key": "none",
        "sigma": [log_sigma(t, lo, hi) for t, lo, hi in zip(base[f"{b}:total"], base[f"{b}:lo_80"],
                                                            base[f"{b}:hi_80"])], "ext_down": 0.0, "ext_up": 0.0})
    return frame[CELL_COLUMNS].reset_index(drop=True)
