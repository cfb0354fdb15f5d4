"""Sales store, ingest, hierarchies, periods, StatsForecast baselines, backtests and metrics.

Never imports `agent`, `eval`, `prompts` or `retrieval`, and reads no environment variables. Names are imported on
first use (PEP 562), so that `from forecasting import SalesStore` does not pay for importing StatsForecast.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "apply_adjustment": "trendcast.forecasting.adjust",
    "direction": "trendcast.forecasting.adjust",
    "backtest_situations": "trendcast.forecasting.backtest",
    "BaselineForecast": "trendcast.forecasting.baseline",
    "forecast_period": "trendcast.forecasting.baseline",
    "InputError": "trendcast.forecasting.errors",
    "infer_freq": "trendcast.forecasting.frequency",
    "parse_freq": "trendcast.forecasting.frequency",
    "season_length": "trendcast.forecasting.frequency",
    "IngestSummary": "trendcast.forecasting.ingest",
    "SalesMapping": "trendcast.forecasting.ingest",
    "ingest_sales": "trendcast.forecasting.ingest",
    "read_sales": "trendcast.forecasting.ingest",
    "DEFAULT_MODELS": "trendcast.forecasting.constants",
    "HORIZONS": "trendcast.forecasting.periods",
    "Period": "trendcast.forecasting.periods",
    "default_as_of": "trendcast.forecasting.periods",
    "resolve_period": "trendcast.forecasting.periods",
    "steps_in_period": "trendcast.forecasting.periods",
    "SalesStore": "trendcast.forecasting.store",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'forecasting' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
