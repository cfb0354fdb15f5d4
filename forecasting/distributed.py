"""Bulk StatsForecast calls on a distributed engine: Dask (tested default), Ray or Spark, through fugue.

Only bulk `forecast` and `cross_validation` run on an engine, through fugue's public `fugue.api.transform`: the
engine's frame partitioned by ``unique_id``, one `StatsForecast(n_jobs=1)` call per partition on the engine's workers
(so the workers need statsforecast and trendcast installed), the output schema declared here with float64 values
(StatsForecast's own FugueBackend declares float32, 7 digits). No private StatsForecast name is used. Everything else
(fit / predict, simulate, per-series work) stays local in the parent. The numbers are those of the local call, bit
for bit, in the local call's dtypes and column names (each model's interval columns come lo, highest level first,
then hi, as StatsForecast's FugueBackend ordered them; a local call orders them as each model returns them).

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


def _output_schema(df: pd.DataFrame, models, level: list[int] | None, cv: bool) -> Any:
    """The columns one local StatsForecast call gives (its names), declared for fugue: ``unique_id, ds[, cutoff, y],
    <model>[-lo-<l> (highest level first), -hi-<l>]...``; every value float64 (the local call's dtype: float32 would
    keep 7 digits, a total of 94,105.49 coming back as 94,105.49219)."""
    import inspect

    import fugue.api as fa
    import pyarrow as pa
    from triad import Schema

    keys = fa.get_schema(df[["unique_id", "ds"]])
    cols: list[tuple[str, Any]] = [("cutoff", keys["ds"].type), ("y", pa.float64())] if cv else []
    for model in models:
        name = repr(model)
        cols.append((name, pa.float64()))
        if level and "level" in inspect.signature(model.forecast).parameters:
            cols += [(f"{name}-lo-{lv}", pa.float64()) for lv in reversed(level)]
            cols += [(f"{name}-hi-{lv}", pa.float64()) for lv in level]
    return keys + Schema(cols)


def _partition(df: pd.DataFrame, method: str, models: list, freq: str, fallback_model: Any, kwargs: dict,
               columns: list) -> pd.DataFrame:
    """On a worker: one `StatsForecast(n_jobs=1)` call on one partition's series (forecasting.pooled's), its columns
    in the declared order, values float64."""
    from trendcast.forecasting import pooled

    out = pooled._call(method, models, freq, fallback_model, kwargs, df)[columns]
    values = [c for c in columns if c not in ("unique_id", "ds", "cutoff")]
    return out.astype({c: "float64" for c in values})


def _engine(session: Session) -> Any:
    """What fugue runs on for this session: the dask Client, the SparkSession, or Ray's registered name."""
    return "ray" if session.kind == "ray" else session.client


def _run(method: str, models, freq: str, df: pd.DataFrame, session: Session, fallback_model, kwargs: dict,
         level: list[int] | None) -> pd.DataFrame:
    """`method` over the session's engine through fugue's public transform: partitioned by unique_id, one local
    StatsForecast call per partition (the workers need statsforecast and trendcast), collected as pandas."""
    import warnings

    import fugue.api as fa

    models = list(models)
    schema = _output_schema(df, models, level, cv=method == "cross_validation")
    params = dict(method=method, models=models, freq=freq, fallback_model=fallback_model, kwargs=kwargs,
                  columns=schema.names)
    with warnings.catch_warnings():  # dask's groupby-apply on the grouping column: a pandas deprecation, not ours
        warnings.simplefilter("ignore", FutureWarning)
        out = collect(fa.transform(to_frame(df, session), _partition, schema=schema, params=params,
                                   partition={"by": "unique_id"}, engine=_engine(session), as_local=True))
    # fugue hands back arrow's pandas types (string, datetime64[us], nullable Float64): the local call's dtypes
    keys = {"unique_id": df["unique_id"].dtype, "ds": df["ds"].dtype, "cutoff": df["ds"].dtype}
    return out[schema.names].astype({c: keys.get(c, "float64") for c in schema.names})


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
    out = _run("cross_validation", models, freq, df, session, fallback_model, kwargs, level)
    return out.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)


def forecast(models, freq: str, df: pd.DataFrame, session: Session, *, fallback_model=None, h: int,
             level: list[int] | None = None) -> pd.DataFrame:
    """StatsForecast(models, freq, fallback_model=...).forecast(df=df, h=h, level=level) on the session's engine
    (local: `session.workers` processes of forecasting.pooled), as pandas sorted by unique_id, ds."""
    if not session.distributed:
        from trendcast.forecasting import pooled

        return pooled.forecast(models, freq, df, h=h, level=level, fallback_model=fallback_model,
                               n_jobs=session.workers)
    out = _run("forecast", models, freq, df, session, fallback_model, dict(h=h, level=level), level)
    return out.sort_values(["unique_id", "ds"], ignore_index=True)
