"""Applying a multiplicative adjustment to a baseline, and naming the direction of a change."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, overload

import numpy as np

from trendcast.forecasting.constants import BOUNDS

if TYPE_CHECKING:
    from trendcast.forecasting.baseline import BaselineForecast


def apply_adjustment(baseline: "BaselineForecast", pct: float) -> dict[str, float]:
    """``total, lo_80, hi_80, lo_95, hi_95`` of the baseline, each multiplied by ``1 + pct / 100``.

    A multiplicative change moves the interval with the point and keeps its relative width. pct must exceed -100.
    """
    if not math.isfinite(pct) or pct <= -100:
        raise ValueError(f"adjustment {pct!r} % must be a finite number above -100")
    factor = 1.0 + pct / 100.0
    return {key: getattr(baseline, key) * factor for key in ("total", *BOUNDS)}


def directions(change_pct, flat_band_pct: float) -> np.ndarray:
    """THE direction rule, vectorised: "up" above +band, "down" below -band, else "flat" (the band's edges are
    flat). Every direction the product prints, prompts with, validates or scores comes from here."""
    change = np.atleast_1d(np.asarray(change_pct, dtype="float64"))
    return np.select([change > flat_band_pct, change < -flat_band_pct], ["up", "down"], "flat")


@overload
def direction(change_pct: float, flat_band_pct: float) -> str: ...
@overload
def direction(change_pct: None, flat_band_pct: float) -> None: ...
def direction(change_pct: float | None, flat_band_pct: float) -> str | None:
    """`directions` for one change; None (unknown) when the change is unknown."""
    if change_pct is None:
        return None
    if not math.isfinite(change_pct):
        raise ValueError(f"change {change_pct!r} % is not a finite number")
    return str(directions(change_pct, flat_band_pct)[0])
