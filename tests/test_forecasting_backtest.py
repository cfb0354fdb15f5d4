"""Rolling-origin situations: no fit sees data after its origin; cheap through refit anchors and the store cache."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from conftest import MRTS_FILE
from trendcast.forecasting import (
    SalesMapping,
    SalesStore,
    backtest_situations,
    forecast_period,
    ingest_sales,
    resolve_period,
)
import trendcast.forecasting.backtest as backtest_module

MRTS = SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                    where={"adjustment": "NSA"}, code_hierarchy=True)
IDS = ["4481", "4541", "44811"]  # 44811 (men's clothing) has suppressed months and ends in 2021-04


@pytest.fixture(scope="module")
def mrts(tmp_path_factory) -> SalesStore:
    store = SalesStore(tmp_path_factory.mktemp("home") / "sales.duckdb")
    ingest_sales(store, MRTS_FILE, MRTS)
    return store


def month_ends(first: str, last: str) -> list[date]:
    return [d.date() for d in pd.date_range(first, last, freq="ME")]


def test_changing_data_after_an_origin_leaves_its_baseline_unchanged(mrts):
    panel = mrts.panel(IDS)
    origins = month_ends("2018-01-31", "2019-12-31")
    base = backtest_situations(panel, "MS", origins, "next-month")
    for cut in (date(2018, 6, 30), date(2018, 12, 31), date(2019, 5, 31)):
        tampered = panel.copy()
        after = tampered["ds"] > pd.Timestamp(cut)  # monthly: periods starting after the cut end after it
        tampered.loc[after, "y"] = tampered.loc[after, "y"] * 3 + 1000
        again = backtest_situations(tampered, "MS", origins, "next-month")
        upto = base["origin"] <= pd.Timestamp(cut)
        pd.testing.assert_series_equal(base.loc[upto, "baseline"], again.loc[upto, "baseline"])
        assert (base.loc[~upto, "baseline"] != again.loc[~upto, "baseline"]).all()
        assert (base.loc[upto, "actual"].iloc[-len(IDS):] != again.loc[upto, "actual"].iloc[-len(IDS):]).any()


def test_rows_actuals_and_shape(mrts):
    got = backtest_situations(mrts.panel(IDS), "MS", [date(2019, 11, 30), date(2019, 12, 31), date(2021, 9, 30)],
                              "next-month")
    assert list(got.columns) == ["unique_id", "origin", "period_start", "period_end", "baseline", "actual"]
    assert len(got) == 9
    row = got[(got["unique_id"] == "4481") & (got["origin"] == pd.Timestamp("2019-12-31"))].iloc[0]
    assert (row["period_start"], row["period_end"]) == (pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-31"))
    assert row["actual"] == 12287.0
    assert abs(row["baseline"] / row["actual"] - 1) < 0.10
    # October 2021 is not in the data: no actual; the baseline is still made
    late = got[got["origin"] == pd.Timestamp("2021-09-30")]
    assert late["actual"].isna().all() and late["baseline"].notna().all()


def test_at_a_refit_anchor_it_equals_forecast_period(mrts):
    """Origin 31 December is its own refit anchor: the same fit as the live baseline with the same model."""
    got = backtest_situations(mrts.panel(["4481"]), "MS", [date(2019, 12, 31)], "next-month")
    live = forecast_period(mrts.history("4481"), "MS", resolve_period("next-month", date(2019, 12, 31), "MS"),
                           as_of=date(2019, 12, 31), models=("AutoETS",))
    assert got["baseline"].iloc[0] == pytest.approx(live.total, rel=1e-9)


def test_a_situation_does_not_depend_on_the_other_origins(mrts):
    panel = mrts.panel(["4481"])
    few = backtest_situations(panel, "MS", [date(2019, 3, 31)], "next-quarter")
    many = backtest_situations(panel, "MS", month_ends("2018-01-31", "2019-12-31"), "next-quarter")
    pd.testing.assert_frame_equal(few, many[many["origin"] == pd.Timestamp("2019-03-31")].reset_index(drop=True))
    assert few["period_end"].iloc[0] == pd.Timestamp("2019-06-30")


def test_store_cache_serves_repeats_and_notices_changed_data(mrts, home, monkeypatch):
    cache = SalesStore(home / "sales.duckdb")
    panel = mrts.panel(IDS)
    origins = month_ends("2019-01-31", "2019-12-31")
    first = backtest_situations(panel, "MS", origins, "next-month", store=cache)

    def no_fitting(*args, **kwargs):
        raise AssertionError("a cached situation was recomputed")

    monkeypatch.setattr(backtest_module, "_fit", no_fitting)
    pd.testing.assert_frame_equal(backtest_situations(panel, "MS", origins, "next-month", store=cache), first)
    pd.testing.assert_frame_equal(
        backtest_situations(panel, "MS", origins[:3], "next-month", store=cache),
        first[first["origin"].isin(pd.to_datetime(origins[:3]))].reset_index(drop=True),
    )
    monkeypatch.undo()
    changed = panel.copy()
    changed.loc[changed["unique_id"] == "4481", "y"] *= 2  # new data for one series: only it is recomputed
    again = backtest_situations(changed, "MS", origins, "next-month", store=cache)
    is_4481 = again["unique_id"] == "4481"
    assert np.allclose(again.loc[is_4481, "actual"], 2 * first.loc[first["unique_id"] == "4481", "actual"])
    pd.testing.assert_frame_equal(again[~is_4481], first[first["unique_id"] != "4481"])


def test_weekly_series_to_calendar_months(shared_data, home):
    store = SalesStore(home / "sales.duckdb")
    ingest_sales(store, shared_data / "walmart" / "train.csv.gz",
                 SalesMapping(date="Date", value="Weekly_Sales", levels=["Store", "Dept"]))
    panel = store.panel(["Total", "Store=1"])
    got = backtest_situations(panel, "W-FRI", month_ends("2012-03-31", "2012-09-30"), "next-month")
    total = store.history("Total")
    october = got[(got["unique_id"] == "Total") & (got["origin"] == pd.Timestamp("2012-09-30"))].iloc[0]
    weeks = total[total["ds"].between("2012-10-01", "2012-10-31")]
    assert len(weeks) == 4 and october["actual"] == pytest.approx(weeks["y"].sum())
    assert abs(october["baseline"] / october["actual"] - 1) < 0.10
    assert got["baseline"].notna().all() and got["actual"].notna().all()
