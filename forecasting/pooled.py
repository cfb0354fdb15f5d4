"""StatsForecast `forecast` and `cross_validation` over many series, in worker processes that die with their parent.

StatsForecast's own parallelism (`n_jobs > 1`) starts a plain multiprocessing.Pool or ProcessPoolExecutor per call;
their workers outlive a SIGKILLed parent, and nothing public lets a caller supply the pool. So the local engine never
passes `n_jobs > 1` to StatsForecast: `forecast` / `cross_validation` here cut the frame by ``unique_id`` into
contiguous chunks of the sorted ids (StatsForecast's own order), run ONE `StatsForecast(n_jobs=1)` call per chunk in
a `trendcast.common.processes.fork_pool` (workers that die with this process and ignore Ctrl-C; leaving the pool by
an interrupt terminates them), and concatenate the parts in chunk order. StatsForecast fits every series on its own
and its output is sorted by ``unique_id`` (then ``cutoff``, ``ds``), so the frame is the one a single call returns,
row for row and bit for bit (tests/test_forecasting_pooled.py). `n_jobs` 1 (or one series) runs in this process.

The Dask / Ray / Spark engines (forecasting.distributed) partition by ``unique_id`` the same way through fugue.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Sequence

import numpy as np
import pandas as pd

# chunks per worker: StatsForecast's cross_validation pool hands each worker one; two keep the workers busy when
# series differ in length, and a chunk stays long enough that a Pool's per-task cost does not show
CHUNKS_PER_WORKER = 2


def forecast(models: Sequence[Any], freq: str, df: pd.DataFrame, *, h: int, level: list[int] | None = None,
             fallback_model: Any = None, n_jobs: int = 1) -> pd.DataFrame:
    """`StatsForecast(models, freq, fallback_model=...).forecast(df=df, h=h, level=level)` on `n_jobs` processes:
    ``unique_id, ds, <model>...`` sorted by unique_id, ds."""
    return _run("forecast", models, freq, fallback_model, df, n_jobs, dict(h=h, level=level))


def cross_validation(models: Sequence[Any], freq: str, df: pd.DataFrame, *, h: int, n_windows: int = 1,
                     step_size: int = 1, refit: bool | int = True, level: list[int] | None = None,
                     fallback_model: Any = None, n_jobs: int = 1) -> pd.DataFrame:
    """`StatsForecast(models, freq, fallback_model=...).cross_validation(df=df, ...)` on `n_jobs` processes:
    ``unique_id, ds, cutoff, y, <model>...`` sorted by unique_id, cutoff, ds."""
    return _run("cross_validation", models, freq, fallback_model, df, n_jobs,
                dict(h=h, n_windows=n_windows, step_size=step_size, refit=refit, level=level))


def workers_for(n_jobs: int | None, n_series: int) -> int:
    """Processes for `n_series` series: StatsForecast's reading of n_jobs (-1 / None: every CPU), at most one per
    series."""
    want = (os.cpu_count() or 1) if n_jobs is None or n_jobs == -1 else int(n_jobs)
    return max(1, min(n_series, want))


def chunks(df: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """`df` cut into at most `n` frames of whole series, contiguous in sorted ``unique_id`` order."""
    ids = df["unique_id"].drop_duplicates().sort_values(ignore_index=True)
    groups = [g for g in np.array_split(np.arange(len(ids)), min(n, len(ids))) if len(g)]
    at = pd.Series(np.repeat(np.arange(len(groups)), [len(g) for g in groups]), index=ids.to_numpy())
    part = at.reindex(df["unique_id"].to_numpy()).to_numpy()
    return [df[part == k] for k in range(len(groups))]


def _run(method: str, models, freq, fallback_model, df: pd.DataFrame, n_jobs: int, kwargs: dict) -> pd.DataFrame:
    call = functools.partial(_call, method, list(models), freq, fallback_model, kwargs)
    workers = workers_for(n_jobs, df["unique_id"].nunique())
    if workers == 1:
        return call(df)
    from trendcast.common.processes import fork_pool

    parts = chunks(df, workers * CHUNKS_PER_WORKER)
    with fork_pool(min(workers, len(parts))) as pool:
        out = pool.map(call, parts, chunksize=1)
    return pd.concat(out, ignore_index=True)


def _call(method: str, models, freq, fallback_model, kwargs: dict, df: pd.DataFrame) -> pd.DataFrame:
    from statsforecast import StatsForecast

    sf = StatsForecast(models=models, freq=freq, fallback_model=fallback_model, n_jobs=1)
    out = getattr(sf, method)(df=df, **kwargs)
    return out.reset_index() if "unique_id" not in out.columns else out
