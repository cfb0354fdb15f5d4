"""`trendcast eval run`: a suite → one run folder with every cell scored and the artifacts written.

Run folder (`<home>/runs/<suite>-<UTC timestamp>/`, or `--out`):
  suite.yaml, run.json            the resolved suite and how it was run (fingerprint, blind, status)
  workers/                        scratch homes of worker processes while the run lasts
  baselines/<block>.parquet       bulk baselines, one part per refit block
  cells/<variant>/<origin>.parquet (+ .json: seconds, LLM calls and tokens) — one part per (variant, origin)
  cells.parquet, cells.csv        every (series, origin, variant): forecast, bounds, actual, losses
  results.json, leaderboard.md, plots/*.png
Parts are written atomically and never recomputed: `--resume RUN_DIR` picks up where a run stopped.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml

from trendcast.eval.cells import compute_baselines, plan_grid, rolling_combined, select_series, write_parquet
from trendcast.eval.errors import SuiteError
from trendcast.eval.runs import register_run
from trendcast.eval.suite import Suite, inside
from trendcast.eval.trusted import add_trusted
from trendcast.eval.variants import OriginContext, run_variant, variant_settings

Progress = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(n)


@dataclass
class RunOptions:
    blind_year_shift: int | None = None  # --blind: mask category names and shift years in LLM prompts
    progress: Progress | None = None
    echo: Callable[[str], None] = lambda msg: None


def new_run_dir(settings, suite: Suite, out: Path | None) -> Path:
    """`--out` where the user says; else <home>/runs/<suite>-<UTC stamp>, checked to stay in <home>/runs."""
    if out is not None:
        return Path(out)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return inside(settings.home / "runs", f"{suite.name}-{stamp}", what="run folder")


def start_run(run_dir: Path, suite: Suite, opts: RunOptions, resume: bool) -> dict:
    """Write suite.yaml and run.json, or check that a resumed run was made by the same suite and options."""
    meta_path = run_dir / "run.json"
    if resume:
        if not meta_path.is_file():
            raise SuiteError(f"{run_dir}: not a run folder (no run.json)")
        meta = json.loads(meta_path.read_text())
        if meta["fingerprint"] != suite.fingerprint() or meta.get("blind_year_shift") != opts.blind_year_shift:
            raise SuiteError(f"{run_dir}: made by a different suite configuration or --blind setting "
                             f"({meta['suite']}); start a new run instead of resuming")
        return meta
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SuiteError(f"{run_dir}: folder exists and is not empty (use --resume to continue a run)")
    run_dir.mkdir(parents=True, exist_ok=True)
    from trendcast.agent.engine import redact_json  # a model.url in the suite may carry a credential

    (run_dir / "suite.yaml").write_text(yaml.safe_dump(redact_json(suite.model_dump(mode="json")), sort_keys=False))
    meta = {"run_id": run_dir.name, "suite": suite.id, "fingerprint": suite.fingerprint(),
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "blind_year_shift": opts.blind_year_shift, "status": "running"}
    write_json(meta_path, meta)
    return meta


def run_settings(settings, suite: Suite, echo):
    """The settings the run uses: the workspace, or (data: files) a workspace made from the suite's files under
    <home>/eval-workspaces/<hash of the data section>/ — shared by every run of the same data, so re-runs reuse
    its ingested data, index and LLM cache (ingest and indexing are idempotent and incremental)."""
    if suite.data.source == "workspace":
        if not settings.sales_db.exists():
            raise SuiteError(f"workspace {settings.home} has no sales (run `trendcast demo` or `trendcast ingest "
                             "sales`), or use a suite with data.source: files")
        return settings
    from trendcast.agent import workspace
    from trendcast.forecasting.ingest import SalesMapping
    from trendcast.retrieval import DocMapping

    key = hashlib.sha256(json.dumps(suite.data.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    s = settings.model_copy(update={"home": settings.home / "eval-workspaces" / key[:12]})
    echo(f"workspace for the suite's files: {s.home}")
    for f in suite.data.sales:
        r = workspace.ingest_sales(s, Path(f.path), SalesMapping(**f.mapping))
        echo(f"sales: {r.series} series from {f.path}")
    for d in suite.data.docs:
        added = workspace.ingest_docs(s, Path(d.path), DocMapping(**d.mapping), d.kind, dataset=d.dataset).added
        echo(f"docs: {added} new from {d.path}")
    if suite.data.docs and suite.data.index:
        workspace.build_index(s)
    return s


def suite_engine(suite: Suite, settings) -> tuple[str, str | None]:
    """(engine, scheduler address) of a run: the suite's (--engine overrides it), else the settings'."""
    engine = suite.engine or settings.engine
    same = engine == settings.engine
    return engine, suite.engine_address or (settings.engine_address if same else None)


def check_endpoints(settings, suite: Suite) -> None:
    for v in suite.variants:
        if v.adjuster == "llm" and not variant_settings(settings, v).llm.configured:
            raise SuiteError(f"variant {v.name!r} needs an LLM endpoint: set TRENDCAST_LLM_URL (or --llm-url, or "
                             f"model.url in the suite), or leave it out with --skip {v.name}")


def run_suite(suite: Suite, settings, run_dir: Path, *, resume: bool = False,
              opts: RunOptions | None = None) -> Path:
    """Run (or resume) a suite into `run_dir` and write its artifacts; returns run_dir."""
    from trendcast.forecasting.distributed import engine_session

    opts = opts or RunOptions()
    check_endpoints(settings, suite)
    # the engine first: a missing extra or an unreachable scheduler is exit 2 before anything is written
    with engine_session(*suite_engine(suite, settings), suite.n_jobs) as session:
        meta = start_run(run_dir, suite, opts, resume)
        meta["engine"] = session.describe()
        t0 = dt.datetime.now(dt.timezone.utc)
        workspace_settings = settings  # the registry is the user's workspace's, not a files suite's own workspace
        settings = run_settings(settings, suite, opts.echo)
        run = _baselines(suite, settings, run_dir, session, opts)
        return _finish(suite, settings, workspace_settings, run_dir, meta, t0, opts, session, *run)


def _baselines(suite: Suite, settings, run_dir: Path, session, opts: RunOptions):
    """The run's grid of cells with their bulk baselines (on the session's engine), and what the rest needs."""
    from trendcast.agent import workspace
    from trendcast.forecasting.frequency import season_length

    store = workspace.sales_store(settings)
    all_series = store.series()
    series = select_series(all_series, suite)
    freq = str(series["freq"].iloc[0])
    panel = store.panel(series["unique_id"].tolist())
    origins = suite.origins.dates(freq)
    grid, excluded = plan_grid(panel, freq, origins, suite.horizon, 2 * season_length(freq) + 1)
    for uid, why in excluded.items():
        opts.echo(f"left out {uid}: {why}")
    if grid.empty:
        raise SuiteError(f"suite {suite.name!r}: no series can be scored at origins {origins[0]}..{origins[-1]}")
    opts.echo(f"{grid['unique_id'].nunique()} series x {grid['origin'].nunique()} origins = {len(grid)} cells, "
              f"{len(suite.variants)} variants → {run_dir}")
    if session.distributed:
        opts.echo(f"baselines on {session.describe()}")
    base = compute_baselines(panel, grid, suite, freq, run_dir / "baselines",
                             _bar(opts, "baselines", grid["origin"].nunique()), session)
    return store, all_series, panel, freq, excluded, base


def _finish(suite, settings, workspace_settings, run_dir, meta, t0, opts, session, store, all_series, panel, freq,
            excluded, base) -> Path:
    from trendcast.eval.report import write_artifacts

    base = rolling_combined(base, list(suite.baseline.models), freq)
    if suite.baseline.calendar:
        from trendcast.eval.suite import CALENDAR, COMBINED

        base = rolling_combined(base, [m + CALENDAR for m in suite.baseline.models], freq, COMBINED + CALENDAR)
    cells = _variant_cells(suite, settings, store, all_series, base, run_dir, opts, session)
    cells, trust = add_trusted(cells, base, suite, freq, settings.flat_band_pct)
    panel_used = panel[panel["ds"] <= base["period_end"].max()]
    write_artifacts(run_dir, suite, settings, meta=meta, base=base, cells=cells, panel=panel_used, freq=freq,
                    excluded=excluded, started=t0, blind_year_shift=opts.blind_year_shift, trust=trust)
    meta.update(status="done", finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    write_json(run_dir / "run.json", meta)
    try:
        register_run(workspace_settings, run_dir)  # `eval list` finds it wherever --out put it
    except OSError as exc:  # the run is done all the same; only the listing misses it
        opts.echo(f"could not register the run in {workspace_settings.home}: {exc}")
    return run_dir


def _variant_cells(suite, settings, store, series, base, run_dir: Path, opts: RunOptions,
                   session=None) -> pd.DataFrame:
    """Every (variant, origin) part: read when already written, else computed and written. `series`: the
    workspace's whole series table (past cases look at parents and siblings outside the suite too). On a
    distributed `session` the past-case backtests are computed on its workers first (agent.backtest_warm)."""
    origins = sorted(base["origin"].unique())
    parts, todo = [], []
    for origin in origins:
        for v in suite.variants:
            path = part_path(run_dir, v.name, origin)
            (parts.append(pd.read_parquet(path)) if path.exists() else todo.append((origin, v)))
    advance = _bar(opts, "variants", len(base) // max(len(origins), 1) * len(todo))
    members = list(suite.baseline.models)
    adjusted = {o: sorted({v.baseline for oo, v in todo if oo == o and v.adjuster != "none"}) for o in origins}
    search, backtests, preparer = None, None, None
    if any(adjusted.values()):
        from trendcast.agent import engine
        
        opts.echo("past cases: one backtest of the related series for every origin")
        freq = str(series.set_index("unique_id").loc[base["unique_id"].iloc[0], "freq"])
        as_ofs = sorted(pd.Timestamp(o).date() for o, b in adjusted.items() if b)
        ids = sorted(base["unique_id"].unique())
        if session is not None and session.distributed:
            from trendcast.agent.engine import warm_backtests as warm

            opts.echo(f"past-case backtests on {session.describe()}")
            warm(str(settings.sales_db), series, ids, freq, as_ofs, suite.horizon, session, session.workers)
        backtests = engine.precompute_backtests(store, series, ids, freq, as_ofs, suite.horizon)
        if suite.n_jobs > 1:
            from trendcast.eval.parallel import Preparer

            jobs = min(suite.n_jobs, sum(bool(b) for b in adjusted.values()))
            preparer = Preparer(jobs, settings, run_dir / "workers", series, ids, freq, as_ofs, suite.horizon)
        else:
            search = engine.EvidenceSearch(settings)
    try:
        for o, b in adjusted.items():
            if b and preparer is not None:
                preparer.submit(o, base[base["origin"] == o], b, members)
        for origin in origins:
            mine = [v for o, v in todo if o == origin]
            if not mine:
                continue
            oc = OriginContext(settings=settings, store=store, series=series,
                               base=base[base["origin"] == origin], horizon=suite.horizon, members=members,
                               search=search, backtests=backtests, blind_year_shift=opts.blind_year_shift)
            if preparer is not None and adjusted[origin]:
                oc.preset(preparer.result(origin))
            for v in mine:
                frame, meta = run_variant(oc, v, progress=advance)
                path = part_path(run_dir, v.name, origin)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_json(path.with_suffix(".json"), meta)
                write_parquet(frame, path)
                parts.append(frame)
    except BaseException:  # an error or an interrupt: the workers are terminated, not waited for
        if preparer is not None:
            preparer.close(abort=True)
        raise
    if preparer is not None:
        preparer.close()
    return pd.concat(parts, ignore_index=True)


def part_path(run_dir: Path, variant: str, origin) -> Path:
    """cells/<variant>/<origin>.parquet, checked to stay in the run's cells/ folder."""
    return inside(run_dir / "cells", variant, f"{pd.Timestamp(origin).date().isoformat()}.parquet",
                  what="variant part")


def _bar(opts: RunOptions, what: str, total: int) -> Callable[[int], None] | None:
    return opts.progress(what, total) if opts.progress and total else None


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False))
    tmp.replace(path)
