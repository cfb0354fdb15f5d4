"""Bulk baselines on weekly data a calendar month ahead: a block's origins need different numbers of weeks (the last
one fewer than the data has left), and the cross-validation cutoffs must still be the origins' own."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trendcast.eval.cells import compute_baselines, plan_grid
from trendcast.eval.suite import Suite

IDS = ["Store=1/Dept=1", "Store=1/Dept=92"]
# four weekly origins: the first forecasts September 2012, the others October — 6, 9, 8 and 7 weeks ahead
ORIGINS = [dt.date(2012, 8, 29), dt.date(2012, 9, 5), dt.date(2012, 9, 12), dt.date(2012, 9, 19)]


def _suite(refit_every: int) -> Suite:
    return Suite.model_validate({
        "name": "w", "origins": {"start": "2012-08-29", "end": "2012-09-19", "step": 1}, "horizon": "next-month",
        "n_jobs": 1, "baseline": {"models": ["AutoETS", "SeasonalNaive"], "refit_every": refit_every},
        "variants": [{"name": "combined"}]})


@pytest.mark.slow
def test_a_block_running_past_the_data_keeps_its_cutoffs(shared_data, tmp_path):
    from trendcast.forecasting.ingest import SalesMapping, ingest_sales
    from trendcast.forecasting.store import SalesStore

    store = SalesStore(tmp_path / "sales.duckdb")
    ingest_sales(store, shared_data / "walmart" / "train.csv.gz",
                 SalesMapping(date="Date", value="Weekly_Sales", levels=("Store", "Dept"), where={"Store": "1"}))
    panel = store.panel(IDS)
    grid, excluded = plan_grid(panel, "W-FRI", ORIGINS, "next-month", 105)
    assert not excluded and sorted(grid["steps"].unique()) == [6, 7, 8, 9]
    last = grid["cutoff"].max()
    assert last + 9 * pd.offsets.Week(weekday=4) > panel["ds"].max()  # the block's last cutoff runs past the data
    one = compute_baselines(panel, grid, _suite(4), "W-FRI", tmp_path / "block")  # one call, the last runs past
    each = compute_baselines(panel, grid, _suite(1), "W-FRI", tmp_path / "each")  # one call per origin
    cols = [c for c in one.columns if c.endswith(":total")]
    assert np.isfinite(one[cols].to_numpy(float)).all()
    first = one["origin"] == pd.Timestamp(ORIGINS[0])  # the block is fitted at its first origin: same as alone
    np.testing.assert_allclose(one.loc[first, cols].to_numpy(float), each.loc[first, cols].to_numpy(float))
    # October's totals are sums of the four weeks dated in October, near what came in
    october = one[one["origin"] == pd.Timestamp(ORIGINS[-1])].set_index("unique_id")
    assert (october["period_start"] == pd.Timestamp("2012-10-01")).all()
    assert (abs(october["combined:total"] / october["actual"] - 1) < 0.3).all()
