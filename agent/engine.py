"""The engine API: what `ask`, `report` and eval call. Nothing outside `agent` reaches past this module (and the
settings, errors, workspace and call log) into agent's internals.

- `prepare(...)` → Situation (agent.situation): everything an adjuster may see, all known at as-of;
- `get_adjuster(name, settings).adjust_many(situations)` → AdjustmentResult per situation (`adjuster_names()`: the
  built-ins and every installed `trendcast.adjusters` plug-in);
- `assemble(situation, result, settings)` → Answer; `situation_forecast` / `adjusted_forecast` → the forecast an
  answer shows (eval scores this, not a copy of it);
- `answer(...)` / `answer_batch(...)`: all of it for a question or a list of targets, each proposal weighed by
  its record (agent.record, agent.trust: `record_key`, `workspace_record`, `known_rows`, `learn_trust`).
"""
from __future__ import annotations

import datetime as dt

from trendcast.agent import workspace
from trendcast.agent.llm.calllog import CallLog, utc_now
from trendcast.agent.llm.redact import public_url, redact_json
from trendcast.agent.situation.backtest_warm import warm as warm_backtests
from trendcast.agent.adjusters.registry import AdjustmentResult, adjuster_names, get_adjuster
from trendcast.agent.answer.model import Answer
from trendcast.agent.answer.assemble import adjusted_forecast, assemble, situation_forecast, trusted_forecast
from trendcast.agent.situation.casebook import case_origins, case_series, precompute_backtests
from trendcast.agent.evidence.search import EvidenceSearch
from trendcast.agent.question.parse import QuestionError, parse_question
from trendcast.agent.trust.record import RECORD_COLUMNS, finished_runs, known_rows, run_cells, workspace_record
from trendcast.agent.trust.learn import learn as learn_trust
from trendcast.agent.trust.learn import record_key
from trendcast.agent.question.resolve import Target, resolve_category
from trendcast.agent.settings import Settings
from trendcast.agent.situation.build import Situation, cached_baseline, observed_history, prepare

__all__ = ["RECORD_COLUMNS", "AdjustmentResult", "Answer", "adjuster_names", "CallLog", "public_url", "redact_json", "utc_now",
           "warm_backtests", "EvidenceSearch", "Situation", "Target", "adjusted_forecast", "answer",
           "answer_batch", "assemble", "cached_baseline", "case_origins", "case_series", "choose_adjuster",
           "finished_runs", "get_adjuster", "known_rows", "learn_trust", "observed_history", "precompute_backtests", "prepare",
           "record_key", "run_cells", "semantic_matcher", "situation_forecast", "target_by_id", "trusted_forecast", "workspace_record"]


def choose_adjuster(settings: Settings, name: str | None) -> str:
    """The adjuster asked for; else llm when an LLM is configured, else carry."""
    return name or ("llm" if settings.llm.configured else "carry")


def default_question(target: Target, horizon: str) -> str:
    return f"how will {target.name} trend ({horizon})?"


def answer_batch(settings: Settings, targets: list[Target], *, as_of: dt.date | None = None,
                 horizon: str = "next-month", adjuster: str | None = None, question: str | None = None,
                 progress=None, **deps) -> list[Answer]:
    """Answers for many targets: situations one by one, then one concurrent batch through the adjuster."""
    import time

    name = choose_adjuster(settings, adjuster)
    store = workspace.sales_store(settings)
    series = store.series()
    search = EvidenceSearch(settings)
    sits = [prepare(settings, t, question=question or default_question(t, horizon), as_of=as_of, horizon=horizon,
                    need_cases=name != "none", series=series, search=search, store=store)
            for t in targets]
    t0 = time.perf_counter()
    results = get_adjuster(name, settings, **deps).adjust_many(sits, progress=progress)
    from trendcast.agent.trust.record import apply_trust

    apply_trust(settings, sits, results)
    for s in sits:
        s.timings["adjust_s"] = (time.perf_counter() - t0) / max(len(sits), 1)
    return [assemble(s, r, settings) for s, r in zip(sits, results)]


def target_by_id(series, series_id: str) -> Target:
    """The target of a series id (`trendcast series` lists them)."""
    hit = series[series["unique_id"] == series_id]
    if hit.empty:
        raise QuestionError(f"no series with id {series_id!r} (see `trendcast series`)")
    return Target.from_row(hit.iloc[0], "id")


def answer(settings: Settings, question: str, *, as_of: dt.date | None = None, horizon: str | None = None,
           series_id: str | None = None, adjuster: str | None = None, **deps) -> Answer:
    """One question answered: resolve the category and horizon, then `answer_batch` for that one target."""
    parsed = parse_question(question) if not series_id else None
    table = workspace.sales_store(settings).series()
    if series_id:
        target = target_by_id(table, series_id)
    else:
        assert parsed is not None  # parsed above when no series id is given
        target = resolve_category(parsed.category, table, semantic=semantic_matcher(settings))
    h = horizon or (parsed.horizon if parsed else "next-month")
    return answer_batch(settings, [target], as_of=as_of, horizon=h, adjuster=adjuster, question=question,
                        **deps)[0]


def semantic_matcher(settings: Settings):
    """Semantic category matching (last resort): cosine of the text to each series name's embedding."""
    def match(text: str, names: list[str]):
        vecs = workspace.query_vectors(settings, [text] + names)
        return vecs[1:] @ vecs[0]
    return match
