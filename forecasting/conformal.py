"""Prediction intervals from a forecast's own past errors (split conformal, normalised scores).

A forecast's error is measured on the log scale, relative to how uncertain it should be on that side:

    width_down = sigma + max(|move|, ext_down),  width_up = sigma + max(|move|, ext_up)

`sigma` is the baseline's own spread (`log_sigma`, from its 80 % interval), `move` the log change an adjustment
applied, `ext_down` / `ext_up` how far recent breaks extend each side (agent.carry.break_extents: the latest miss,
when it was a break, on its own side — the sales may keep falling as far again — and the breaks just before it on
both sides, since after a break the next periods may overshoot either way; 0 in ordinary times). The score of a past forecast is |log(actual / forecast)| divided by the width of the side
the actual fell on, and the interval at level L is [forecast * exp(-q_L width_down), forecast * exp(q_L width_up)],
q_L the conformal quantile of the past scores (the ceil((n + 1) L)-th smallest of n). So a bold move gets a wide
interval — its own size is part of the width — a break gets room on its side, and the quantile comes only from
errors known at the as-of (the caller picks them). With fewer than MIN_SCORES past scores the normal quantile
stands in.
"""
from __future__ import annotations

import math

import numpy as np

from forecasting.intervals import LEVELS, z_value

MIN_SCORES = 30


def log_sigma(total: float, lo_80: float, hi_80: float) -> float:
    """One standard deviation of the forecast on the log scale, read off its 80 % interval (a bound at or below 0
    falls back to the interval's width relative to the total)."""
    z = z_value(80)
    if total > 0 and lo_80 > 0 and hi_80 > 0:
        return max(math.log(hi_80 / lo_80) / (2 * z), 0.0)
    if total > 0 and math.isfinite(hi_80 - lo_80):
        return max((hi_80 - lo_80) / (2 * z * total), 0.0)
    return float("nan")


def widths(sigma, move, ext_down=0.0, ext_up=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(down, up) widths in log units (see module doc)."""
    sigma = np.asarray(sigma, dtype="float64")
    move = np.abs(np.asarray(move, dtype="float64"))
    return (sigma + np.maximum(move, np.nan_to_num(np.asarray(ext_down, dtype="float64"))),
            sigma + np.maximum(move, np.nan_to_num(np.asarray(ext_up, dtype="float64"))))


def scores(actual, forecast, sigma, move, ext_down=0.0, ext_up=0.0) -> np.ndarray:
    """The normalised scores of past forecasts (NaN where the actual or forecast is not positive)."""
    a, f = np.asarray(actual, dtype="float64"), np.asarray(forecast, dtype="float64")
    down, up = widths(sigma, move, ext_down, ext_up)
    with np.errstate(all="ignore"):
        err = np.log(a / f)
        width = np.where(err < 0, down, up)
        return np.where((a > 0) & (f > 0) & (width > 0), np.abs(err) / width, np.nan)


def quantiles(past: np.ndarray) -> dict[int, float | None]:
    """Level → conformal quantile of the finite past scores; None (use the normal quantile) under MIN_SCORES."""
    s = np.sort(np.asarray(past, dtype="float64")[np.isfinite(past)])
    n = len(s)
    out: dict[int, float | None] = {}
    for level in LEVELS:
        rank = math.ceil((n + 1) * level / 100.0)
        out[level] = float(s[rank - 1]) if n >= MIN_SCORES and rank <= n else None
    return out


def bounds(total: float, sigma: float, move: float, q: dict[int, float | None],
           ext: tuple[float, float] = (0.0, 0.0)) -> dict[str, float]:
    """lo/hi at each level: total * exp(-q width_down), total * exp(q width_up); the normal quantile where q is
    None. `ext`: (ext_down, ext_up)."""
    down, up = (float(w) for w in widths(sigma, move, *ext))
    out = {}
    for level in LEVELS:
        k = q.get(level)
        k = z_value(level) if k is None else k
        out[f"lo_{level}"] = total * math.exp(-k * down)
        out[f"hi_{level}"] = total * math.exp(k * up)
    return out
