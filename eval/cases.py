"""Past cases (few-shot examples, analogues) for every cell of a run, from ONE backtest of all related series.

`agent.pipeline.prepare(need_cases=True)` backtests the related series of each (series, as-of) on the panel cut at
that as-of; the situation cache keys on the data it was given, so 30 origins cost 30 full backtests. The backtest
of a past origin depends only on data up to the end of its outcome period, so backtesting the uncut panel once,
over every origin any cell looks back to, gives exactly the same rows. Each cell then keeps only what
`_past_cases` would have had — its related series, its `origins_before(as_of)`, panel rows up to as-of, evidence as
of each past origin — and `agent.cases.find_cases` (which also drops outcomes ending after as-of) scores them with
the agent's own similarity. tests/test_eval_cases.py checks the equality with `prepare(need_cases=True)`.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd


class CaseBank:
    def __init__(self, settings, store, series: pd.DataFrame, target_ids: list[str], freq: str,
                 as_ofs: list[dt.date], horizon: str, ctx):
        from agent.cases import origins_before, related_series
        from agent.pipeline import CASE_LOOKBACK, CASE_MODEL, CASE_SERIES
        from forecasting.backtest import backtest_situations

        self.settings, self.series, self.horizon, self.ctx = settings, series, horizon, ctx
        self.related = {uid: related_series(series, uid, CASE_SERIES) for uid in target_ids}
        ids = sorted({i for rel in self.related.values() for i in rel})
        self.origins = {a: origins_before(a, horizon, freq, CASE_LOOKBACK) for a in as_ofs}
        every = sorted({o for os_ in self.origins.values() for o in os_})
        self.panel = store.panel(ids)
        h = "next-month" if horizon.startswith("month:") else horizon
        self.backtests = (backtest_situations(self.panel, freq, every, h, model=CASE_MODEL, store=store)
                          if every else pd.DataFrame(columns=["unique_id", "origin"]))
        self._context: dict[tuple[str, dt.date], tuple] = {}

    def cases(self, target, as_of: dt.date, query_vec) -> list:
        """What `agent.pipeline._past_cases` returns for this target and as-of."""
        from agent.cases import find_cases

        origins = self.origins.get(as_of)
        if not origins:
            return []
        ids = self.related[target.series_id]
        panel = self.panel[self.panel["unique_id"].isin(ids) & (self.panel["ds"] <= pd.Timestamp(as_of))]
        bt = self.backtests[self.backtests["unique_id"].isin(ids)
                            & self.backtests["origin"].isin(pd.to_datetime(origins))]
        ctx = self.ctx

        def context_at(origin):
            key = (target.series_id, origin)
            if key not in self._context:
                hits = ctx.evidence(query_vec, origin, 5) if query_vec is not None else []
                self._context[key] = (ctx.climate(hits), hits)
            return self._context[key]

        now = ctx.climate(ctx.evidence(query_vec, as_of, 8)) if query_vec is not None else None
        return find_cases(target=target, series=self.series, panel=panel, as_of=as_of, horizon=self.horizon,
                          backtests=bt.reset_index(drop=True), context_at=context_at, now_context=now)
