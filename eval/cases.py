"""Past cases for every cell of a run from ONE backtest of the related series, served to the agent's own code.

`agent.pipeline.prepare(need_cases=True)` backtests each target's related series with
`forecasting.backtest_situations` on the panel cut at the as-of, through the store's situation cache. That cache
keys on the whole series it was given, so each of a run's 30 origins would miss it and refit every related series.
A past origin's situation depends only on data up to the end of its outcome period, so one backtest of the uncut
panel over every origin any cell looks back to gives the same rows. `CaseStore` is the run's SalesStore with its
situation cache answered from that one backtest: `prepare` (and so the case selection, the evidence as of each
past origin and the similarity) runs unchanged. `backtest_situations` still keeps only the origins it asked for
(`origins_before(as_of)`: outcomes ended by as-of) and `find_cases` drops any outcome ending after as-of.
tests/test_eval_honesty.py checks that the cases equal those of the plain store.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd


class CaseStore:
    """A SalesStore whose situation cache, for one (horizon, model), is a precomputed backtest frame."""

    def __init__(self, store, backtests: pd.DataFrame, horizon: str, model: str):
        self._store, self.horizon, self.model = store, horizon, model
        self._rows = {uid: g for uid, g in backtests.groupby("unique_id", sort=False)}

    def __getattr__(self, name):  # history, panel, series, path, ... of the real store
        return getattr(self._store, name)

    def get_situations(self, horizon: str, model: str, hashes) -> pd.DataFrame:
        if (horizon, model) != (self.horizon, self.model):
            return self._store.get_situations(horizon, model, hashes)
        parts = [self._rows[uid] for uid in hashes if uid in self._rows]
        if not parts:
            return self._store.get_situations(horizon, model, hashes)
        return pd.concat(parts, ignore_index=True)

    def put_situations(self, rows, horizon, model, hashes) -> None:
        self._store.put_situations(rows, horizon, model, hashes)


def case_store(store, series: pd.DataFrame, target_ids: list[str], freq: str, as_ofs: list[dt.date],
               horizon: str) -> CaseStore:
    """Backtest (through the real store's cache, so a resumed run reuses it) every series any target's cases may
    come from, at every origin any as-of looks back to; wrap the store to serve it."""
    from agent.cases import origins_before, related_series
    from agent.pipeline import CASE_LOOKBACK, CASE_MODEL, CASE_REFIT_YEARS, CASE_SERIES
    from forecasting.backtest import backtest_situations

    ids = sorted({i for uid in target_ids for i in related_series(series, uid, CASE_SERIES)})
    origins = sorted({o for a in as_ofs for o in origins_before(a, horizon, freq, CASE_LOOKBACK)})
    h = "next-month" if horizon.startswith("month:") else horizon
    bt = (backtest_situations(store.panel(ids), freq, origins, h, model=CASE_MODEL, store=store,
                              refit_years=CASE_REFIT_YEARS) if origins
          else pd.DataFrame(columns=["unique_id", "origin"]))
    return CaseStore(store, bt, h, CASE_MODEL)
