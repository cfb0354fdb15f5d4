"""StatsForecast model registry, the choice of models a series is long enough for, and `Guarded` (a model that
fails visibly: see forecasting.combine).

Daily data has two seasons, weekly (7) and yearly (365). With at least two years of history the seasonal members
(AutoETS, AutoARIMA, AutoTheta, AutoCES) are fitted as StatsForecast's MSTL: an STL decomposition into weekly
and yearly seasonal components (each forecast by its seasonal naive: the last week, the same days last year,
smoothed over the years seen), and the member's model forecasting the rest (trend + remainder) without seasons.
They keep their names (forecast columns ``AutoETS`` ...: the plan says what each is); SeasonalNaive stays weekly
(the member that only copies the last week, and the fallback). Shorter daily series are fitted with the weekly
season only (with a warning).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from trendcast.forecasting.constants import DEFAULT_MODELS, MIN_OBS
from trendcast.forecasting.frequency import SEASON_NAMES, season_lengths


def _sf(name: str):
    """A statsforecast model class, imported on first use: statsforecast.models pulls in statsmodels (~1.5 s), which
    an answer served from the baseline cache must not pay."""
    import statsforecast.models

    return getattr(statsforecast.models, name)


# name → factory(season_length); a season length of 1 means "no seasonality"
MODELS: dict[str, Callable[[int], object]] = {
    "AutoETS": lambda m: _sf("AutoETS")(season_length=m),
    "AutoARIMA": lambda m: _sf("AutoARIMA")(season_length=m),
    "AutoTheta": lambda m: _sf("AutoTheta")(season_length=m),
    "AutoCES": lambda m: _sf("AutoCES")(season_length=m),
    "SeasonalNaive": lambda m: _sf("SeasonalNaive")(season_length=m),
    "Naive": lambda m: _sf("Naive")(),
    "RandomWalkWithDrift": lambda m: _sf("RandomWalkWithDrift")(),
    "HistoricAverage": lambda m: _sf("HistoricAverage")(),
}
_SEASONAL_ONLY = {"SeasonalNaive": "Naive"}  # what a model becomes when the series is too short for seasons

# name → the non-seasonal model MSTL forecasts the deseasonalised series with, when there are several seasons.
# Chosen for speed on ~3 years of daily data (2 shared cores, 1,095 days of M5 total sales; STL ~0.05 s each):
# AutoETS ZZN 0.05 s; AutoARIMA with R's approximation for long series (CSS; R's auto.arima default above 150
# observations) 0.36 s, 0.84 s without; AutoTheta as the dynamic optimised theta (one of AutoTheta's four) 0.34 s,
# where choosing among the four took 1.4 s; AutoCES 0.28 s. (AutoARIMA with season 7 on 851 days took 12 s.)
MULTI_SEASONAL: dict[str, Callable[[], object]] = {
    "AutoETS": lambda: _sf("AutoETS")(model="ZZN"),
    "AutoARIMA": lambda: _sf("AutoARIMA")(approximation=True),
    "AutoTheta": lambda: _sf("AutoTheta")(model="DOTM"),
    "AutoCES": lambda: _sf("AutoCES")(),
}
# STL's LOESS evaluated every 10th point of its trend and low-pass windows (R's stl jumps are a tenth of each
# window): the yearly decomposition of 1,095 days in 0.05 s instead of 0.41 s, its 31-day forecast within 0.1 %
STL_KWARGS = {"trend_jump": 10, "low_pass_jump": 10}
# daily data fitted with the weekly season only (under two years): AutoARIMA with R's approximation too (729 days
# of M5 total sales: 0.76 s instead of 5.5 s, its 31-day total within 0.6 %)
DAILY: dict[str, Callable[[int], object]] = {
    "AutoARIMA": lambda m: _sf("AutoARIMA")(season_length=m, approximation=True),
}


# full cycles of a longer season the history must hold for it to be fitted. The yearly season fixes the Decembers of
# strongly seasonal series (M5 total units, December 2015: -2.2 % instead of -11.1 % weekly only), but with only two
# years the yearly component is mostly last year's day-to-day noise: eval suite m5-daily (one item FOODS_3_819, 14
# series x 9 origins, 2.0-2.3 years each) measured combined MASE 2.478 with 2 cycles against 1.797 weekly only. So 3.
LONGER_SEASON_CYCLES = 3


def mstl(seasons: Sequence[int], trend_forecaster):
    """StatsForecast's MSTL over `seasons` with `trend_forecaster` (non-seasonal) for the deseasonalised rest."""
    return _sf("MSTL")(season_length=[int(s) for s in seasons], trend_forecaster=trend_forecaster,
                       stl_kwargs=dict(STL_KWARGS))


def plan_models(names: Sequence[str], n_obs: int, season_length: int) -> tuple[list[Any], Any | None, list[str]]:
    """Model instances for a series of `n_obs` observations, the fallback model, and warnings.

    `season_length`: `forecasting.frequency.season_length` (an int; for daily data it also carries the yearly
    season, ``.all == (7, 365)``), or a plain int (one season).
    - at least two full seasons: the models as asked, fallback SeasonalNaive;
    - and two full seasons of a longer season too (daily data with two years): the members of `MULTI_SEASONAL`
      become MSTL over every season they have two of (see the module doc), the others stay on the main season;
      a longer season without two full ones is left out with a warning;
    - fewer than two main seasons: seasonal models are fitted without seasonality and SeasonalNaive becomes Naive
      (with a warning);
    - fewer than MIN_OBS observations: Naive only (with a warning).
    Aliases are the registry names (stable whatever the class is called), so forecast columns read ``AutoETS``,
    ``AutoETS-lo-80`` ...; the fallback's alias is its own name (``SeasonalNaive`` or ``Naive``).
    """
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise ValueError(f"unknown model(s) {unknown or list(names)}; known: {', '.join(MODELS)}")
    warnings: list[str] = []
    if n_obs < MIN_OBS:
        warnings.append(f"only {n_obs} observations: Naive forecast instead of {', '.join(names)}")
        return [_named("Naive", 1)], None, warnings
    main, *longer = season_lengths(season_length)
    m = main
    if main > 1 and n_obs < 2 * main:
        m = 1
        warnings.append(
            f"only {n_obs} observations (< 2 seasons of {main}): models fitted without seasonality"
            + (", SeasonalNaive replaced by Naive" if "SeasonalNaive" in names else "")
        )
    seasons = [m]
    if m > 1 and longer:
        seasons += [s for s in longer if n_obs >= LONGER_SEASON_CYCLES * s]
        short = [s for s in longer if n_obs < LONGER_SEASON_CYCLES * s]
        if short and any(n in MULTI_SEASONAL for n in names):
            warnings.append(
                f"only {n_obs} observations (< {LONGER_SEASON_CYCLES} seasons of {short[0]}): "
                f"{_season_name(short[0])} season not fitted, {_season_name(m)} season only"
            )
    chosen = list(dict.fromkeys(_SEASONAL_ONLY.get(n, n) if m == 1 else n for n in names))
    fallback = _named("SeasonalNaive", m) if m > 1 else _named("Naive", 1)
    daily = m > 1 and bool(longer)  # a frequency with longer seasons: long daily series
    return [_named(n, m, seasons[1:], daily) for n in chosen], fallback, warnings


def _season_name(season: int) -> str:
    return SEASON_NAMES.get(season, f"{season}-period")


def _named(name: str, season_length: int, longer: Sequence[int] = (), daily: bool = False):
    if longer and name in MULTI_SEASONAL:
        model = mstl((season_length, *longer), MULTI_SEASONAL[name]())
    elif daily and name in DAILY:
        model = DAILY[name](season_length)
    else:
        model = MODELS[name](season_length)
    model.alias = name
    return model


def describe(model) -> str:
    """What a planned model is, e.g. ``AutoETS: MSTL(7, 365) + AutoETS(ZZN)`` or ``AutoETS: AutoETS(7)``."""
    inner = model.model if isinstance(model, Guarded) else model
    if type(inner).__name__ == "MSTL":
        trend = inner.trend_forecaster
        spec = getattr(trend, "model", None)
        what = f"{type(trend).__name__}({spec})" if isinstance(spec, str) else type(trend).__name__
        return f"{model_name(model)}: MSTL({', '.join(map(str, inner.season_length))}) + {what}"
    return f"{model_name(model)}: {type(inner).__name__}({getattr(inner, 'season_length', '')})"


def model_name(model) -> str:
    return getattr(model, "alias", type(model).__name__)


class Guarded:
    """A StatsForecast model that never raises: when the wrapped model fails on a series (in fit, predict, forecast
    or forward), its forecast for that series is NaN, so that the failure shows in the output instead of being
    papered over. (StatsForecast's own `fallback_model` fills a failed model's columns with the fallback's forecast
    under the failed model's name, which nobody downstream can tell apart.) The last error is kept in `error`; it
    only reaches the caller when StatsForecast ran in this process (n_jobs=1).
    """

    def __init__(self, model, alias: str | None = None):
        self.model = model
        self.alias = alias or model_name(model)
        self.error: str | None = None
        self._fit_failed = False

    def __repr__(self) -> str:
        return self.alias

    @property
    def uses_exog(self) -> bool:
        return bool(getattr(self.model, "uses_exog", False))

    def new(self) -> "Guarded":
        return type(self)(self.model.new(), self.alias)

    def fit(self, y, X=None) -> "Guarded":
        try:
            self.model = self.model.fit(y=y, X=X)
            self._fit_failed = False
        except Exception as error:  # noqa: BLE001 - any failure of a model on one series is that model's failure
            self._failed(error)
            self._fit_failed = True
        return self

    def predict(self, h, X=None, level=None):
        return self._run("predict", None, level, False, {"h": h, "X": X})

    def forecast(self, h, y, X=None, X_future=None, level=None, fitted=False):
        return self._run("forecast", y, level, fitted, {"h": h, "y": y, "X": X, "X_future": X_future, "fitted": fitted})

    def _run(self, method: str, y, level, fitted: bool, kwargs: dict) -> dict:
        h = kwargs["h"]
        if self._fit_failed and method != "forecast":
            return _nan_forecast(h, y, level, fitted)
        if level is not None:
            kwargs["level"] = level
        try:
            res = getattr(self.model, method)(**kwargs)
        except Exception as error:  # noqa: BLE001 - see fit
            self._failed(error)
            return _nan_forecast(h, y, level, fitted)
        # one key order for every output: StatsForecast labels a model's columns by the keys of ONE series' output
        # (the last, or the first worker's), and its models differ (SeasonalNaive: lo-80, lo-95; AutoETS: lo-95, ...)
        order = _nan_forecast(0, None, level, fitted)
        return {**{k: res[k] for k in order if k in res}, **{k: v for k, v in res.items() if k not in order}}

    def _failed(self, error: Exception) -> None:
        text = " ".join(f"{type(error).__name__}: {error}".split())
        self.error = text if len(text) <= 160 else text[:157] + "..."


class _GuardedForward(Guarded):
    """`Guarded` for a model with a `forward` method (StatsForecast checks for one before cross-validating)."""

    def forward(self, h, y, X=None, X_future=None, level=None, fitted=False):
        return self._run("forward", y, level, fitted, {"h": h, "y": y, "X": X, "X_future": X_future, "fitted": fitted})


def guard(model) -> Guarded:
    """`model` wrapped so that it fails visibly (see `Guarded`), with a `forward` method exactly when it has one."""
    return (_GuardedForward if hasattr(model, "forward") else Guarded)(model)


def _nan_forecast(h: int, y, level, fitted: bool) -> dict:
    """What a failed model forecasts: NaN; its keys, in this order, are the order of every `Guarded` output."""
    levels = sorted(level) if level is not None else []
    res = {"mean": np.full(h, np.nan)}
    res.update({f"lo-{lv}": np.full(h, np.nan) for lv in reversed(levels)})
    res.update({f"hi-{lv}": np.full(h, np.nan) for lv in levels})
    if fitted:
        n = 0 if y is None else len(y)
        res["fitted"] = np.full(n, np.nan)
        res.update({f"fitted-lo-{lv}": np.full(n, np.nan) for lv in reversed(levels)})
        res.update({f"fitted-hi-{lv}": np.full(n, np.nan) for lv in levels})
    return res
