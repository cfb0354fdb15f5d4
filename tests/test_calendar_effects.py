"""Calendar effects of monthly data (forecasting.calendar_effects) on the bundled MRTS NSA series: the weekday mix
and Easter enter the baseline where a series' own record says they help, never from data after as-of, and a series
where they do not help gets the forecast it had without them."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trendcast.forecasting.baseline import forecast_period
from trendcast.forecasting.calendar_effects import adjust_panel, features, fit
from trendcast.forecasting.periods import resolve_period

from conftest import MRTS_FILE

AS_OF = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def mrts() -> dict[str, pd.DataFrame]:
    df = pd.read_csv(MRTS_FILE, dtype={"naics_code": str})
    df = df[(df["adjustment"] == "NSA") & df["naics_code"].notna() & df["sales_musd"].notna()]
    return {code: pd.DataFrame({"ds": pd.to_datetime(g["month"]), "y": g["sales_musd"].astype(float)})
            .sort_values("ds", ignore_index=True) for code, g in df.groupby("naics_code")}


def test_the_calendar_columns_of_known_months():
    # Easter 2016 was March 27 (its 8 lead days in March), 2019 April 21; Feb 2020 had 29 days; centred on the
    # calendar month's mean, so the same column has opposite signs in the two years
    x = features(["2016-03-01", "2019-03-01", "2016-04-01", "2019-04-01", "2020-02-01", "2019-02-01"])
    assert x[0, 4] > 0 > x[1, 4] and x[2, 4] < 0 < x[3, 4]
    assert x[4, 3] - x[5, 3] == pytest.approx(1.0)
    # March 2019 held five Fridays, Saturdays and Sundays; March 2016 four of each
    assert (x[1, :3] - x[0, :3]).tolist() == [1.0, 1.0, 1.0]


def _period(as_of=AS_OF):
    return resolve_period("next-month", as_of, "MS")


def test_a_series_whose_record_shows_calendar_effects_gets_them(mrts):
    """Clothing and accessories (448): year-over-year misses smaller with the weekday mix and Easter over its last
    36 months known at as-of, so the baseline's members are fitted on calendar-adjusted sales."""
    history = mrts["448"]
    seen = history[history["ds"] <= pd.Timestamp(AS_OF)]
    assert fit(seen["ds"].tail(120), seen["y"].tail(120)) is not None
    plain = forecast_period(history, "MS", _period(), as_of=AS_OF)
    cal = forecast_period(history, "MS", _period(), as_of=AS_OF, calendar=True)
    assert any(w.startswith("calendar effects") for w in cal.warnings)
    assert not any(w.startswith("calendar effects") for w in plain.warnings)
    assert cal.total != pytest.approx(plain.total, rel=1e-4)
    assert cal.lo_95 < cal.total < cal.hi_95


def test_a_series_where_they_do_not_help_keeps_its_forecast(mrts):
    """Gasoline stations (447): the calendar does not improve its own record, so calendar=True changes nothing."""
    history = mrts["447"]
    seen = history[history["ds"] <= pd.Timestamp(AS_OF)]
    assert fit(seen["ds"].tail(120), seen["y"].tail(120)) is None
    plain = forecast_period(history, "MS", _period(), as_of=AS_OF)
    cal = forecast_period(history, "MS", _period(), as_of=AS_OF, calendar=True)
    assert (cal.total, cal.lo_80, cal.hi_95) == (plain.total, plain.lo_80, plain.hi_95)
    assert cal.warnings == plain.warnings


def test_effects_are_learned_from_data_known_at_as_of_only(mrts):
    """Values after as-of ×1000 change neither the product's forecast nor the eval's learned effects."""
    history = mrts["448"]
    tampered = history.assign(y=np.where(history["ds"] > pd.Timestamp(AS_OF), history["y"] * 1000, history["y"]))
    a = forecast_period(history, "MS", _period(), as_of=AS_OF, calendar=True)
    b = forecast_period(tampered, "MS", _period(), as_of=AS_OF, calendar=True)
    assert (a.total, a.lo_95, a.hi_95) == (b.total, b.lo_95, b.hi_95)
    cutoff = pd.Timestamp("2017-12-01")
    window = lambda h: h[(h["ds"] > cutoff - pd.DateOffset(months=120)) & (h["ds"] <= cutoff + pd.DateOffset(months=6))]
    _, kept = adjust_panel(window(history).assign(unique_id="448"), {"448": cutoff}, "MS")
    _, kept_b = adjust_panel(window(tampered).assign(unique_id="448"), {"448": cutoff}, "MS")
    assert kept["448"].beta == kept_b["448"].beta
