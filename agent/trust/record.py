"""An adjuster's record in the workspace, and applying the trust it earns to an answer.

The record of an adjuster × model × prompt (agent.trust.record_key) is every cell of a finished eval run in
<home>/runs whose `key` is that, and every past answer it gave (agent.answers_log), whose outcome period was
observed by the as-of (forecasting.periods.known_by): the raw proposal, the baseline it was made on, its spread and
the realised actual. One situation seen several times counts once (an eval cell before an answer, the newest run's
cell first). Only rows known at the as-of reach a learned weight or an interval.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from trendcast.agent.settings import Settings
from trendcast.agent.trust.learn import Learned, learn, record_key

RECORD_COLUMNS = ["key", "unique_id", "origin", "period_start", "period_end", "baseline", "pct", "actual", "sigma",
                  "ext_down", "ext_up"]


def finished_runs(home: Path) -> list[Path]:
    out = []
    for run in sorted((home / "runs").glob("*/")):
        try:
            done = json.loads((run / "run.json").read_text()).get("status") == "done"
        except (OSError, ValueError):
            continue
        if done and (run / "cells.parquet").is_file():
            out.append(run / "cells.parquet")
    return out


def known_rows(rows: pd.DataFrame, freq: str, as_of: dt.date) -> pd.DataFrame:
    """The rows whose whole outcome period was observed by as_of."""
    from trendcast.forecasting.periods import known_dates

    if rows.empty:
        return rows
    return rows.loc[known_dates(rows["period_start"], rows["period_end"], freq) <= np.datetime64(as_of)]


def run_cells(home: Path) -> list[pd.DataFrame]:
    """The raw record rows (RECORD_COLUMNS) of every finished eval run in <home>/runs, newest run first; `+trust`
    variants are derived and left out, and so are runs made before records were kept or that cannot be read."""
    parts = []
    for path in finished_runs(home):
        try:
            cells = pd.read_parquet(path)
        except Exception:  # an unreadable run is not a record
            continue
        if not set(RECORD_COLUMNS) <= set(cells.columns):
            continue
        parts.append(cells.loc[~cells["variant"].astype(str).str.endswith("+trust"), RECORD_COLUMNS])
    return parts[::-1]


def workspace_record(settings: Settings, key: str, freq: str, as_of: dt.date,
                     problems: list[str] | None = None) -> pd.DataFrame:
    """The record of `key` known at as_of: the workspace's finished eval runs (raw variants only), then its past
    answers (`problems` gets a line when record.sqlite cannot be read)."""
    from trendcast.agent.trust.answers_log import answered_record

    parts = [c[c["key"] == key] for c in run_cells(settings.home)]
    parts += [answered_record(settings, key, freq, as_of, problems)]  # newest run first, answers last
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    rows = pd.concat(parts, ignore_index=True).dropna(subset=["actual", "baseline", "pct", "sigma"])
    for col in ("origin", "period_start", "period_end"):
        rows[col] = pd.to_datetime(rows[col])
    rows = rows.drop_duplicates(subset=["unique_id", "period_start", "period_end", "origin"], keep="first")
    return known_rows(rows, freq, as_of).reset_index(drop=True)


def apply_trust(settings: Settings, situations: list, results: list) -> None:
    """Weigh each result's proposal by its record (in place): `proposed_pct` keeps the proposal, `pct` becomes the
    change applied, `learned` the agent.trust.Learned the forecast's interval comes from. The weighed proposals are
    then kept as past answers (agent.answers_log). When record.sqlite cannot be read or written, each weighed
    answer says so (a `record_unavailable` warning): its trust was learned without the past answers."""
    from trendcast.agent.warning_codes import RECORD_UNAVAILABLE, warn
    from trendcast.forecasting.adjust import direction

    cache: dict[tuple, Learned] = {}
    problems: list[str] = []
    for sit, res in zip(situations, results):
        if res.source == "none" or res.learned is not None:
            continue
        key = record_key(res.source, res.model, res.prompt)
        at = (key, sit.target.freq, sit.as_of)
        if at not in cache:
            cache[at] = learn(workspace_record(settings, key, sit.target.freq, sit.as_of, problems), key)
        learned = cache[at]
        res.proposed_pct, res.learned = res.pct, learned
        res.pct = learned.applied(res.pct)
        res.direction = direction(res.pct, settings.flat_band_pct)
    from trendcast.agent.trust.answers_log import log_answers

    log_answers(settings, situations, results, problems)
    if problems:
        for res in results:
            if res.learned is not None and not any(w.code == RECORD_UNAVAILABLE for w in res.warnings):
                res.warnings.append(warn(RECORD_UNAVAILABLE, problems[0]))
