"""Daily data: weekly + yearly seasons (MSTL) with three years of history, weekly only below, and statsforecast's
warnings kept off stderr. Real M5 data, real StatsForecast."""
from __future__ import annotations

import pickle
import warnings
from datetime import date, timedelta

import pandas as pd
import pytest

from trendcast.forecasting import SalesMapping, forecast_period, read_sales, resolve_period
from trendcast.forecasting.constants import DEFAULT_MODELS
from trendcast.forecasting.frequency import default_train_window, season_length, season_lengths
from trendcast.forecasting.models import describe, plan_models

CA_1 = "state_id=CA/store_id=CA_1"


@pytest.fixture
def m5_item(shared_data) -> pd.DataFrame:
    """FOODS_3_819 in the 10 stores, their states and the total: daily, 2014-01-01 .. 2016-05-22."""
    sales, _, freq = read_sales(shared_data / "m5" / "m04_sales_data_prepared.csv",
                                SalesMapping(date="ds", value="y", levels=["state_id", "store_id"]))
    assert freq == "D"
    return sales


@pytest.fixture
def m5_total(shared_data) -> pd.DataFrame:
    """Total units of all 30,490 M5 item x store series per day, 2011-01-29 .. 2016-04-24."""
    sales, _, freq = read_sales(shared_data / "m5" / "aggregates" / "total_daily_sales.csv",
                                SalesMapping(date="date", value="sales", levels=[]))
    assert freq == "D"
    return sales[["ds", "y"]]


def history(sales: pd.DataFrame, uid: str) -> pd.DataFrame:
    return sales.loc[sales["unique_id"] == uid, ["ds", "y"]]


def test_daily_season_lengths():
    seasons = season_length("D")
    assert seasons == 7 and season_lengths(seasons) == (7, 365)  # the main season still reads as 7 (MASE's lag)
    assert 2 * seasons + 1 == 15 and pickle.loads(pickle.dumps(seasons)).all == (7, 365)
    assert season_lengths(season_length("MS")) == (12,) and season_lengths(season_length("W-FRI")) == (52,)
    assert default_train_window("D") == 1095  # three years: two full yearly seasons and some


def test_three_years_of_daily_data_get_the_yearly_season(m5_item, m5_total):
    """M5 total as of 2015-11-30: a three-year window (1,095 days). The seasonal members are MSTL over 7 and 365,
    SeasonalNaive weekly. CA_1 as of 2016-04-30 (851 days, 2.3 years) stays weekly, said so."""
    n = int(min((m5_total["ds"] <= "2015-11-30").sum(), default_train_window("D")))
    assert n == 1095
    fitted, fallback, warns = plan_models(DEFAULT_MODELS, n, season_length("D"))
    assert [describe(m) for m in fitted] == [
        "AutoETS: MSTL(7, 365) + AutoETS(ZZN)",
        "AutoARIMA: MSTL(7, 365) + AutoARIMA",
        "AutoTheta: MSTL(7, 365) + AutoTheta(DOTM)",
        "SeasonalNaive: SeasonalNaive(7)",
    ]
    assert describe(fallback) == "SeasonalNaive: SeasonalNaive(7)" and warns == []
    # monthly and weekly plans are what they were
    assert [describe(m) for m in plan_models(DEFAULT_MODELS, 120, season_length("MS"))[0]] == [
        "AutoETS: AutoETS(12)", "AutoARIMA: AutoARIMA(12)", "AutoTheta: AutoTheta(12)",
        "SeasonalNaive: SeasonalNaive(12)"]
    h = history(m5_item, CA_1)
    as_of = date(2016, 4, 30)
    assert int((h["ds"] <= "2016-04-30").sum()) == 851
    fc = forecast_period(h, "D", resolve_period("next-month", as_of, "D"), as_of=as_of)
    assert list(fc.members) == list(DEFAULT_MODELS)
    assert "only 851 observations (< 3 seasons of 365): yearly season not fitted, weekly season only" in fc.warnings
    assert len(fc.steps) == 31 and fc.lo_95 < fc.lo_80 < fc.total < fc.hi_80 < fc.hi_95


def test_short_daily_series_keeps_the_weekly_season_with_a_warning(m5_item):
    """CA_1 as of 2015-06-30: 546 days, under three years: weekly season only, said so."""
    h = history(m5_item, CA_1)
    as_of = date(2015, 6, 30)
    fitted, _, warns = plan_models(DEFAULT_MODELS, 546, season_length("D"))
    assert [describe(m) for m in fitted] == ["AutoETS: AutoETS(7)", "AutoARIMA: AutoARIMA(7)",
                                             "AutoTheta: AutoTheta(7)", "SeasonalNaive: SeasonalNaive(7)"]
    assert fitted[1].approximation  # AutoARIMA's order search on a long daily series: R's CSS approximation
    expected = "only 546 observations (< 3 seasons of 365): yearly season not fitted, weekly season only"
    assert warns == [expected]
    fc = forecast_period(h, "D", resolve_period("next-month", as_of, "D"), as_of=as_of,
                         models=("AutoETS", "SeasonalNaive"))
    assert expected in fc.warnings and list(fc.members) == ["AutoETS", "SeasonalNaive"]


def test_statsforecast_warnings_go_to_the_forecast_not_stderr(m5_item, capfd):
    """CA_1's first 7 days: AutoETS on 7 points divides by zero estimating sigma (numpy RuntimeWarning)."""
    h = history(m5_item, CA_1)
    as_of = date(2014, 1, 1) + timedelta(days=6)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        fc = forecast_period(h, "D", resolve_period("next-week", as_of, "D"), as_of=as_of)
    # numpy >= 1.25 says "in scalar divide", older ones "in double_scalars" (the floors job runs those)
    assert any(w.startswith("while fitting: RuntimeWarning: divide by zero encountered in") for w in fc.warnings)
    assert len(fc.warnings) == len(set(fc.warnings))  # each distinct one once
    assert [str(w.message) for w in leaked] == []
    assert "Warning" not in capfd.readouterr().err


@pytest.mark.slow
def test_december_follows_last_years_not_the_last_weeks(m5_total, monkeypatch):
    """M5 total units, December 2015 as of 2015-11-30 (actual 1,126,236; Christmas Day near zero: stores closed).
    Weekly + yearly seasons: 1,101,782 (-2.2 %), Christmas Day at 0.29 of the week before. Weekly only (the
    former plan and its 730-day window): 1,001,108 (-11.1 %), Christmas Day like any Friday (0.97)."""
    as_of = date(2015, 11, 30)
    period = resolve_period("next-month", as_of, "D")
    actual = m5_total.loc[m5_total["ds"].between("2015-12-01", "2015-12-31"), "y"].sum()
    assert actual == 1_126_236

    def christmas_ratio(fc) -> float:
        steps = fc.steps.set_index("ds")["mean"]
        return float(steps["2015-12-25"] / steps["2015-12-18":"2015-12-24"].mean())

    yearly = forecast_period(m5_total, "D", period, as_of=as_of)
    assert abs(yearly.total / actual - 1) < 0.05
    assert christmas_ratio(yearly) < 0.5
    assert yearly.lo_80 < actual < yearly.hi_95

    import trendcast.forecasting.baseline

    monkeypatch.setattr(trendcast.forecasting.baseline, "season_length", lambda freq: 7)  # a plain 7: weekly only
    weekly = forecast_period(m5_total, "D", period, as_of=as_of, train_window=730)
    assert weekly.total / actual - 1 < -0.08
    assert christmas_ratio(weekly) > 0.9
    assert abs(yearly.total - actual) < abs(weekly.total - actual) / 3


def _m5_events(shared_data) -> dict:
    cal = pd.read_csv(shared_data / "m5" / "calendar.csv")
    out: dict = {}
    for col in ("event_name_1", "event_name_2"):
        for day, name in zip(cal["date"], cal[col]):
            if isinstance(name, str):
                out.setdefault(pd.Timestamp(day).date(), []).append(name)
    return out


@pytest.mark.slow
def test_known_ahead_events_as_regressors_of_a_daily_fit(m5_total, shared_data):
    """Thanksgiving week 2015 as of 2015-11-19 (M5 total units): AutoARIMA with the calendar's events as 0/1
    regressors moves Thanksgiving Day toward its dip (measured: error +38.5 % → +24.0 %)."""
    as_of = date(2015, 11, 19)
    period = resolve_period("next-week", as_of, "D")
    actual = m5_total.set_index("ds")["y"][pd.Timestamp("2015-11-26")]

    def thanksgiving_error(events) -> tuple[float, list[str]]:
        fc = forecast_period(m5_total, "D", period, as_of=as_of, models=("AutoARIMA",), events=events)
        return float(fc.steps.set_index("ds")["mean"][pd.Timestamp("2015-11-26")] / actual - 1), fc.warnings

    plain, plain_warnings = thanksgiving_error(None)
    with_events, warns = thanksgiving_error(_m5_events(shared_data))
    assert "regressors: Thanksgiving (known-ahead events inside the period)" in warns
    assert not any(w.startswith("regressors") for w in plain_warnings)
    assert plain > 0.3 and with_events < plain - 0.1
