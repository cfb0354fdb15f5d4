"""Situations of many origins prepared in worker processes.

`prepare` (history cut, evidence search as of the origin, past cases) is CPU-bound Python: threads do not help,
processes do. Each worker opens the workspace once (index, store, the run's case backtest — read back from the
store's situation cache, which the parent filled) and prepares whole origins; the parent gets the Situations back
(plain dataclasses) and runs the adjusters itself, so LLM requests stay one concurrent batch per origin and the
call log's counts stay per batch. Same inputs, same functions, same results as preparing in the parent.

A DocStore holds a writable DuckDB connection for its process's lifetime and DuckDB lets one process at a time
hold one, so each worker gets a private home: docs.duckdb (and its WAL) and index/ copied, sales.duckdb linked
(the sales store opens short-lived connections and is multi-process safe). The parent embeds the queries first,
so no worker loads the embedding model.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import time
import tempfile
from concurrent.futures import Future
from pathlib import Path

import pandas as pd

from trendcast.common.processes import WorkerPool

_WORKER: dict = {}

RMTREE_TRIES = 30  # scratch removal passes, 0.1 s apart


def embed_queries_once(settings, names: list[str]) -> None:
    """Make sure the situation queries of these series are in the workspace's query cache (closing the store)."""
    from trendcast.agent import workspace
    from trendcast.retrieval import DocStore, embed_queries

    if not workspace.index_exists(settings):
        return
    queries = sorted({q for n in names for q in workspace.situation_queries(n)})
    with DocStore(settings.docs_db) as ds:
        embed_queries(ds, lambda: workspace.embedder(settings), queries)


def worker_home(settings, scratch: Path):
    """Settings whose home is a private copy of the documents and index, with the sales store linked."""
    home = Path(tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=scratch))
    for name in ("docs.duckdb", "docs.duckdb.wal"):
        if (settings.home / name).exists():
            shutil.copy2(settings.home / name, home / name)
    if settings.index_dir.is_dir():
        shutil.copytree(settings.index_dir, home / settings.index_dir.name)
    os.symlink(settings.sales_db.resolve(), home / settings.sales_db.name)
    return settings.model_copy(update={"home": home})


def _init(settings, scratch: Path, series: pd.DataFrame, target_ids: list[str], freq: str, as_ofs,
          horizon: str) -> None:
    from trendcast.agent import engine, workspace
    
    settings = worker_home(settings, scratch)
    store = workspace.sales_store(settings)
    _WORKER.update(settings=settings, series=series, horizon=horizon, search=engine.EvidenceSearch(settings),
                   store=store, backtests=engine.precompute_backtests(store, series, target_ids, freq, as_ofs,
                                                                      horizon))


def _prepare_origin(base: pd.DataFrame, baselines: list[str], members: list[str]) -> dict[str, list]:
    from trendcast.eval.variants import OriginContext

    w = _WORKER
    oc = OriginContext(settings=w["settings"], store=w["store"], series=w["series"], base=base,
                       horizon=w["horizon"], members=members, search=w["search"], backtests=w["backtests"])
    return {b: oc.situations(b) for b in baselines}


class Preparer:
    """Submit origins to `n_jobs` worker processes; `result(origin)` waits for that origin's situations."""

    def __init__(self, n_jobs: int, settings, scratch: Path, series, target_ids, freq, as_ofs, horizon):
        names = series.set_index("unique_id").loc[target_ids, "name"].astype(str).tolist()
        embed_queries_once(settings, names)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)
        # spawned workers that die with this process (trendcast.common.processes); close(abort=True) terminates them
        self.pool = WorkerPool(n_jobs, initializer=_init,
                               initargs=(settings, self.scratch, series, target_ids, freq, as_ofs, horizon))
        self.futures: dict = {}

    def submit(self, origin, base: pd.DataFrame, baselines: list[str], members: list[str]) -> None:
        self.futures[origin] = self.pool.submit(_prepare_origin, base, baselines, members)

    def result(self, origin) -> dict[str, list]:
        fut: Future = self.futures.pop(origin)
        return fut.result()

    def close(self, abort: bool = False) -> None:
        """Wait for the workers' running origins (`abort`, or an interrupt while waiting: terminate them at once),
        then drop their scratch — whatever happens meanwhile."""
        for fut in self.futures.values():
            fut.cancel()
        try:
            if abort:
                self._stop()
            else:
                try:
                    self.pool.shutdown(wait=True, cancel_futures=True)
                except BaseException:  # SIGINT / SIGTERM while waiting: stop them, then go on raising
                    self._stop()
                    raise
        finally:
            for _ in range(RMTREE_TRIES):  # a worker killed mid-copy may have left a file behind the first pass
                shutil.rmtree(self.scratch, ignore_errors=True)
                if not self.scratch.exists():
                    break
                time.sleep(0.1)

    def _stop(self) -> None:
        self.pool.stop()
        for child in multiprocessing.active_children():  # one the pool had not listed yet: it must not write on
            child.terminate()
            child.join(2.0)
