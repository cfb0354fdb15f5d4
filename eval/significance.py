"""Paired bootstrap over (series, origin) cells.

Every metric the harness reports is a ratio of sums over cells, sum(num) / sum(den) (MASE: num = scaled error,
den = 1; WAPE: num = |error|, den = |actual|; ...), so a resample only reweights cells. The same resample weights
are applied to both sides of a comparison — that is what makes it paired. `unit="origin"` resamples whole origins
(all series of a month together), which respects the correlation between series hit by the same shock; `"cell"`
resamples cells independently.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHA = 0.05


@dataclass(frozen=True)
class Estimate:
    value: float
    lo: float
    hi: float

    def as_dict(self) -> dict:
        return {"value": self.value, "lo": self.lo, "hi": self.hi}


def resample_weights(clusters: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_cells) counts: how often each cell is drawn in each resample (whole clusters drawn together).

    `clusters`: one label per cell (all distinct for a plain cell bootstrap)."""
    labels, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    k = len(labels)
    if k == 0:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(k, np.full(k, 1.0 / k), size=resamples)
    return counts[:, inverse].astype(float)


def _ratio(num: np.ndarray, den: np.ndarray, w: np.ndarray | None = None):
    if w is None:
        d = den.sum()
        return num.sum() / d if d else np.nan
    d = w @ den
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d != 0, (w @ num) / np.where(d != 0, d, 1.0), np.nan)


def _interval(point: float, draws: np.ndarray) -> Estimate:
    draws = draws[np.isfinite(draws)]
    if not np.isfinite(point) or len(draws) == 0:
        return Estimate(float(point), float("nan"), float("nan"))
    lo, hi = np.quantile(draws, [ALPHA / 2, 1 - ALPHA / 2])
    return Estimate(float(point), float(lo), float(hi))


def ratio_ci(num, den, weights: np.ndarray) -> Estimate:
    """sum(num)/sum(den) with a percentile bootstrap 95 % interval."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    return _interval(_ratio(num, den), _ratio(num, den, weights))


def skill_ci(num, den, ref_num, ref_den, weights: np.ndarray) -> Estimate:
    """Skill against the reference, 1 - metric / metric_ref (positive: better than the reference), paired."""
    a = [np.asarray(x, float) for x in (num, den, ref_num, ref_den)]
    with np.errstate(invalid="ignore", divide="ignore"):
        point = 1.0 - _ratio(a[0], a[1]) / _ratio(a[2], a[3])
        draws = 1.0 - _ratio(a[0], a[1], weights) / _ratio(a[2], a[3], weights)
    return _interval(point, draws)


def diff_ci(num, den, ref_num, ref_den, weights: np.ndarray) -> Estimate:
    """metric - metric_ref, paired."""
    a = [np.asarray(x, float) for x in (num, den, ref_num, ref_den)]
    point = _ratio(a[0], a[1]) - _ratio(a[2], a[3])
    draws = _ratio(a[0], a[1], weights) - _ratio(a[2], a[3], weights)
    return _interval(point, draws)
