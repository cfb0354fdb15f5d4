"""Baseline forecast of one series' total over a period: StatsForecast models, combined by their median.

Combination: the point total is the MEDIAN of the member models' period totals, and each interval bound is the
median of the members' bounds (members combined the same way as the point, i.e. quantile averaging with a median).
The median, not the mean, because with four members one model going astray (AutoARIMA after a structural break, a
seasonal naive copying a one-off year) moves a mean by a quarter of its error but barely moves the median; for well
behaved series the two differ little. Period intervals come from `forecasting.intervals.period_sum`. Which members
count, and what stands in for a model that fails on the series, is `forecasting.combine`'s rule (each distinct
forecast once; `members` says what ran, e.g. ``AutoARIMA→SeasonalNaive``; `warnings` say why).
"""
from __future__ import annotations

import warnings as pywarnings
from contextlib import contextmanager
from datetime import date
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from trendcast.forecasting.constants import BOUNDS, DEFAULT_MODELS, MAX_ABS_VALUE
from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import default_train_window, freq_kind, parse_freq, season_length, weekly_alias
from trendcast.forecasting.history import prepare
from trendcast.forecasting.intervals import LEVELS, period_sum
from trendcast.forecasting.combine import combine_members, forecast_models
from trendcast.forecasting.models import plan_models
from trendcast.forecasting.periods import Period, default_as_of, steps_in_period, to_date


def _no_steps() -> pd.DataFrame:
    return pd.DataFrame(columns=["ds", "mean", *BOUNDS])


class BaselineForecast(BaseModel):
    """A period total with 80/95 % intervals, each member's total, and the per-step forecast of the period.

    The one baseline model: an answer's `baseline` is this model with its totals clipped at the series' floor
    (agent.answer.assemble); what is not part of the answer contract — the steps, the fit's warnings, the period and
    as-of it was made for — is excluded from its JSON."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str
    total: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float
    members: dict[str, float] = Field(default_factory=dict)
    # the period's steps: ds, mean, lo_80, hi_80, lo_95, hi_95 (per-step medians of members)
    steps: SkipJsonSchema[pd.DataFrame] = Field(default_factory=_no_steps, exclude=True, repr=False)
    warnings: list[str] = Field(default_factory=list, exclude=True)
    period: SkipJsonSchema[Period | None] = Field(None, exclude=True)
    as_of: date | None = Field(None, exclude=True)

    def as_dict(self) -> dict:
        """The ``baseline`` object of the answer contract: model, total, lo_80, hi_80, lo_95, hi_95."""
        return {"model": self.model, "total": self.total, **{b: getattr(self, b) for b in BOUNDS}}

    def __eq__(self, other: object) -> bool:
        """Equal numbers, steps included (pydantic's field-by-field == cannot compare the steps' frame)."""
        if not isinstance(other, BaselineForecast):
            return NotImplemented
        return (self.model_dump() == other.model_dump() and self.steps.equals(other.steps)
                and (self.warnings, self.period, self.as_of) == (other.warnings, other.period, other.as_of))

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value (as pydantic's own models)


_CODE_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)
# said by every daily AutoARIMA: its approximate (CSS) order search, whose candidates' scipy BFGS stops with code 2
# (precision loss); the chosen order is then refitted by CSS-ML, which does not warn
_NOISE = ("possible convergence problem: minimize gave code",)


@contextmanager
def captured_warnings(into: list[str]):
    """Python warnings raised inside (statsforecast's, numpy's, statsmodels') kept off stderr: each distinct one
    is appended to `into` as ``while fitting: RuntimeWarning: divide by zero encountered in log``; deprecation
    notes (about library code, not the forecast) are dropped."""
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set(into)
            for w in caught:
                if issubclass(w.category, _CODE_WARNINGS) or str(w.message).startswith(_NOISE):
                    continue
                text = " ".join(f"while fitting: {w.category.__name__}: {w.message}".split())
                text = text if len(text) <= 200 else text[:197] + "..."
                if text not in seen:
                    seen.add(text)
                    into.append(text)


def series_freq(freq: str, ds: pd.Series) -> str:
    """Canonical frequency; a bare weekly ``W`` takes its weekday from the data."""
    canon = parse_freq(freq)
    if canon == "W":
        return weekly_alias(int(pd.Timestamp(pd.Series(ds).iloc[-1]).weekday()))
    return canon


def _with_events(ds, y, freq: str, h: int, events):
    """The fit frame, and the future regressors (None: no events apply) of a daily series."""
    df = pd.DataFrame({"unique_id": "s", "ds": ds, "y": y})
    if not events or freq_kind(freq) != "D":
        return df, None, []
    from trendcast.forecasting.event_regressors import event_columns

    future_ds = pd.date_range(pd.Timestamp(ds[-1]) + pd.Timedelta(days=1), periods=h, freq="D")
    x_train, x_future, used = event_columns(pd.DatetimeIndex(ds), future_ds, events)
    if not used:
        return df, None, []
    future = pd.concat([pd.DataFrame({"unique_id": "s", "ds": future_ds}), x_future], axis=1)
    return pd.concat([df, x_train], axis=1), future, used


def forecast_period(
    history: pd.DataFrame,
    freq: str,
    period: Period,
    as_of: date | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    train_window: int | None = None,
    events: Mapping[date, Sequence[str]] | None = None,
    calendar: bool = False,
) -> BaselineForecast:
    """Forecast the total of `period` from `history` (columns ds, y) as seen at `as_of`.

    - as_of: default the end of the last observed period; rows whose period ends after as_of are dropped before
      anything is fitted.
    - train_window: periods of history fed to the models (default 120 monthly, 156 weekly, 1095 daily).
    - models: StatsForecast model names (see `forecasting.models.MODELS`), season length 12 / 52 / 7 by frequency;
      a series shorter than two seasons is fitted without seasonality (warning); SeasonalNaive (Naive for
      non-seasonal fits) replaces a model that fails. Daily series with two years of history are fitted with the
      weekly and the yearly season (MSTL: see `forecasting.models`), shorter ones with the weekly only (warning).
    - events: for daily data, known-ahead events (day → names) become 0/1 regressors of the models that take them
      (`forecasting.event_regressors`; the ones used are named in `warnings`' "regressors: …" line).
    - calendar: for monthly data, every member is fitted on sales divided by the series' calendar factors (weekday
      mix, month length, Easter; `forecasting.calendar_effects`, learned from the history up to as-of) and its
      forecast multiplied by the period's — only where the series' own record says they help (a warning says so).
    - Python warnings raised while fitting (numpy's divide-by-zero on a short or zero-filled series, statsmodels'
      convergence notes ...) never reach stderr: each distinct one is a line of the result's `warnings`
      (deprecation notes, which concern the code and not the forecast, are dropped).
    - Intervals: one-step periods use the model interval; multi-step periods (weeks → month) use the correlated
      sum of `forecasting.intervals`. Ensemble: median of the member totals and of each member bound, each distinct
      forecast counted once (`forecasting.combine`: a failed member shows as ``AutoARIMA→SeasonalNaive``, a member
      with non-finite bounds is left out, both with a warning).
    """
    freq = series_freq(freq, history["ds"])
    as_of = to_date(as_of) if as_of is not None else default_as_of(history, freq)
    if period.start <= as_of:
        raise InputError(f"period {period.label} does not start after as-of {as_of}")
    ds, y, warnings = prepare(history, freq, as_of, train_window or default_train_window(freq))
    h, mask = steps_in_period(ds[-1], freq, period)
    effect = None
    if calendar and freq == "MS":
        from trendcast.forecasting.calendar_effects import fit as fit_calendar

        effect = fit_calendar(ds, y)
        if effect is not None:
            y = y / effect.factors(ds)
            warnings.append(effect.describe())
    fit_warnings: list[str] = []
    with captured_warnings(fit_warnings):
        fitted, fallback, plan_warnings = plan_models(models, len(y), season_length(freq))
        guarded, names, fb = forecast_models(fitted, fallback)
        from statsforecast import StatsForecast  # imported here: see forecasting.models._sf

        sf = StatsForecast(models=guarded, freq=freq, n_jobs=1)
        df, future, used = _with_events(ds, y, freq, h, events)
        fc = sf.forecast(df=df, h=h, level=list(LEVELS), X_df=future)
    if used:
        warnings.append(f"regressors: {', '.join(used)} (known-ahead events inside the period)")
    warnings += plan_warnings + fit_warnings
    scale = effect.factors(fc["ds"]) if effect is not None else 1.0
    arrays = {col: {"mean": fc[col].to_numpy("float64") * scale,
                    **{b: fc[f"{col}-{b.replace('_', '-')}"].to_numpy("float64") * scale for b in BOUNDS}}
              for col in (g.alias for g in guarded)}
    results = {col: period_sum(a["mean"], a, mask) for col, a in arrays.items()}
    combo = combine_members(names, fb, results, errors={g.alias: g.error for g in guarded})
    warnings += combo.warnings
    if not combo.counted:
        biggest = float(np.nanmax(np.abs(y))) if len(y) else 0.0
        if biggest > MAX_ABS_VALUE:  # stored before the value rule refused such values at ingest
            raise InputError(f"no model produced a forecast for {period.label}: the history holds {biggest:g}, "
                             f"beyond ±{MAX_ABS_VALUE:.3g} (the value rule, forecasting.parsing); fix the value "
                             "and ingest its data set again")
        raise RuntimeError(f"no model produced a forecast for {period.label} (models: {', '.join(models)})")
    step_frame = pd.DataFrame({"ds": fc["ds"].to_numpy()[mask]})
    for key in ("mean", *BOUNDS):
        step_frame[key] = np.median(np.vstack([arrays[c][key][mask] for c in combo.counted.values()]), axis=0)
    return BaselineForecast(
        model=combo.label,
        steps=step_frame,
        members=combo.members,
        warnings=warnings,
        period=period,
        as_of=as_of,
        **combo.values,
    )
