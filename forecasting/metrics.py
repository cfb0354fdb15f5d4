"""Forecast accuracy for one series' forecasts (arrays or scalars), computed by utilsforecast.losses where it has
the metric: MASE, WAPE, sMAPE, pinball (quantile) loss, scaled CRPS, interval coverage; directional accuracy is ours.

Each function takes the actuals `y` and forecasts of the same length; NaNs propagate (filter before calling).
For many series at once, call `utilsforecast.losses` directly on a long frame: these wrappers build exactly that
frame for a single series.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import utilsforecast.losses as ufl

from trendcast.forecasting.adjust import directions  # noqa: F401  (re-exported: eval scores with the product's rule)

# quantile levels implied by the central 95 % and 80 % intervals and the point (taken as the median)
CRPS_QUANTILES = np.array([0.025, 0.1, 0.5, 0.9, 0.975])


def _frame(y, **forecasts) -> pd.DataFrame:
    y = np.atleast_1d(np.asarray(y, dtype="float64"))
    cols = {k: np.broadcast_to(np.atleast_1d(np.asarray(v, dtype="float64")), y.shape) for k, v in forecasts.items()}
    return pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y)), "y": y, **cols})


def _value(result: pd.DataFrame, column: str) -> float:
    return float(result[column].iloc[0])


def mase(y, y_hat, y_train, season_length: int) -> float:
    """Mean |y - y_hat| divided by the in-sample MAE of the seasonal naive forecast on `y_train` (lag `season_length`)."""
    train = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(y_train)), "y": np.asarray(y_train, dtype="float64")})
    return _value(ufl.mase(_frame(y, f=y_hat), ["f"], season_length, train), "f")


def wape(y, y_hat) -> float:
    """sum |y - y_hat| / sum |y|."""
    return _value(ufl.wape(_frame(y, f=y_hat), ["f"]), "f")


def smape(y, y_hat) -> float:
    """mean |y - y_hat| / (|y| + |y_hat|), in 0..1 (utilsforecast's convention; x 200 gives the "0-200 %" one)."""
    return _value(ufl.smape(_frame(y, f=y_hat), ["f"]), "f")


def pinball_loss(y, y_q, q: float) -> float:
    """Mean quantile (pinball) loss of the `q`-quantile forecast `y_q`: max(q (y - y_q), (q - 1) (y - y_q))."""
    return _value(ufl.quantile_loss(_frame(y, f=y_q), {"f": "f"}, q=q), "f")


def scaled_crps(y, median, lo_80, hi_80, lo_95, hi_95) -> float:
    """CRPS approximated from five quantiles (0.025, 0.1, 0.5, 0.9, 0.975 = the 95/80 % bounds and the point),
    scaled by the actuals: 2 * sum over rows of the mean pinball loss over those quantiles / sum |y|."""
    df = _frame(y, q025=lo_95, q10=lo_80, q50=median, q90=hi_80, q975=hi_95)
    columns = ["q025", "q10", "q50", "q90", "q975"]
    return _value(ufl.scaled_crps(df, {"f": columns}, CRPS_QUANTILES), "f")


def coverage(y, lo, hi) -> float:
    """Share of actuals inside [lo, hi] (bounds included)."""
    return _value(ufl.coverage(_frame(y, **{"f": y, "f-lo-0": lo, "f-hi-0": hi}), ["f"], level=0), "f")


def directional_accuracy(actual_change_pct, predicted_change_pct, flat_band_pct: float) -> float:
    """Share of forecasts whose direction (up / flat / down, |change| <= band is flat) matches the actual one."""
    actual = directions(actual_change_pct, flat_band_pct)
    predicted = directions(predicted_change_pct, flat_band_pct)
    return float(np.mean(actual == predicted))
