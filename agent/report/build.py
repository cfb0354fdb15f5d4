"""Build a weekly trend report: every category prepared on its own (a failure is recorded, never fatal), one
concurrent batch through the adjuster (falling back adjuster by adjuster if the whole batch breaks), one Answer
per category, and the run's counts from the LLM call log."""
from __future__ import annotations

import collections
import datetime as dt
import time
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import pandas as pd

from trendcast.agent import workspace
from trendcast.agent.adjusters.registry import AdjustmentResult, get_adjuster
from trendcast.agent.engine import EvidenceSearch, assemble, choose_adjuster, default_question, prepare
from trendcast.agent.report.bulk import bulk_precompute, servers_down, use_bulk
from trendcast.agent.report.model import BADGES, ChartData, Entry, PerStep, Report, RunStats, warning_badges
from trendcast.agent.report.progress import NullProgress
from trendcast.agent.report.rollup import parent_level, rollup
from trendcast.agent.report.targets import iso_week
from trendcast.agent.report.warm import precompute, usable_cpus
from trendcast.agent.question.resolve import Target
from trendcast.agent.settings import Settings
from trendcast.agent.warning_codes import FALLBACK, warn

if TYPE_CHECKING:
    from trendcast.forecasting.baseline import BaselineForecast

FALLBACK_CHAIN = {"llm": ["carry", "none"], "carry": ["none"], "analog": ["none"], "none": []}
CHART_HISTORY = {"M": 36, "W": 78, "D": 120}  # history points drawn, by frequency
POLL_S = 0.25  # how often the progress bar re-reads the call log


def describe(exc: BaseException) -> str:
    """One line naming the exception: what the report shows for a failed category."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:300]


def build_report(settings: Settings, targets: list[Target], *, as_of: dt.date, horizon: str = "next-month",
                 adjuster: str | None = None, selection: str = "", progress: NullProgress | None = None,
                 top_n: int = 5, workers: int | None = None, **deps) -> Report:
    """The report for `targets` as of `as_of`. `workers`: processes for baselines and backtests (default: the
    usable CPUs; 1: all in this process). They are spawned, so a script that calls this with workers > 1 needs
    the usual `if __name__ == "__main__":` guard (the `trendcast` command has it). `deps` go to the adjuster
    (tests pass e.g. an LLM `client`)."""
    from trendcast.agent.llm.calllog import utc_now
    from trendcast.forecasting.periods import resolve_period

    progress = progress or NullProgress()
    name = choose_adjuster(settings, adjuster)
    adj = get_adjuster(name, settings, **deps)  # unknown name: a user error, before any work
    for freq in sorted({t.freq for t in targets}):
        resolve_period(horizon, as_of, freq)  # a bad horizon is a user error, not a failure per category
    t0, started = time.perf_counter(), utc_now()
    store = workspace.sales_store(settings)
    series = store.series()
    search = EvidenceSearch(settings)

    baselines: dict[str, BaselineForecast] = {}
    backtests: pd.DataFrame | None = None
    bulk_timings: dict[str, float] = {}
    workers = min(workers or usable_cpus(), len(targets))
    if use_bulk(settings, targets):  # a whole chain, or an engine: one forecast call per plan (agent.report.bulk)
        baselines, backtests, bulk_timings = bulk_precompute(settings, series, targets, as_of=as_of, horizon=horizon,
                                                             need_cases=name != "none", workers=max(workers, 1),
                                                             progress=progress)
    elif workers > 1:
        try:
            baselines = precompute(settings, series, targets, as_of=as_of, horizon=horizon,
                                   need_cases=name != "none", workers=workers, progress=progress)
        except Exception:  # no worker processes here (e.g. a sandbox without semaphores): prepare does it all
            baselines = {}
    t_fits = time.perf_counter()
    failed: dict[str, str] = {}
    sits = []
    progress.phase("evidence & past cases", len(targets))
    for t in targets:
        try:
            sits.append(prepare(settings, t, question=default_question(t, horizon), as_of=as_of, horizon=horizon,
                                need_cases=name != "none", series=series, search=search, store=store,
                                baseline=baselines.get(t.series_id), backtests=backtests))
        except Exception as exc:  # one category never sinks the run
            failed[t.series_id] = describe(exc)
            progress.counts(failed=len(failed))
        progress.advance()
    t1 = time.perf_counter()

    log, log_warning = None, None
    if name == "llm" and settings.llm.configured:
        try:
            log = workspace.calllog(settings)
        except Exception as exc:  # an unreadable llm.sqlite: the adjuster falls back and says so; counts are lost
            log_warning = f"LLM call log unavailable ({describe(exc)}): no call counts"
    try:
        results, batch_warnings = _adjust(name, adj, settings, sits, progress, _poller(log, started, progress))
        batch_warnings += ([log_warning] if log_warning else []) + servers_down(results)
        stats = _llm_counts(log, started)
    finally:
        if log is not None:
            log.close()
    t2 = time.perf_counter()

    answers = {}
    for sit, res in zip(sits, results):
        try:
            answers[sit.target.series_id] = (assemble(sit, res, settings), sit)
        except Exception as exc:
            failed[sit.target.series_id] = describe(exc)
    entries = [_entry(t, answers.get(t.series_id), failed.get(t.series_id), name) for t in targets]
    stats.update(categories=len(entries), ok=sum(e.status == "ok" for e in entries),
                 fallbacks=sum("fallback" in e.badges for e in entries),
                 failed=sum(e.status == "failed" for e in entries), badges=badge_counts(entries),
                 llm_requests=len(sits) if log is not None else 0,
                 concurrency=settings.llm.concurrency if log is not None else 0,
                 wall_s=round(time.perf_counter() - t0, 3),
                 timings={"fits_s": round(t_fits - t0, 3), "prepare_s": round(t1 - t_fits, 3),
                          "adjust_s": round(t2 - t1, 3), **bulk_timings})
    progress.counts(cache_hits=stats.get("cache_hits", 0), fallbacks=stats["fallbacks"], failed=stats["failed"])
    model, prompt = _model_and_prompt(entries, name, settings)
    rows = rollup(entries, series)
    return Report(
        title=f"Weekly trend report {iso_week(as_of)}", week=iso_week(as_of), as_of=as_of, horizon=horizon,
        selection=selection, adjuster=name, model=model, prompt=prompt,
        generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0), entries=entries,
        stats=RunStats(**stats), warnings=batch_warnings, version=_version(), top_n=top_n,
        rollup=rows, rollup_level=parent_level(rows, series))


def _adjust(name, adj, settings, sits, progress, poll) -> tuple[list[AdjustmentResult], list[str]]:
    """One batch through the chosen adjuster; if the batch itself raises, the next one in FALLBACK_CHAIN."""
    warnings: list[str] = []
    chain = [(name, adj)] + [(n, None) for n in FALLBACK_CHAIN.get(name, ["carry", "none"])]

    def advance(k: int = 1) -> None:
        progress.advance(k)
        poll()

    for i, (n, a) in enumerate(chain):
        progress.phase(f"adjusting ({n})", len(sits))
        try:
            a = a or get_adjuster(n, settings)
            results = a.adjust_many(sits, progress=advance)
            if len(results) != len(sits):
                raise RuntimeError(f"adjuster {n!r} returned {len(results)} results for {len(sits)} categories")
            if i:
                for r in results:
                    r.warnings.append(warn(FALLBACK, warnings[-1]))
            from trendcast.agent.trust.record import apply_trust

            apply_trust(settings, sits, results)
            return list(results), warnings
        except Exception as exc:
            if i == len(chain) - 1:
                raise
            warnings.append(f"adjuster {n} failed for the whole batch ({describe(exc)}); "
                            f"fell back to {chain[i + 1][0]}")
    raise AssertionError("unreachable")


def _poller(log, since: str, progress):
    """Refresh the bar's cache-hit and fallback counts from the call log, at most every POLL_S seconds."""
    last = [0.0]

    def poll() -> None:
        if log is None or time.perf_counter() - last[0] < POLL_S:
            return
        last[0] = time.perf_counter()
        c = log.counts(since=since)
        progress.counts(cache_hits=c["cache_hits"], fallbacks=c["failed_requests"])

    return poll


def _llm_counts(log, since: str) -> dict:
    if log is None:
        return {}
    c = log.counts(since=since)
    return {"llm_calls": c["calls"], "cache_hits": c["cache_hits"], "retries": c["retries"], "reasks": c["reasks"],
            "failed_calls": c["failed_calls"], "prompt_tokens": c["prompt_tokens"],
            "completion_tokens": c["completion_tokens"]}


def _entry(t: Target, got, error: str | None, adjuster: str) -> Entry:
    base = {"series_id": t.series_id, "name": t.name, "level": t.level, "freq": t.freq}
    if got is None:
        return Entry(**base, status="failed", error=error or "no answer")
    answer, sit = got
    badges, why = warning_badges(answer.warnings), None
    if answer.adjustment.source != adjuster:
        badges = ["fallback", *[b for b in badges if b != "fallback"]]
        why = next((w.message for w in reversed(answer.warnings) if w.code == FALLBACK),
                   f"adjusted by {answer.adjustment.source} instead of {adjuster}")
    status = next((b for b in BADGES if b in badges), "ok")  # the most severe badge
    return Entry(**base, status=status, answer=answer, error=why, chart=chart_data(answer, sit))


def badge_counts(entries: list[Entry]) -> dict[str, int]:
    """Entries carrying each badge (one entry may carry several), and "ok" for those with none."""
    counts = {b: sum(b in e.badges for e in entries) for b in BADGES}
    return {"ok": sum(not e.badges for e in entries), **counts}


def chart_data(answer, sit) -> ChartData:
    """Recent history and the period's baseline / forecast per step (the period total spread over its steps, so
    that a 4-week total sits on the scale of weekly history)."""
    n = max(len(getattr(sit.baseline, "steps", [])), 1)
    keep = CHART_HISTORY.get(sit.target.freq[:1], 36)
    hist = sit.history.tail(keep)
    b, f = answer.baseline, answer.forecast
    per = lambda x: PerStep(total=x.total / n, lo_80=x.lo_80 / n, hi_80=x.hi_80 / n, lo_95=x.lo_95 / n,  # noqa: E731
                            hi_95=x.hi_95 / n)
    return ChartData(steps_in_period=n, history=[(pd.Timestamp(d).date(), float(y))
                                                 for d, y in zip(hist["ds"], hist["y"])],
                     baseline=per(b), forecast=per(f))


def _model_and_prompt(entries: list[Entry], name: str, settings: Settings) -> tuple[str | None, str | None]:
    adjs = [e.answer.adjustment for e in entries if e.answer is not None]
    models = collections.Counter(a.model for a in adjs if a.source == name and a.model)
    prompts = collections.Counter(a.prompt for a in adjs if a.prompt)
    model = models.most_common(1)[0][0] if models else (settings.llm.model if name == "llm" else None)
    prompt = prompts.most_common(1)[0][0] if prompts else (settings.prompt if name == "llm" else None)
    return model, prompt


def _version() -> str:
    try:
        return version("trendcast")
    except PackageNotFoundError:
        return ""
