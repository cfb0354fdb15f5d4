"""Finished runs: finding them, listing them, and comparing two of them cell by cell with paired intervals.

A run is found under <home>/runs, or through the workspace's registry of runs, <home>/runs.jsonl: one JSON line
{"path", "registered"} appended by every run that finishes (wherever `--out` put it), so `eval list` shows runs
written outside the workspace too, and says when a registered run's folder is gone.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.eval.errors import SuiteError
from trendcast.eval.scoring import KEYS, LOWER_IS_BETTER, METRICS
from trendcast.eval.significance import diff_ci, resample_weights, skill_ci


def runs_dir(settings) -> Path:
    return settings.home / "runs"


def registry_path(settings) -> Path:
    return settings.home / "runs.jsonl"


def register_run(settings, run_dir: Path) -> None:
    """Record `run_dir` (resolved) in the workspace's registry of runs: one appended line, one write."""
    path = registry_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"path": str(Path(run_dir).resolve()),
                       "registered": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))  # O_APPEND: lines of runs finishing at once do not interleave
    finally:
        os.close(fd)


def registered_runs(settings) -> list[Path]:
    """The run folders in the registry, first registration order, each once; unreadable lines are skipped."""
    try:
        text = registry_path(settings).read_text(encoding="utf-8")
    except OSError:
        return []
    out: dict[str, Path] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            out.setdefault(str(entry["path"]), Path(entry["path"]))
        except (ValueError, KeyError, TypeError):  # a torn or hand-edited line
            continue
    return list(out.values())


def find_run(settings, ref: str | Path) -> Path:
    """A run folder given as a path (anywhere the user says) or as a run id: a folder right under <home>/runs, else
    the one registered run folder of that name."""
    if (Path(ref) / "run.json").is_file():
        return Path(ref)
    run_id = str(ref)
    if run_id not in ("", ".", "..") and Path(run_id).name == run_id and "\\" not in run_id:  # one folder name
        if (runs_dir(settings) / run_id / "run.json").is_file():
            return runs_dir(settings) / run_id
        named = [p for p in registered_runs(settings) if p.name == run_id and (p / "run.json").is_file()]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise SuiteError(f"{ref}: {len(named)} registered runs have that name ({', '.join(map(str, named))}); "
                             "give the folder's path")
    raise SuiteError(f"{ref}: no such run (a folder with run.json, or a run id from `trendcast eval list`)")


def list_runs(settings) -> list[dict]:
    """Every run under <home>/runs or in the registry, newest first: id, suite, started, status, variants, headline
    numbers, path. A registered run whose folder (or run.json) is gone is listed with status "missing"."""
    out, seen = [], set()
    for run_json in sorted(runs_dir(settings).glob("*/run.json")):
        seen.add(run_json.parent.resolve())
        out.append(_row(run_json.parent, registered=False))
    for run in registered_runs(settings):
        if run.resolve() in seen:
            continue
        seen.add(run.resolve())
        if (run / "run.json").is_file():
            out.append(_row(run, registered=True))
        else:
            out.append({"run_id": run.name, "suite": None, "started": None, "status": "missing", "blind": False,
                        "variants": [], "best": None, "best_mase": None, "best_skill": None, "path": str(run),
                        "registered": True})
    return sorted(out, key=lambda r: r["started"] or "", reverse=True)


def _row(run: Path, registered: bool) -> dict:
    meta = json.loads((run / "run.json").read_text())
    row = {"run_id": run.name, "suite": meta.get("suite"), "started": meta.get("started"),
           "status": meta.get("status"), "blind": bool(meta.get("blind_year_shift")), "variants": [],
           "best": None, "best_mase": None, "best_skill": None, "path": str(run), "registered": registered}
    res_path = run / "results.json"
    if res_path.is_file():
        res = json.loads(res_path.read_text())
        row["variants"] = list(res["variants"])
        best = res["leaderboard"][0]
        row["best"] = best
        row["best_mase"] = res["variants"][best]["metrics"]["mase"]["value"]
        row["best_skill"] = (res["variants"][best]["vs_reference"].get("mase_skill") or {}).get("value")
        row["reference"] = res["reference"]
    return row


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
