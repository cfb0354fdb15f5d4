"""Applying a multiplicative adjustment to a baseline, and naming the direction of a change."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from forecasting.constants import BOUNDS

if TYPE_CHECKING:
    from forecasting.baseline import BaselineForecast


def apply_adjustment(baseline: "BaselineForecast", pct: float) -> dict[str, float]:
    """``total, lo_80, hi_80, lo_95, hi_95`` of the baseline, each multiplied by ``1 + pct / 100``.

    A multiplicative change moves the interval with the point and keeps its relative width. pct must exceed -100.
    """
    if not math.isfinite(pct) or pct <= -100:
        raise ValueError(f"adjustment {pct!r} % must be a finite number above -100")
    factor = 1.0 + pct / 100.0
    return {key: getattr(baseline, key) * factor for key in ("total", *BOUNDS)}


def direction(change_pct: float, flat_band_pct: float) -> str:
    """``"up"`` above +band, ``"down"`` below -band, else ``"flat"`` (the band's edges are flat)."""
    if not math.isfinite(change_pct):
        raise ValueError(f"change {change_pct!r} % is not a finite number")
    if change_pct > flat_band_pct:
        return "up"
    if change_pct < -flat_band_pct:
        return "down"
    return "flat"
