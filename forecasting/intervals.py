"""Prediction intervals for the SUM of several forecast steps (e.g. the weeks of a month).

Summing per-step bounds is wrong: it assumes the step errors are perfectly correlated and gives intervals that are
too wide (and treating them as independent gives intervals too narrow for trending models). We use the model's own
per-step intervals to recover how its errors are correlated:

1. Per step i and side, sigma_i = (hi_i - mean_i) / z (or (mean_i - lo_i) / z), z the normal quantile of the level.
2. The models we use (ETS, ARIMA, Theta, naive and seasonal naive) forecast with errors that are linear in the future
   one-step innovations: e_i = sum_{k<=i} a_{i-k} eps_k, eps unit-variance and independent, so
   sigma_i^2 = a_0^2 + ... + a_{i-1}^2. Hence a_j = sqrt(sigma_{j+1}^2 - sigma_j^2) (sigma_0 = 0).
3. Var(sum over the period's steps) = sum_k (sum_{i in period, i>=k} a_{i-k})^2, and the sum's bound is
   sum(mean) +/- z * sqrt(Var).

This is exact when the weights a_j are non-negative — random walk (Var of an h-step sum = sigma^2 h(h+1)(2h+1)/6),
simple/Holt exponential smoothing, seasonal naive within a season (independent steps: sqrt(h) sigma) — and
conservative otherwise (a negative weight is taken as positive, which can only raise the variance of a sum). It is
never wider than summing the per-step bounds (Cauchy-Schwarz; should a model's sigma ever shrink with the horizon,
the larger earlier sigma is carried forward) and equals the model's own interval for a one-step period. Levels are handled separately (each from its own bounds) and so are the two sides, which keeps asymmetric
per-step intervals asymmetric. Coverage on real data is checked in tests/test_forecasting_intervals.py.
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

LEVELS = (80, 95)


def z_value(level: float) -> float:
    """Two-sided normal quantile: 80 → 1.2816, 95 → 1.9600."""
    return NormalDist().inv_cdf(0.5 + level / 200.0)


def sum_sd(sigma: np.ndarray, mask: np.ndarray) -> float:
    """Standard deviation of the sum of the masked steps' errors, from the per-step error sds (see module doc).

    NaN when a sd the sum depends on (any step up to the period's last) is not finite: an unknown interval is not a
    zero-width one (forecasting.combine then leaves that member out)."""
    sigma = np.asarray(sigma, dtype="float64")
    w = np.asarray(mask, dtype="float64")
    used = np.flatnonzero(w)
    if used.size and not np.isfinite(sigma[: used[-1] + 1]).all():
        return float("nan")
    sigma = np.maximum.accumulate(np.clip(np.nan_to_num(sigma), 0.0, None))
    var = sigma**2
    a = np.sqrt(np.diff(var, prepend=0.0).clip(min=0.0))
    # c_k = sum_{i >= k, i in period} a_{i-k}: correlate the period's indicator with the weights
    c = np.correlate(w, a, mode="full")[len(a) - 1 :]
    return float(np.sqrt(c @ c))


def period_sum(mean: np.ndarray, bounds: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    """Total and 80/95 % bounds of the sum of the masked steps.

    `bounds` holds per-step arrays ``lo_80, hi_80, lo_95, hi_95``; returns ``total, lo_80, hi_80, lo_95, hi_95``.
    A bound is NaN when a per-step bound it depends on is not finite (never silently zero-width).
    """
    mean = np.asarray(mean, dtype="float64")
    mask = np.asarray(mask, dtype=bool)
    total = float(mean[mask].sum())
    out = {"total": total}
    for level in LEVELS:
        z = z_value(level)
        down = (mean - np.asarray(bounds[f"lo_{level}"], dtype="float64")) / z
        up = (np.asarray(bounds[f"hi_{level}"], dtype="float64") - mean) / z
        out[f"lo_{level}"] = total - z * sum_sd(down, mask)
        out[f"hi_{level}"] = total + z * sum_sd(up, mask)
    return out
