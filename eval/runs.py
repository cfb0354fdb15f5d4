"""Finished runs: finding them, listing them, and comparing two of them cell by cell with paired intervals."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from eval.errors import SuiteError
from eval.scoring import KEYS, LOWER_IS_BETTER, METRICS
from eval.significance import diff_ci, resample_weights, skill_ci


def runs_dir(settings) -> Path:
    return settings.home / "runs"


def find_run(settings, ref: str | Path) -> Path:
    """A run folder given as a path (anywhere the user says) or as a run id: a folder right under <home>/runs."""
    if (Path(ref) / "run.json").is_file():
        return Path(ref)
    run_id = str(ref)
    if run_id not in ("", ".", "..") and Path(run_id).name == run_id and "\\" not in run_id:  # one folder name
        if (runs_dir(settings) / run_id / "run.json").is_file():
            return runs_dir(settings) / run_id
    raise SuiteError(f"{ref}: no such run (a folder with run.json, or a run id from `trendcast eval list`)")


def list_runs(settings) -> list[dict]:
    """Every run under <home>/runs, newest first: id, suite, started, status, variants, headline numbers."""
    out = []
    for run_json in sorted(runs_dir(settings).glob("*/run.json")):
        meta = json.loads(run_json.read_text())
        row = {"run_id": run_json.parent.name, "suite": meta.get("suite"), "started": meta.get("started"),
               "status": meta.get("status"), "blind": bool(meta.get("blind_year_shift")), "variants": [],
               "best": None, "best_mase": None, "best_skill": None, "path": str(run_json.parent)}
        res_path = run_json.parent / "results.json"
        if res_path.is_file():
            res = json.loads(res_path.read_text())
            row["variants"] = list(res["variants"])
            best = res["leaderboard"][0]
            row["best"] = best
            row["best_mase"] = res["variants"][best]["metrics"]["mase"]["value"]
            row["best_skill"] = (res["variants"][best]["vs_reference"].get("mase_skill") or {}).get("value")
            row["reference"] = res["reference"]
        out.append(row)
    return sorted(out, key=lambda r: r["started"] or "", reverse=True)


def load_cells(run: Path) -> pd.DataFrame:
    path = run / "cells.parquet"
    if not path.is_file():
        raise SuiteError(f"{run}: the run has not finished (no cells.parquet); resume it with --resume {run}")
    return pd.read_parquet(path)


def compare(run_a: Path, run_b: Path, pairs: list[tuple[str, str]] | None = None, resamples: int = 2000,
            seed: int = 0) -> list[dict]:
    """Per variant pair and metric: A, B, B − A and (losses) B's skill against A, with paired 95 % intervals on
    the cells both runs scored. Default pairs: the variants both runs have, by name."""
    a, b = load_cells(run_a), load_cells(run_b)
    if pairs is None:
        pairs = [(v, v) for v in dict.fromkeys(a["variant"]) if v in set(b["variant"])]
        if not pairs:
            raise SuiteError("the runs share no variant name; name pairs with --variant A_NAME:B_NAME")
    rows = []
    for va, vb in pairs:
        left, right = a[a["variant"] == va], b[b["variant"] == vb]
        if left.empty or right.empty:
            raise SuiteError(f"variant {va if left.empty else vb!r} is not in run "
                             f"{run_a.name if left.empty else run_b.name}")
        both = left.merge(right, on=KEYS, suffixes=("_a", "_b"))
        if both.empty:
            raise SuiteError(f"{va} / {vb}: the runs share no (series, origin) cell")
        w = resample_weights(np.arange(len(both)), resamples, seed)
        moved = int((~np.isclose(both["actual_a"], both["actual_b"], rtol=1e-9)).sum())
        for m in METRICS:
            na, da = both[f"{m}:num_a"].to_numpy(), both[f"{m}:den_a"].to_numpy()
            nb, db = both[f"{m}:num_b"].to_numpy(), both[f"{m}:den_b"].to_numpy()
            d = diff_ci(nb, db, na, da, w)
            row = {"variant_a": va, "variant_b": vb, "metric": m, "cells": len(both), "a": _ratio(na, da),
                   "b": _ratio(nb, db), "diff": d.as_dict(), "actuals_differ": moved}
            if m in LOWER_IS_BETTER:
                row["skill_b_vs_a"] = skill_ci(nb, db, na, da, w).as_dict()
            rows.append(row)
    return rows


def _ratio(num, den) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d else float("nan")
