"""Period baselines with real StatsForecast models on real MRTS series."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from conftest import MRTS_FILE
from trendcast.forecasting import (
    InputError,
    SalesMapping,
    SalesStore,
    apply_adjustment,
    direction,
    forecast_period,
    ingest_sales,
    resolve_period,
)

MRTS = SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                    where={"adjustment": "NSA"}, code_hierarchy=True)


@pytest.fixture(scope="module")
def mrts(tmp_path_factory) -> SalesStore:
    store = SalesStore(tmp_path_factory.mktemp("home") / "sales.duckdb")
    ingest_sales(store, MRTS_FILE, MRTS)
    return store


def published(store: SalesStore, uid: str, month: str) -> float:
    hist = store.history(uid)
    return float(hist.loc[hist["ds"] == pd.Timestamp(month), "y"].iloc[0])


def test_clothing_stores_january_2020(mrts):
    """Acceptance: clothing stores (4481, NSA) as of 2019-12-31, next month."""
    as_of = date(2019, 12, 31)
    period = resolve_period("next-month", as_of, "MS")
    assert (period.start, period.end) == (date(2020, 1, 1), date(2020, 1, 31))
    fc = forecast_period(mrts.history("4481"), "MS", period, as_of=as_of)
    actual = published(mrts, "4481", "2020-01-01")  # 12,287 million USD
    assert abs(fc.total / actual - 1) < 0.10
    assert fc.lo_80 <= actual <= fc.hi_80
    assert fc.lo_95 <= fc.lo_80 < fc.total < fc.hi_80 <= fc.hi_95
    assert fc.model == "Ensemble(median of AutoETS,AutoARIMA,AutoTheta,SeasonalNaive)"
    assert set(fc.members) == {"AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"}
    assert fc.members["SeasonalNaive"] == published(mrts, "4481", "2019-01-01")  # last January, as it should be
    members = sorted(fc.members.values())
    assert fc.total == pytest.approx((members[1] + members[2]) / 2)  # median of four
    assert fc.steps["ds"].tolist() == [pd.Timestamp("2020-01-01")]
    assert fc.steps["mean"].iloc[0] == pytest.approx(fc.total)
    assert fc.warnings == [] and fc.as_of == as_of and fc.period == period
    assert fc.as_dict() == {"model": fc.model, "total": fc.total, "lo_80": fc.lo_80, "hi_80": fc.hi_80,
                            "lo_95": fc.lo_95, "hi_95": fc.hi_95}


def test_data_after_as_of_never_reaches_the_models(mrts):
    hist = mrts.history("4481")
    as_of = date(2019, 6, 30)
    period = resolve_period("next-month", as_of, "MS")
    tampered = hist.copy()
    tampered.loc[tampered["ds"] > pd.Timestamp(as_of), "y"] *= 10
    models = ("AutoETS", "SeasonalNaive")
    a = forecast_period(hist, "MS", period, as_of=as_of, models=models)
    b = forecast_period(tampered, "MS", period, as_of=as_of, models=models)
    assert a.as_dict() == b.as_dict()
    # a partially observed month (as-of mid-December) is not observed: December is forecast too, not used
    mid = forecast_period(hist, "MS", resolve_period("next-month", date(2019, 12, 15), "MS"), as_of=date(2019, 12, 15),
                          models=("SeasonalNaive",))
    assert mid.total == published(mrts, "4481", "2019-01-01")


def test_default_as_of_is_the_last_observed_month(mrts):
    hist = mrts.history("4481", end="2019-12-01")
    fc = forecast_period(hist, "MS", resolve_period("next-month", date(2019, 12, 31), "MS"), models=("SeasonalNaive",))
    assert fc.as_of == date(2019, 12, 31) and fc.model == "SeasonalNaive"


def test_period_must_start_after_as_of(mrts):
    with pytest.raises(InputError, match="does not start after as-of"):
        forecast_period(mrts.history("4481"), "MS", resolve_period("next-month", date(2019, 11, 30), "MS"),
                        as_of=date(2019, 12, 31))


def test_short_series_fall_back_to_non_seasonal_models(mrts):
    hist = mrts.history("4481")
    short = hist[(hist["ds"] >= "2018-07-01") & (hist["ds"] <= "2019-12-01")]  # 18 months < 2 seasons
    fc = forecast_period(short, "MS", resolve_period("next-month", date(2019, 12, 31), "MS"))
    assert set(fc.members) == {"AutoETS", "AutoARIMA", "AutoTheta", "Naive"}
    assert any("< 2 seasons of 12" in w and "SeasonalNaive replaced by Naive" in w for w in fc.warnings)
    tiny = forecast_period(hist[hist["ds"].between("2019-10-01", "2019-12-01")], "MS",
                           resolve_period("next-month", date(2019, 12, 31), "MS"))
    assert tiny.model == "Naive" and tiny.total == 24357.0 and "only 3 observations" in tiny.warnings[0]


def test_gaps_are_interpolated_with_a_warning(mrts):
    hist = mrts.history("4481")
    holed = hist[~hist["ds"].isin(pd.to_datetime(["2019-05-01", "2019-06-01"]))]
    fc = forecast_period(holed, "MS", resolve_period("next-month", date(2019, 12, 31), "MS"), as_of=date(2019, 12, 31),
                         models=("AutoETS",))
    assert fc.warnings == ["2 missing period(s) in the training window were filled by linear interpolation"]


def test_train_window_limits_the_history(mrts):
    hist = mrts.history("4481")
    period = resolve_period("next-month", date(2019, 12, 31), "MS")
    windowed = forecast_period(hist, "MS", period, as_of=date(2019, 12, 31), models=("AutoETS",), train_window=36)
    cut = forecast_period(hist[hist["ds"] >= "2017-01-01"], "MS", period, as_of=date(2019, 12, 31),
                          models=("AutoETS",), train_window=1000)
    assert windowed.as_dict() == cut.as_dict()


def test_unknown_model_is_refused(mrts):
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['Prophet'\]"):
        forecast_period(mrts.history("4481"), "MS", resolve_period("next-month", date(2019, 12, 31), "MS"),
                        as_of=date(2019, 12, 31), models=("Prophet",))


def test_apply_adjustment_and_direction(mrts):
    fc = forecast_period(mrts.history("4481"), "MS", resolve_period("next-month", date(2019, 12, 31), "MS"),
                         as_of=date(2019, 12, 31), models=("SeasonalNaive",))
    moved = apply_adjustment(fc, -10.0)
    assert moved["total"] == pytest.approx(11955.0 * 0.9)
    assert moved["lo_80"] == pytest.approx(fc.lo_80 * 0.9) and moved["hi_95"] == pytest.approx(fc.hi_95 * 0.9)
    assert apply_adjustment(fc, 0.0) == {k: v for k, v in fc.as_dict().items() if k != "model"}
    with pytest.raises(ValueError):
        apply_adjustment(fc, -100.0)
    assert [direction(x, 1.0) for x in (2.5, 1.0, 0.0, -1.0, -1.01)] == ["up", "flat", "flat", "flat", "down"]


def test_daily_next_week(shared_data):
    from trendcast.forecasting import read_sales

    sales, _, freq = read_sales(shared_data / "m5" / "aggregates" / "total_daily_sales.csv",
                                SalesMapping(date="date", value="sales", levels=[]))
    as_of = date(2016, 3, 31)
    period = resolve_period("next-week", as_of, freq)
    fc = forecast_period(sales[["ds", "y"]], freq, period, as_of=as_of, models=("AutoETS", "SeasonalNaive"))
    assert len(fc.steps) == 7 and fc.steps["ds"].iloc[0] == pd.Timestamp("2016-04-01")
    actual = sales.loc[sales["ds"].between("2016-04-01", "2016-04-07"), "y"].sum()
    assert abs(fc.total / actual - 1) < 0.20  # 277,374 vs 311,984 (-11 %): SNAP payments lift the first days
    assert fc.total == pytest.approx(fc.steps["mean"].sum())  # two members: the median is their mean
    assert fc.lo_95 < fc.lo_80 < fc.total < fc.hi_80 < fc.hi_95
