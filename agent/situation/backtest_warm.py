"""Past-case backtests computed ahead, on an engine's workers: every related series of many targets backtested into
the sales store's situation cache in chunks, so that the one `casebook.precompute_backtests` call after it only
reads (its numbers are the cache's, whoever wrote them).

Used by reports over a whole chain (`agent.report.bulk`) and by eval runs on a distributed engine (`eval.harness`).
On a Dask session the chunks go to its workers (`client.map`; they open the store themselves, so its file must be
reachable from them, as on one machine), otherwise to local worker processes. A failed chunk is not an error:
`precompute_backtests` computes what is missing.
"""
from __future__ import annotations

import datetime as dt

CHUNKS_PER_WORKER = 8  # backtest tasks per worker: small enough to balance, big enough to amortise


def warm(db: str, series, target_ids: list[str], freq: str, as_ofs: list[dt.date], horizon: str, session,
         workers: int, progress=None) -> int:
    """Backtest every series `casebook.backtest_series` names for `target_ids` at every `miss_origins` origin of
    `as_ofs` into the store at `db`. Returns the number of chunks run."""
    from trendcast.agent.situation.casebook import backtest_series, miss_origins

    ids = list(dict.fromkeys(i for t in target_ids for i in backtest_series(series, t)))
    origins = sorted({o for a in as_ofs for o in miss_origins(a, horizon, freq)})
    n = max(1, min(len(ids), workers * CHUNKS_PER_WORKER))
    chunks = [(db, ids[i::n], freq, origins, horizon) for i in range(n)] if origins and ids else []
    if progress is not None:
        progress.phase(f"backtests ({len(chunks)} chunks, {session.describe()})", len(chunks))
    run_chunks(backtest_chunk, chunks, session, workers, progress)
    return len(chunks)


def backtest_chunk(db: str, ids: list[str], freq: str, origins, horizon: str) -> None:
    """Backtest these series into the store's situation cache, exactly as prepare()'s past cases would (in a worker:
    it opens the store itself)."""
    from trendcast.agent.situation.casebook import backtest
    from trendcast.forecasting.store import SalesStore

    backtest(SalesStore(db, lock_timeout_s=60.0), ids, freq, origins, horizon)


def run_chunks(fn, chunks, session, workers: int, progress=None) -> None:
    """fn(*chunk) for every chunk: on the Dask workers, else in local worker processes; failures are dropped."""
    if not chunks:
        return
    if session.kind == "dask":
        from dask.distributed import as_completed

        for _ in as_completed(session.client.map(fn, *zip(*chunks), pure=False)):
            if progress is not None:
                progress.advance()
        return
    from concurrent.futures import as_completed as done

    from trendcast.common.processes import WorkerPool

    with WorkerPool(max(1, workers)) as pool:
        for fut in done([pool.submit(fn, *args) for args in chunks]):
            try:
                fut.result()
            except Exception:
                pass
            if progress is not None:
                progress.advance()
