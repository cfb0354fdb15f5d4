"""`trendcast trust`: every adjuster × model × prompt's record in the workspace, its trust and its value added.

The record is agent.record's (finished eval runs' raw cells with a known outcome, one per situation). Forecast
value added (FVA) compares the adjuster's forecast with the baseline it adjusted, cell by cell: 1 − mean|log
error of the adjusted forecast| / mean|log error of the baseline|, positive when the adjustments helped, with a
paired bootstrap interval (eval.significance, the same resamples on both sides). It is reported for the raw
proposals and for the trusted ones (each cell weighed by the trust fitted on the cells *before* its origin — what
an answer at that origin would have applied).
"""
from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import pandas as pd

from trendcast.eval.significance import resample_weights, skill_ci


def all_records(settings, freq: str | None = None) -> pd.DataFrame:
    """Every key's record rows from the workspace's finished runs (keys `none` left out)."""
    from trendcast.agent import engine
    
    parts = [c[c["key"] != "none"] for c in engine.run_cells(settings.home)]
    if not parts:
        return pd.DataFrame(columns=engine.RECORD_COLUMNS)
    rows = pd.concat(parts, ignore_index=True).dropna(subset=["actual", "baseline", "pct", "sigma"])
    rows = rows[(rows["actual"] > 0) & (rows["baseline"] > 0)]
    return rows.drop_duplicates(subset=["key", "unique_id", "period_start", "period_end", "origin"], keep="first")


def trust_rows(settings, *, as_of: dt.date | None = None, freq: str = "MS", resamples: int = 2000,
               seed: int = 0) -> list[dict]:
    """One row per key: record size, trust now (fitted on rows known at as_of, default: all), FVA raw and trusted."""
    from trendcast.agent import engine
    
    rows = all_records(settings)
    if as_of is not None:
        rows = engine.known_rows(rows, freq, as_of)
    out = []
    for group, rec in rows.groupby("key", sort=True):
        key = cast(str, group)  # record keys are text (agent.trust.record_key)
        rec = rec.sort_values("origin").reset_index(drop=True)
        t = engine.learn_trust(rec, key)
        trusted = _trusted_pct(rec, key, freq)
        a, b = rec["actual"].to_numpy(float), rec["baseline"].to_numpy(float)
        base_err = np.abs(np.log(a / b))
        raw_err = np.abs(np.log(a / (b * (1 + rec["pct"].to_numpy(float) / 100))))
        tr_err = np.abs(np.log(a / (b * (1 + trusted / 100))))
        w = resample_weights(np.arange(len(rec)), resamples, seed)
        one = np.ones(len(rec))
        out.append({"key": key, "n": len(rec), "origins": int(rec["origin"].nunique()),
                    "first": str(pd.Timestamp(rec["origin"].min()).date()),
                    "last": str(pd.Timestamp(rec["origin"].max()).date()),
                    "trust_down": t.down, "trust_up": t.up, "n_down": t.n_down, "n_up": t.n_up,
                    "fva_raw": skill_ci(raw_err, one, base_err, one, w).as_dict(),
                    "fva_trusted": skill_ci(tr_err, one, base_err, one, w).as_dict()})
    return out


def _trusted_pct(rec: pd.DataFrame, key: str, freq: str) -> np.ndarray:
    """Each row's proposal weighed by the trust fitted on the rows known at its origin."""
    from trendcast.agent import engine
    
    out = np.empty(len(rec))
    for origin, idx in rec.groupby("origin").groups.items():
        at = pd.Timestamp(cast(dt.datetime, origin)).date()  # the record's origins are datetimes
        past = engine.known_rows(rec[rec["origin"] < origin], freq, at)
        t = engine.learn_trust(past, key)
        out[np.asarray([rec.index.get_loc(i) for i in idx])] = [t.applied(p) for p in rec.loc[idx, "pct"]]
    return out
