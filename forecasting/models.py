"""StatsForecast model registry, the choice of models a series is long enough for, and `Guarded` (a model that
fails visibly: see forecasting.combine)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from forecasting.constants import DEFAULT_MODELS, MIN_OBS


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


def plan_models(names: Sequence[str], n_obs: int, season_length: int) -> tuple[list, object, list[str]]:
    """Model instances for a series of `n_obs` observations, the fallback model, and warnings.

    - at least two full seasons: the models as asked, fallback SeasonalNaive;
    - fewer: seasonal models are fitted without seasonality and SeasonalNaive becomes Naive (with a warning);
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
    m = season_length
    if season_length > 1 and n_obs < 2 * season_length:
        m = 1
        warnings.append(
            f"only {n_obs} observations (< 2 seasons of {season_length}): models fitted without seasonality"
            + (", SeasonalNaive replaced by Naive" if "SeasonalNaive" in names else "")
        )
    chosen = list(dict.fromkeys(_SEASONAL_ONLY.get(n, n) if m == 1 else n for n in names))
    fallback = _named("SeasonalNaive", m) if m > 1 else _named("Naive", 1)
    return [_named(n, m) for n in chosen], fallback, warnings


def _named(name: str, season_length: int):
    model = MODELS[name](season_length)
    model.alias = name
    return model


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
