"""Sales store, ingest, hierarchies, periods, StatsForecast baselines, backtests and metrics.

Never imports `agent`, `eval`, `prompts` or `retrieval`, and reads no environment variables. Names are imported on
first use (PEP 562), so that `from forecasting import SalesStore` does not pay for importing StatsForecast.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "apply_adjustment": "forecasting.adjust",
    "direction": "forecasting.adjust",
    "backtest_situations": "forecasting.backtest",
    "BaselineForecast": "forecasting.baseline",
    "forecast_period": "forecasting.baseline",
    "InputError": "forecasting.errors",
    "infer_freq": "forecasting.frequency",
    "parse_freq": "forecasting.frequency",
    "season_length": "forecasting.frequency",
    "IngestSummary": "forecasting.ingest",
    "SalesMapping": "forecasting.ingest",
    "ingest_sales": "forecasting.ingest",
    "read_sales": "forecasting.ingest",
    "DEFAULT_MODELS": "forecasting.constants",
    "HORIZONS": "forecasting.periods",
    "Period": "forecasting.periods",
    "default_as_of": "forecasting.periods",
    "resolve_period": "forecasting.periods",
    "steps_in_period": "forecasting.periods",
    "SalesStore": "forecasting.store",
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
