"""StatsForecast model registry and the choice of models a series is long enough for."""
from __future__ import annotations

from typing import Callable, Sequence

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
    Aliases are the model names, so forecast columns read ``AutoETS``, ``AutoETS-lo-80`` ...
    """
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise ValueError(f"unknown model(s) {unknown or list(names)}; known: {', '.join(MODELS)}")
    warnings: list[str] = []
    if n_obs < MIN_OBS:
        warnings.append(f"only {n_obs} observations: Naive forecast instead of {', '.join(names)}")
        return [MODELS["Naive"](1)], None, warnings
    m = season_length
    if season_length > 1 and n_obs < 2 * season_length:
        m = 1
        warnings.append(
            f"only {n_obs} observations (< 2 seasons of {season_length}): models fitted without seasonality"
            + (", SeasonalNaive replaced by Naive" if "SeasonalNaive" in names else "")
        )
    chosen = list(dict.fromkeys(_SEASONAL_ONLY.get(n, n) if m == 1 else n for n in names))
    fallback = MODELS["SeasonalNaive"](m) if m > 1 else MODELS["Naive"](1)
    return [MODELS[n](m) for n in chosen], fallback, warnings


def model_name(model) -> str:
    return getattr(model, "alias", type(model).__name__)
