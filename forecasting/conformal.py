"""Prediction intervals from a forecast's own past errors (split conformal, normalised scores).

An adjusted forecast f = b * exp(move) stands beside its baseline b. Its interval at level L spans the two and
reaches q_L widths beyond them:

    lo = exp(min(0, -move) - q_L * width_down) * f,   hi = exp(max(0, -move) + q_L * width_up) * f

    width_down = sigma + ext_down,   width_up = sigma + ext_up

`sigma` is the baseline's own spread (`log_sigma`, from its 80 % interval); `ext_down` / `ext_up` how far recent
breaks extend each side (agent.carry.break_extents: the latest miss, when it was a break, on its own side — the
sales may keep falling as far again — and the breaks just before it on both sides, since after a break the next
periods may overshoot either way; 0 in ordinary times). So a bold move gets a wide interval — it covers the way back
to the baseline, in case the move is wrong — and a break gets room on its side. A past forecast's score is how many
widths its actual fell outside the span [f, b] (0 inside it), and q_L is the conformal quantile of the past scores
(the ceil((n + 1) L)-th smallest of n), which the caller takes only from errors known at the as-of. With fewer than
MIN_SCORES past scores the normal quantile stands in. With move = 0 this is the usual normalised conformal interval.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from trendcast.forecasting.intervals import LEVELS, z_value

MIN_SCORES = 30
_MAX_EXP = math.log(sys.float_info.max)  # about 709.8: exp() of more than this overflows


def log_sigma(total: float, lo_80: float, hi_80: float) -> float:
    """One standard deviation of the forecast on the log scale, read off its 80 % interval (a bound at or below 0
    falls back to the interval's width relative to the total)."""
    z = z_value(80)
    if total > 0 and lo_80 > 0 and hi_80 > 0:
        return max(math.log(hi_80 / lo_80) / (2 * z), 0.0)
    if total > 0 and math.isfinite(hi_80 - lo_80):
        return max((hi_80 - lo_80) / (2 * z * total), 0.0)
    return float("nan")


def widths(sigma, ext_down=0.0, ext_up=0.0) -> tuple[np.ndarray, np.ndarray]:
    """(down, up) widths in log units (see module doc)."""
    sigma = np.asarray(sigma, dtype="float64")
    return (sigma + np.nan_to_num(np.asarray(ext_down, dtype="float64")),
            sigma + np.nan_to_num(np.asarray(ext_up, dtype="float64")))


def scores(actual, forecast, sigma, move, ext_down=0.0, ext_up=0.0) -> np.ndarray:
    """The normalised scores of past forecasts (NaN where the actual or forecast is not positive): widths outside
    the span between the forecast and its baseline (forecast * exp(-move))."""
    a, f = np.asarray(actual, dtype="float64"), np.asarray(forecast, dtype="float64")
    back = -np.asarray(move, dtype="float64")
    down, up = widths(sigma, ext_down, ext_up)
    with np.errstate(all="ignore"):
        err = np.log(a / f)
        lo_edge, hi_edge = np.minimum(0.0, back), np.maximum(0.0, back)
        score = np.where(err < lo_edge, (lo_edge - err) / down, np.where(err > hi_edge, (err - hi_edge) / up, 0.0))
        return np.where((a > 0) & (f > 0) & (down > 0) & (up > 0), score, np.nan)


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
    """lo/hi at each level (see module doc); the normal quantile where q is None. `ext`: (ext_down, ext_up)."""
    down, up = (float(w) for w in widths(sigma, *ext))
    lo_edge, hi_edge = min(0.0, -move), max(0.0, -move)
    out = {}
    for level in LEVELS:
        k = q.get(level)
        k = z_value(level) if k is None else k
        out[f"lo_{level}"] = _times_exp(total, lo_edge - k * down)
        out[f"hi_{level}"] = _times_exp(total, hi_edge + k * up)
    return out


def _times_exp(total: float, power: float) -> float:
    """total * exp(power), never an OverflowError: a spread so wide that the bound overflows a float (a series
    with one absurd value) gives the largest float of total's sign, which the caller's ceiling then caps."""
    if total == 0 or not math.isfinite(power) and power < 0:
        return 0.0
    if power >= _MAX_EXP or (math.isfinite(total) and math.log(abs(total)) + power >= _MAX_EXP):
        return math.copysign(sys.float_info.max, total)
    return total * math.exp(power)


def clip_at(values: dict[str, float], floor: float | None) -> tuple[dict[str, float], list[str]]:
    """`values` (a total and its bounds) with each one below `floor` raised to it, and the names raised, in order;
    unchanged when floor is None (data that may be negative)."""
    if floor is None:
        return dict(values), []
    raised = [k for k, v in values.items() if v < floor]
    return {k: (floor if k in raised else v) for k, v in values.items()}, raised
