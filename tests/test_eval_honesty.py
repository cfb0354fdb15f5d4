"""No cell of an eval sees data after its origin: bulk baselines and past cases, on the real MRTS data."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trendcast.eval.cells import compute_baselines, plan_grid
from trendcast.eval.suite import Suite

MODELS = ["AutoETS", "AutoTheta", "SeasonalNaive"]  # AutoARIMA left out to keep the test fast
ORIGINS = [dt.date(2019, 10, 31), dt.date(2019, 11, 30), dt.date(2019, 12, 31), dt.date(2020, 1, 31)]
IDS = ["448", "4482"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.store import SalesStore
    from tests.conftest import MRTS_FILE

    s = SalesStore(tmp_path_factory.mktemp("ws") / "sales.duckdb")
    ingest_sales(s, MRTS_FILE, mrts_mapping())
    return s


def _suite(refit_every: int) -> Suite:
    return Suite.model_validate({
        "name": "t", "origins": {"start": "2019-10", "end": "2020-01"},
        "baseline": {"models": MODELS, "refit_every": refit_every, "train_window": 120},
        "n_jobs": 1,
        "variants": [{"name": "combined"}]})


def _baselines(panel, refit_every, tmp_path):
    grid, excluded = plan_grid(panel, "MS", ORIGINS, "next-month", 25)
    assert not excluded
    return compute_baselines(panel, grid, _suite(refit_every), "MS", tmp_path)


def test_changing_the_future_does_not_change_any_earlier_origin(store, tmp_path):
    """Multiply every value after 2019-11 by 3: the baselines of origins up to 2019-11 are bit for bit the same;
    those of later origins move (so the check can fail)."""
    panel = store.panel(IDS)
    before = _baselines(panel, 3, tmp_path / "a")
    cut = pd.Timestamp("2019-11-30")
    future = panel["ds"] > cut
    assert future.any()
    after = _baselines(panel.assign(y=np.where(future, panel["y"] * 3, panel["y"])), 3, tmp_path / "b")
    cols = [c for c in before.columns if ":" in c]
    early = before["origin"] <= cut
    pd.testing.assert_frame_equal(before.loc[early, cols], after.loc[early, cols])
    assert not np.allclose(before.loc[~early, cols].to_numpy(float), after.loc[~early, cols].to_numpy(float))
    # the actuals are the future, of course, and the grid says which period each cell is about
    assert (after.loc[~early, "actual"] == 3 * before.loc[~early, "actual"]).all()


def test_bulk_baselines_at_refit_origins_equal_forecast_period(store, tmp_path):
    """At the first origin of each refit block the bulk baseline is exactly what `trendcast ask --as-of` fits."""
    from trendcast.forecasting.baseline import forecast_period
    from trendcast.forecasting.periods import resolve_period

    base = _baselines(store.panel(IDS), 3, tmp_path)
    for origin in (ORIGINS[0], ORIGINS[3]):  # blocks [2019-10, 2019-11, 2019-12], [2020-01]
        for uid in IDS:
            bf = forecast_period(store.history(uid), "MS", resolve_period("next-month", origin, "MS"),
                                 as_of=origin, models=MODELS, train_window=120)
            row = base[(base["unique_id"] == uid) & (base["origin"] == pd.Timestamp(origin))].iloc[0]
            for key in ("total", "lo_80", "hi_80", "lo_95", "hi_95"):
                assert row[f"combined:{key}"] == pytest.approx(getattr(bf, key), rel=1e-9)
            for m in MODELS:
                assert row[f"{m}:total"] == pytest.approx(bf.members[m], rel=1e-9)


def test_refit_every_origin_equals_forecast_period_everywhere(store, tmp_path):
    from trendcast.forecasting.baseline import forecast_period
    from trendcast.forecasting.periods import resolve_period

    base = _baselines(store.panel(["4482"]), 1, tmp_path)
    for origin in ORIGINS:
        bf = forecast_period(store.history("4482"), "MS", resolve_period("next-month", origin, "MS"),
                             as_of=origin, models=MODELS, train_window=120)
        row = base[base["origin"] == pd.Timestamp(origin)].iloc[0]
        assert row["combined:total"] == pytest.approx(bf.total, rel=1e-9)


def test_precomputed_backtests_give_the_cases_of_the_plain_store(store):
    """Past cases from eval's one backtest for every origin (engine.precompute_backtests) = those prepare finds on
    its own through the store (same rows, same similarity), and every case's outcome ends on or before the as-of."""
    from trendcast.agent import engine
    from trendcast.agent.settings import Settings

    settings = Settings(home=store.path.parent)
    series = store.series()
    search = engine.EvidenceSearch(settings)
    as_of = dt.date(2019, 12, 31)
    pre = engine.precompute_backtests(store, series, ["4482"], "MS", [as_of, dt.date(2020, 2, 29)], "next-month")
    target = engine.target_by_id(series, "4482")

    def cases(backtests):
        sit = engine.prepare(settings, target, question="q", as_of=as_of, horizon="next-month", need_cases=True,
                             series=series, search=search, store=store, backtests=backtests)
        return [(c.series_id, c.origin, round(c.baseline, 6), round(c.actual, 6), round(c.similarity, 9),
                 c.period.end) for c in sit.cases]

    mine = cases(pre)
    assert mine == cases(None)
    assert mine and all(end <= as_of for *_, end in mine)
