"""Bulk StatsForecast calls on a distributed engine: Dask (tested default), Ray or Spark, through fugue.

StatsForecast 2.x distributes `forecast` and `cross_validation` only: given a Dask, Ray or Spark DataFrame it runs
its own `FugueBackend`, which partitions the frame by ``unique_id`` and runs a one-process StatsForecast over each
partition on the engine's workers (so the workers need statsforecast and trendcast installed). Every other method
(fit / predict on such a frame errors, `simulate` falls back to local) stays local: callers distribute only bulk
cross_validation / forecast and keep everything per-series in the parent. The numbers are those of the local call:
the same models on the same rows of each series, whatever partition a series lands in.

`engine_session(kind, address, workers)` opens (and closes) what a run computes on:
- ``local``: nothing; `workers` processes of forecasting.pooled (one-process StatsForecast calls on chunks of the
  series, in workers that die with their parent).
- ``dask``: a `dask.distributed.Client` of the scheduler at `address`, or a `LocalCluster` of `workers` processes
  × 1 thread each (numba fits hold the GIL: processes, not threads).
- ``ray``: `ray.init(address)` (a local Ray of `workers` CPUs without one).
- ``spark``: a `SparkSession` (`address` is the master URL; default ``local[workers]``); needs a JRE.
`to_frame` / `collect` move pandas frames in and out; `cross_validation(models, freq, df, session, **kw)` and
`forecast(...)` are the calls.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import pandas as pd

from trendcast.forecasting.errors import InputError

ENGINES = ("local", "dask", "ray", "spark")
EXTRA = {"dask": "dask", "ray": "ray", "spark": "spark"}  # pip install 'trendcast[<extra>]'
MODULE = {"dask": "dask.distributed", "ray": "ray", "spark": "pyspark"}
PYSPARK_DEFAULT_PYTHON = "python3"  # pyspark's worker interpreter when PYSPARK_PYTHON is not set
PARTITIONS_PER_WORKER = 2  # frame partitions per worker: fugue repartitions by unique_id anyway


class EngineError(InputError):
    """The engine cannot be used here: its package is missing, or its scheduler cannot be reached (exit code 2)."""


@dataclass
class Session:
    kind: str
    workers: int
    client: Any = None  # dask Client / SparkSession / None (local, ray)

    @property
    def distributed(self) -> bool:
        return self.kind != "local"

    def describe(self) -> str:
        if self.kind == "dask":
            return f"dask scheduler {self.client.scheduler.address}, {len(self.client.nthreads())} workers"
        return "local process pool" if self.kind == "local" else f"{self.kind}, {self.workers} workers"


def require(kind: str) -> None:
    """An EngineError naming the extra to install when `kind`'s package is missing."""
    if kind not in ENGINES:
        raise EngineError(f"unknown engine {kind!r} (one of {', '.join(ENGINES)})")
    if kind == "local":
        return
    import importlib.util

    for mod in (MODULE[kind], "fugue"):
        if importlib.util.find_spec(mod.split(".")[0]) is None or (
                "." in mod and importlib.util.find_spec(mod) is None):
            raise EngineError(f"engine {kind!r} needs {mod}: pip install 'trendcast[{EXTRA[kind]}]'")


@contextlib.contextmanager
def engine_session(kind: str, address: str | None = None, workers: int = 2) -> Iterator[Session]:
    """The engine a run computes on, closed afterwards (a cluster it started is shut down; one it joined is not)."""
    require(kind)
    if kind == "local":
        yield Session("local", workers)
    elif kind == "dask":
        with _dask(address, workers) as client:
            yield Session("dask", workers, client)
    elif kind == "ray":
        with _ray(address, workers):
            yield Session("ray", workers)
    else:
        with _spark(address, workers) as spark:
            yield Session("spark", workers, spark)


@contextlib.contextmanager
def _dask(address: str | None, workers: int):
    from dask.distributed import Client, LocalCluster

    if address:
        try:
            client = Client(address, timeout="5s", set_as_default=True)
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"no Dask scheduler at {address}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster, set_as_default=True) as client:
        client.run(_quiet_worker)  # workers we started print nothing on the user's console
        yield client


def _quiet_worker() -> None:
    """On a worker: no pandas deprecation lines from dask's groupby-apply (fugue's partitioning: not ours to fix)."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)


@contextlib.contextmanager
def _ray(address: str | None, workers: int):
    import ray

    started = not ray.is_initialized()
    if started:
        kw = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        try:
            ray.init(**kw, log_to_driver=False, configure_logging=False)
        except ConnectionError as exc:
            raise EngineError(f"no Ray cluster at {address}: {exc}") from None
    try:
        yield
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _spark(address: str | None, workers: int):
    import shutil
    import sys

    if shutil.which("java") is None:
        raise EngineError("engine 'spark' needs a Java runtime (Debian: apt-get install default-jre-headless)")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(address or f"local[{workers}]").appName("trendcast")
    spark = (builder
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", str(2 * workers))
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    if not address and spark.sparkContext.pythonExec == PYSPARK_DEFAULT_PYTHON:
        # local Python workers run this interpreter (PATH's python3 may lack pandas and statsforecast): every Python
        # function shipped to them names the context's pythonExec, which pyspark took from PYSPARK_PYTHON (kept when
        # the user set it) or its default; the spark.pyspark.python setting is not seen by local workers
        spark.sparkContext.pythonExec = sys.executable
    try:
        yield spark
    finally:
        spark.stop()


def to_frame(df: pd.DataFrame, session: Session) -> Any:
    """The pandas frame as the engine's DataFrame (local: itself)."""
    if session.kind == "local":
        return df
    n = max(1, min(df["unique_id"].nunique(), PARTITIONS_PER_WORKER * session.workers))
    if session.kind == "dask":
        import dask.dataframe as dd

        return dd.from_pandas(df, npartitions=n, sort=False)
    if session.kind == "ray":
        import ray.data

        return ray.data.from_pandas(df).repartition(n)
    return session.client.createDataFrame(df).repartition(n, "unique_id")


def collect(result: Any) -> pd.DataFrame:
    """An engine's DataFrame back as pandas (a pandas frame as it is)."""
    if isinstance(result, pd.DataFrame):
        return result
    import fugue.api as fa

    return fa.as_pandas(result)


def _backend():
    """StatsForecast's FugueBackend with float64 forecast columns: upstream declares them float32 (7 digits: a
    total of 94,105.49 comes back as 94,105.49219), which would make the engine's numbers differ from local."""
    import pyarrow as pa
    from statsforecast.distributed.fugue import FugueBackend
    from triad import Schema

    class Float64Backend(FugueBackend):
        def _get_output_schema(self, **kwargs) -> Schema:
            schema = super()._get_output_schema(**kwargs)
            return Schema([(f.name, pa.float64() if f.type == pa.float32() else f.type) for f in schema.fields])

    return Float64Backend()


def cross_validation(models, freq: str, df: pd.DataFrame, session: Session, *, fallback_model=None, h: int,
                     n_windows: int = 1, step_size: int = 1, refit: bool | int = True,
                     level: list[int] | None = None) -> pd.DataFrame:
    """StatsForecast(models, freq, fallback_model=...).cross_validation(df=df, ...) on the session's engine
    (partitioned by unique_id; local: `session.workers` processes of forecasting.pooled), as a pandas frame sorted
    like one local call's: by unique_id, cutoff, ds."""
    if not session.distributed:
        from trendcast.forecasting import pooled

        return pooled.cross_validation(models, freq, df, h=h, n_windows=n_windows, step_size=step_size, refit=refit,
                                       level=level, fallback_model=fallback_model, n_jobs=session.workers)
    kwargs = dict(h=h, n_windows=n_windows, step_size=step_size, refit=refit, level=level)
    import warnings

    with warnings.catch_warnings():  # dask's groupby-apply on the grouping column: a pandas deprecation, not ours
        warnings.simplefilter("ignore", FutureWarning)
        out = collect(_backend().cross_validation(
            df=to_frame(df, session), models=list(models), freq=freq, fallback_model=fallback_model,
            test_size=None, input_size=None, fitted=False, prediction_intervals=None, id_col="unique_id",
            time_col="ds", target_col="y", **kwargs))
    return out.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)


def forecast(models, freq: str, df: pd.DataFrame, session: Session, *, fallback_model=None, h: int,
             level: list[int] | None = None) -> pd.DataFrame:
    """StatsForecast(models, freq, fallback_model=...).forecast(df=df, h=h, level=level) on the session's engine
    (local: `session.workers` processes of forecasting.pooled), as pandas sorted by unique_id, ds."""
    if not session.distributed:
        from trendcast.forecasting import pooled

        return pooled.forecast(models, freq, df, h=h, level=level, fallback_model=fallback_model,
                               n_jobs=session.workers)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        out = collect(_backend().forecast(
            df=to_frame(df, session), models=list(models), freq=freq, fallback_model=fallback_model, h=h,
            X_df=None, level=level, fitted=False, prediction_intervals=None, id_col="unique_id", time_col="ds",
            target_col="y"))
    return out.sort_values(["unique_id", "ds"], ignore_index=True)
