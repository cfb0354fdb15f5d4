"""Scores: per-cell losses from utilsforecast, aggregated overall / per origin / per series, skill with paired CIs.

Every variant is one more "model" column of a StatsForecast-shaped frame (``unique_id, cutoff, ds, y, <model>,
<model>-lo-80, ...``, one row per cell: the period total) and utilsforecast computes each loss per
``(unique_id, cutoff)``. Each metric is then a ratio of sums over cells — ``sum(num) / sum(den)`` — so the overall
value, a subset's value and every bootstrap resample are computed the same way:

| metric | per-cell num | den | overall |
|---|---|---|---|
| mase | abs error / in-sample seasonal-naive MAE (utilsforecast.mase) | 1 | mean of cell MASEs |
| wape | abs error (utilsforecast.mae) | abs actual | sum abs error / sum abs actual |
| smape | utilsforecast.smape (0..1) | 1 | mean |
| pinball | mean pinball loss over 5 quantiles / seasonal-naive MAE (utilsforecast.scaled_mqloss) | 1 | mean |
| crps | 2 x mean pinball loss (utilsforecast.mqloss) | abs actual | scaled CRPS (Rangapuram 2021) |
| coverage_80/95 | actual inside the interval (utilsforecast.coverage) | 1 | share |
| direction | up/flat/down vs the last period right (forecasting.metrics.directions) | 1 | share |

The quantiles are 0.025, 0.1, 0.5, 0.9, 0.975: the 95/80 % bounds and the point forecast.
"""
from __future__ import annotations

from typing import TypedDict

import numpy as np
import pandas as pd

from trendcast.eval.significance import diff_ci, ratio_ci, resample_weights, skill_ci

LOWER_IS_BETTER = ("mase", "wape", "smape", "pinball", "crps")
SHARES = ("coverage_80", "coverage_95", "direction")
METRICS = LOWER_IS_BETTER + SHARES
NOMINAL = {"coverage_80": 0.80, "coverage_95": 0.95}
KEYS = ["unique_id", "origin"]


def training_frame(panel: pd.DataFrame, steps: int) -> pd.DataFrame:
    """The in-sample series the MASE scale is computed on, in the unit of the target: sums of `steps` periods."""
    train = panel[["unique_id", "ds", "y"]].sort_values(["unique_id", "ds"], ignore_index=True)
    if steps > 1:
        train["y"] = train.groupby("unique_id")["y"].transform(lambda s: s.rolling(steps).sum())
        train = train.dropna(subset=["y"])
    return train


def cell_losses(cells: pd.DataFrame, train: pd.DataFrame, season: int, flat_band_pct: float) -> pd.DataFrame:
    """Per (unique_id, origin, variant): `<metric>:num` and `<metric>:den` for every metric (see module doc).

    `cells`: one row per (unique_id, origin, variant) with cutoff, period_start, actual, last, forecast and the
    80/95 % bounds."""
    import utilsforecast.losses as ufl

    from trendcast.forecasting.metrics import CRPS_QUANTILES, directions

    variants = list(dict.fromkeys(cells["variant"]))
    alias = {v: f"m{i}" for i, v in enumerate(variants)}
    index = ["unique_id", "cutoff", "period_start", "actual", "origin"]
    wide = cells.assign(m=cells["variant"].map(alias)).pivot_table(
        index=index, columns="m", values=["forecast", "lo_80", "hi_80", "lo_95", "hi_95"], aggfunc="first")
    df = pd.DataFrame({c: wide.index.get_level_values(c) for c in index})
    df = df.rename(columns={"period_start": "ds", "actual": "y"})
    for m in alias.values():
        df[m] = wide[("forecast", m)].to_numpy()
        for b in ("lo_80", "hi_80", "lo_95", "hi_95"):
            df[f"{m}-{b.replace('_', '-')}"] = wide[(b, m)].to_numpy()
    models = list(alias.values())
    quant = {m: [f"{m}-lo-95", f"{m}-lo-80", m, f"{m}-hi-80", f"{m}-hi-95"] for m in models}
    per = {
        "mase": ufl.mase(df, models, season, train), "mae": ufl.mae(df, models), "smape": ufl.smape(df, models),
        "mqloss": ufl.mqloss(df, quant, CRPS_QUANTILES),
        "pinball": ufl.scaled_mqloss(df, quant, CRPS_QUANTILES, season, train),
        "coverage_80": ufl.coverage(df, models, 80), "coverage_95": ufl.coverage(df, models, 95),
    }
    base = df[["unique_id", "cutoff", "origin", "y"]]
    out = []
    for variant, m in alias.items():
        frame = base.copy()
        for name, res in per.items():
            frame = frame.merge(res[["unique_id", "cutoff", m]].rename(columns={m: name}), on=["unique_id", "cutoff"])
        frame["variant"] = variant
        out.append(frame)
    long = pd.concat(out, ignore_index=True).merge(
        cells[["unique_id", "origin", "variant", "forecast", "last"]], on=[*KEYS, "variant"])
    absy = long["y"].abs()
    with np.errstate(all="ignore"):
        hit = directions(100 * (long["forecast"] / long["last"] - 1), flat_band_pct) == \
            directions(100 * (long["y"] / long["last"] - 1), flat_band_pct)
    comp = {"mase": (long["mase"], 1.0), "wape": (long["mae"], absy), "smape": (long["smape"], 1.0),
            "pinball": (long["pinball"], 1.0), "crps": (2 * long["mqloss"], absy),
            "coverage_80": (long["coverage_80"].astype(float), 1.0),
            "coverage_95": (long["coverage_95"].astype(float), 1.0), "direction": (hit.astype(float), 1.0)}
    res = long[[*KEYS, "variant"]].copy()
    for name, (num, den) in comp.items():
        res[f"{name}:num"] = np.asarray(num, dtype="float64")
        res[f"{name}:den"] = np.broadcast_to(np.asarray(den, dtype="float64"), len(res))
    return res


def aggregate(losses: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Point values of every metric per group (e.g. ["variant"], ["variant", "origin"])."""
    sums = losses.groupby(by, sort=True)[[c for c in losses.columns if ":" in c]].sum()
    out = pd.DataFrame(index=sums.index)
    for m in METRICS:
        with np.errstate(all="ignore"):
            out[m] = sums[f"{m}:num"] / sums[f"{m}:den"]
    out["cells"] = losses.groupby(by, sort=True).size()
    return out.reset_index()


def aligned(losses: pd.DataFrame, variants: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The cells every one of `variants` has (the paired set), and each variant's rows in that order."""
    keys: pd.DataFrame | None = None
    for v in variants:
        k = losses.loc[losses["variant"] == v, KEYS]
        keys = k if keys is None else keys.merge(k, on=KEYS)
    assert keys is not None, "no variants"
    keys = keys.sort_values(KEYS, ignore_index=True)
    rows = {v: keys.merge(losses[losses["variant"] == v], on=KEYS, how="left") for v in variants}
    return keys, rows


class VariantSummary(TypedDict):
    """One variant in `summarize`: cells scored, each metric with its CI, and each against the reference."""
    cells: int
    metrics: dict[str, dict]
    vs_reference: dict[str, dict]


def summarize(losses: pd.DataFrame, reference: str, resamples: int, seed: int, unit: str = "cell"
              ) -> dict[str, VariantSummary]:
    """Per variant: each metric with its 95 % CI, and against the reference (paired, same resamples for all):
    skill = 1 - metric / metric_ref for the losses, the difference for the shares."""
    variants = list(dict.fromkeys(losses["variant"]))
    keys, rows = aligned(losses, variants)
    clusters = keys["origin"].astype(str) if unit == "origin" else np.arange(len(keys))
    w = resample_weights(np.asarray(clusters), resamples, seed)
    ref = rows[reference]
    out: dict[str, VariantSummary] = {}
    for v, r in rows.items():
        entry: VariantSummary = {"cells": int(len(r)), "metrics": {}, "vs_reference": {}}
        for m in METRICS:
            num, den = r[f"{m}:num"].to_numpy(), r[f"{m}:den"].to_numpy()
            entry["metrics"][m] = ratio_ci(num, den, w).as_dict()
            if v == reference:
                continue
            args = (num, den, ref[f"{m}:num"].to_numpy(), ref[f"{m}:den"].to_numpy(), w)
            est = skill_ci(*args) if m in LOWER_IS_BETTER else diff_ci(*args)
            entry["vs_reference"][f"{m}_skill" if m in LOWER_IS_BETTER else f"{m}_diff"] = est.as_dict()
        out[v] = entry
    return out
