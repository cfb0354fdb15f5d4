"""Many series' period baselines in one StatsForecast `forecast` call per plan, on the chosen engine.

`forecast_period` (forecasting.baseline) fits one series per StatsForecast call; a report over a chain's 3,331
store x department series cannot afford that one by one. `bulk_baselines` computes the same BaselineForecast for
many series: each series is prepared exactly as `forecast_period` prepares it (`forecasting.history.prepare`:
as-of cut, grid, train window, interpolation), planned by `forecasting.models.plan_models` (so a short series gets
the same non-seasonal plan), and series that share a plan and a last observed step (hence the same `h` and period
mask) go through ONE `forecast` call — `forecasting.distributed.forecast` on a Dask / Ray / Spark session, locally
one-process StatsForecast calls on chunks of the series in worker processes that die with their parent
(`forecasting.pooled`). Member totals, bounds and the ensemble follow `forecasting.combine`, as in
`forecast_period`. StatsForecast fits every series of a call independently, so the numbers are those of the
one-series call (tests/test_bulk_baseline.py checks real Walmart series to float tolerance).

Differences, by design: (1) Python warnings raised while fitting (numpy's divide-by-zero ...) cannot be told apart
by series in a many-series call (and on an engine's workers they are not seen at all): they are left out of each
baseline's `warnings`; the data and plan warnings (interpolated gaps, "fitted without seasonality", a failed member
and its stand-in) are kept. (2) a failed member's error text is not known (no per-series `Guarded.error`): the
warning says "AutoARIMA failed: SeasonalNaive stands in" without the reason. (3) Daily series with known-ahead
event regressors are not handled here (callers use `forecast_period` for them).
"""
from __future__ import annotations

import warnings as pywarnings
from datetime import date
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from trendcast.forecasting.baseline import BaselineForecast, series_freq
from trendcast.forecasting.combine import combine_members, forecast_models
from trendcast.forecasting.constants import BOUNDS, DEFAULT_MODELS
from trendcast.forecasting.frequency import default_train_window, season_length
from trendcast.forecasting.history import prepare
from trendcast.forecasting.intervals import LEVELS, period_sum
from trendcast.forecasting.models import describe, plan_models
from trendcast.forecasting.periods import Period, steps_in_period


def bulk_baselines(histories: Mapping[str, pd.DataFrame], freq: str, period: Period, as_of: date,
                   models: Sequence[str] = DEFAULT_MODELS, train_window: int | None = None,
                   session=None, n_jobs: int = 1) -> tuple[dict[str, BaselineForecast], dict[str, str]]:
    """(baseline by series id, error by series id) for `histories` (id → frame with ds, y), all of one frequency,
    for `period` as seen at `as_of`. `session`: a `forecasting.distributed.Session` (None or local: `n_jobs`
    processes of forecasting.pooled). A series that cannot be prepared or forecast is in the errors."""
    from trendcast.forecasting.distributed import Session, forecast

    if session is None or not session.distributed:
        session = Session("local", n_jobs)
    groups: dict[tuple, list] = {}
    errors: dict[str, str] = {}
    for uid, history in histories.items():
        try:
            f = series_freq(freq, history["ds"])
            ds, y, warns = prepare(history, f, as_of, train_window or default_train_window(f))
            if period.start <= as_of:
                raise ValueError(f"period {period.label} does not start after as-of {as_of}")
            h, mask = steps_in_period(ds[-1], f, period)
            fitted, fallback, plan_warnings = plan_models(models, len(y), season_length(f))
        except Exception as exc:  # the caller falls back to forecast_period, which reports it
            errors[uid] = f"{type(exc).__name__}: {exc}"
            continue
        key = (f, h, tuple(mask), pd.Timestamp(ds[-1]), tuple(describe(m) for m in fitted),
               None if fallback is None else describe(fallback), tuple(plan_warnings))
        groups.setdefault(key, [fitted, fallback, plan_warnings, []])[3].append((uid, ds, y, warns))
    out: dict[str, BaselineForecast] = {}
    for (f, h, mask, _, _, _, _), (fitted, fallback, plan_warnings, members) in groups.items():
        guarded, names, fb = forecast_models(fitted, fallback)
        df = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": y}) for uid, ds, y, _ in members],
                       ignore_index=True)
        with pywarnings.catch_warnings():  # see the module doc (1)
            pywarnings.simplefilter("ignore")
            fc = forecast(guarded, f, df, session, h=h, level=list(LEVELS))
        mask = np.asarray(mask, dtype=bool)
        by_id = {uid: g for uid, g in fc.groupby("unique_id", sort=False)}
        for uid, _, _, warns in members:
            try:
                out[uid] = _one(by_id[uid].sort_values("ds"), guarded, names, fb, mask, period, as_of,
                                list(warns) + list(plan_warnings))
            except Exception as exc:
                errors[uid] = f"{type(exc).__name__}: {exc}"
    return out, errors


def _one(fc: pd.DataFrame, guarded, names, fb, mask, period: Period, as_of: date, warnings: list[str]):
    """One series' BaselineForecast from its rows of the forecast frame (forecast_period's rule, line by line)."""
    arrays = {col: {"mean": fc[col].to_numpy("float64"),
                    **{b: fc[f"{col}-{b.replace('_', '-')}"].to_numpy("float64") for b in BOUNDS}}
              for col in (g.alias for g in guarded)}
    results = {col: period_sum(a["mean"], a, mask) for col, a in arrays.items()}
    combo = combine_members(names, fb, results)
    warnings += combo.warnings
    if not combo.counted:
        raise RuntimeError(f"no model produced a forecast for {period.label}")
    steps = pd.DataFrame({"ds": fc["ds"].to_numpy()[mask]})
    for key in ("mean", *BOUNDS):
        steps[key] = np.median(np.vstack([arrays[c][key][mask] for c in combo.counted.values()]), axis=0)
    return BaselineForecast(model=combo.label, steps=steps, members=combo.members, warnings=warnings,
                            period=period, as_of=as_of, **combo.values)
