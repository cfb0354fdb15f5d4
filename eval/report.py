"""A finished run's artifacts: cells.parquet / cells.csv, results.json, leaderboard.md and the plots."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.eval.scoring import METRICS, aggregate, cell_losses, summarize, training_frame
from trendcast.eval.suite import Suite

HONESTY = (
    "Baselines: StatsForecast cross_validation per block of `refit_every` origins; parameters are estimated on the "
    "last `train_window` periods up to the block's first origin, later origins of the block re-run the fitted model "
    "(forward, no re-estimation) over data up to that origin. Evidence is searched as of the origin (nothing dated "
    "after it), past cases (few-shot examples, analogues) have outcome periods ending on or before the origin.")


def write_artifacts(run_dir: Path, suite: Suite, settings, *, meta: dict, base: pd.DataFrame, cells: pd.DataFrame,
                    panel: pd.DataFrame, freq: str, excluded: dict, started: dt.datetime,
                    blind_year_shift: int | None, trust: pd.DataFrame | None = None) -> dict:
    from trendcast.eval.leaderboard import render_leaderboard
    from trendcast.eval.plots import write_plots
    from trendcast.forecasting.frequency import season_length

    grid_cols = ["unique_id", "origin", "cutoff", "period_start", "period_end", "actual", "last", "steps"]
    full = cells.merge(base[grid_cols], on=["unique_id", "origin"], how="left", validate="many_to_one")
    train = training_frame(panel, int(base["steps"].median()))
    losses = cell_losses(full, train, season_length(freq), settings.flat_band_pct)
    names = base[["unique_id"]].drop_duplicates().merge(_names(settings), on="unique_id", how="left")
    table = full.merge(losses, on=["unique_id", "origin", "variant"], how="left").merge(names, on="unique_id")
    for m in METRICS:
        with np.errstate(all="ignore"):
            table[m] = table[f"{m}:num"] / table[f"{m}:den"]
    table.to_parquet(run_dir / "cells.parquet", index=False)  # with each metric's num/den (for `eval compare`)
    table.drop(columns=[c for c in table.columns if ":" in c]).to_csv(run_dir / "cells.csv", index=False,
                                                                         float_format="%.6g")
    results = _redacted(build_results(run_dir, suite, meta=meta, losses=losses, cells=table, base=base, panel=panel,
                                      settings=settings, excluded=excluded, started=started,
                                      blind_year_shift=blind_year_shift, trust=trust))
    from trendcast.eval.harness import write_json

    write_json(run_dir / "results.json", results)
    (run_dir / "leaderboard.md").write_text(render_leaderboard(results), encoding="utf-8")
    write_plots(run_dir / "plots", results, table, suite.reference)
    return results


def build_results(run_dir, suite: Suite, *, meta, losses, cells, base, panel, settings, excluded, started,
                  blind_year_shift, trust=None) -> dict:
    from trendcast.eval.trusted import trusted_name

    b = suite.bootstrap
    summary = summarize(losses, suite.reference, b.resamples, b.seed, b.unit)
    variants = {}
    derived = [v.model_copy(update={"name": trusted_name(v.name)}) for v in suite.variants
               if trusted_name(v.name) in summary]
    for v in [*suite.variants, *derived]:
        entry = {"adjuster": v.adjuster, "baseline": v.baseline, **summary[v.name], **_batch_meta(run_dir, v.name),
                 "trusted": v in derived}
        mine = cells[cells["variant"] == v.name]
        entry["fallbacks"] = int(mine["fallback"].sum())
        if v.adjuster == "llm":
            from trendcast.eval.variants import variant_settings

            s = variant_settings(settings, v)
            entry.update(prompt=s.prompt, model=s.llm.model, url=_public(s.llm.url),
                         llm_problems=problem_counts(mine), dialects=dialect_counts(mine))
        variants[v.name] = entry
    order = sorted(variants, key=lambda n: _sort_key(variants[n]["metrics"]["mase"]["value"]))
    per_origin = aggregate(losses, ["variant", "origin"])
    per_series = aggregate(losses, ["variant", "unique_id"])
    now = dt.datetime.now(dt.timezone.utc)
    return {
        "run_id": run_dir.name, "suite": {"id": suite.id, "name": suite.name, "version": suite.version,
                                          "fingerprint": suite.fingerprint(),
                                          "config": suite.model_dump(mode="json")},
        "started": meta["started"], "finished": now.isoformat(timespec="seconds"),
        "seconds": round((now - started).total_seconds(), 1), "versions": versions(), "git": git_info(),
        "data": {"workspace": str(settings.home), "datasets": _datasets(settings), "panel_sha256": panel_hash(panel),
                 "series": int(base["unique_id"].nunique()), "origins": sorted(_iso(base["origin"].unique())),
                 "cells": int(len(base)), "excluded_series": excluded, "periods": _periods(base)},
        "honesty": {"refit_every": suite.baseline.refit_every, "train_window": suite.baseline.train_window,
                    "statement": HONESTY},
        "blind": {"year_shift": blind_year_shift} if blind_year_shift else None,
        "reference": suite.reference, "bootstrap": b.model_dump(), "leaderboard": order, "variants": variants,
        "per_origin": _records(per_origin, "origin"), "per_series": _records(per_series, "unique_id"),
        "windows": _windows(suite, losses), "trust": [] if trust is None else _records(trust, "origin"),
    }


def _windows(suite: Suite, losses: pd.DataFrame) -> list[dict]:
    """Each of the suite's windows scored on its own: per variant MASE, coverage and skill vs the reference."""
    b, out = suite.bootstrap, []
    for w in suite.windows:
        sub = losses[w.contains(losses["origin"]).to_numpy()]
        if sub.empty:
            continue
        summary = summarize(sub, suite.reference, b.resamples, b.seed, b.unit)
        out.append({"name": w.name, "start": w.start, "end": w.end, "outside": w.outside,
                    "origins": int(sub["origin"].nunique()),
                    "variants": {v: {"cells": e["cells"], "mase": e["metrics"]["mase"],
                                     "coverage_80": e["metrics"]["coverage_80"],
                                     "coverage_95": e["metrics"]["coverage_95"],
                                     "mase_skill": e["vs_reference"].get("mase_skill")}
                                 for v, e in summary.items()}})
    return out


def problem_counts(cells: pd.DataFrame) -> dict[str, int]:
    """How many replies were rejected, by kind (agent.llm.problems.KINDS), over these cells: most frequent first.
    Cells answered from the LLM cache rejected nothing in this run; parts written before the column existed count 0."""
    if "llm_problems" not in cells:
        return {}
    counts: dict[str, int] = {}
    for kinds in cells["llm_problems"].fillna(""):
        for kind in str(kinds).split():
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def dialect_counts(cells: pd.DataFrame) -> dict[str, int]:
    """The structured-output dialect(s) the server accepted, with the number of cells each answered."""
    if "dialect" not in cells:
        return {}
    used = cells["dialect"].fillna("").astype(str)
    return {str(k): int(n) for k, n in used[used != ""].value_counts().sort_index().items()}


def _periods(base: pd.DataFrame) -> dict[str, str]:
    """origin → the period its forecasts are for (``2020-04``)."""
    from trendcast.forecasting.periods import Period

    first = base.drop_duplicates("origin").sort_values("origin")
    return {pd.Timestamp(origin).date().isoformat(): Period(pd.Timestamp(start).date(), pd.Timestamp(end).date()).label
            for origin, start, end in zip(first["origin"], first["period_start"], first["period_end"])}


def _batch_meta(run_dir: Path, variant: str) -> dict:
    """Seconds and LLM call counts summed over the variant's (origin) batches."""
    seconds = 0.0
    llm: dict[str, int] = {}
    for p in sorted((run_dir / "cells" / variant).glob("*.json")):
        m = json.loads(p.read_text())
        seconds += m.get("seconds", 0.0)
        for k, v in (m.get("llm") or {}).items():
            llm[k] = llm.get(k, 0) + v
    return {"seconds": round(seconds, 2), **({"llm": llm} if llm else {})}


def _sort_key(value: float) -> float:
    return value if np.isfinite(value) else float("inf")


def _records(frame: pd.DataFrame, key: str) -> list[dict]:
    frame = frame.copy()
    if key == "origin":
        frame["origin"] = _iso(frame["origin"])
    return json.loads(frame.to_json(orient="records"))


def _iso(values) -> list[str]:
    return [pd.Timestamp(x).date().isoformat() for x in values]


def _names(settings) -> pd.DataFrame:
    from trendcast.agent import workspace
    
    return workspace.sales_store(settings).series()[["unique_id", "name", "level"]]


def _datasets(settings) -> dict:
    from trendcast.agent import workspace
    
    d = workspace.sales_store(settings).datasets()
    return {str(r.name): {"file": r.file, "file_hash": r.file_hash} for r in d.itertuples(index=False)}


def panel_hash(panel: pd.DataFrame) -> str:
    """sha256 of exactly the sales the run scored (ids, dates, values)."""
    p = panel.sort_values(["unique_id", "ds"])
    h = hashlib.sha256()
    h.update("\n".join(p["unique_id"].astype(str)).encode())
    h.update(pd.DatetimeIndex(p["ds"]).to_numpy("int64").tobytes())
    h.update(p["y"].to_numpy("float64").tobytes())
    return h.hexdigest()


def versions() -> dict:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("trendcast", "statsforecast", "utilsforecast", "numpy", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def git_info() -> dict:
    root = Path(__file__).resolve().parents[1]

    def git(*args) -> str | None:
        try:
            r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _public(url: str | None) -> str | None:
    from trendcast.agent.engine import public_url

    return public_url(url)


def _redacted(results: dict) -> dict:
    """results with no credential in any URL (a suite's model.url may carry one)."""
    from trendcast.agent.engine import redact_json

    return redact_json(results)
