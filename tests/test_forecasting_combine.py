"""Baselines say what ran: a member that fails falls back visibly (``X→SeasonalNaive``) and is not counted twice; a
member with non-finite bounds is left out, never a zero-width interval. Real StatsForecast on real MRTS series."""
from __future__ import annotations

import datetime as dt
import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsforecast.models import Naive, SeasonalNaive

from conftest import MRTS_FILE
from trendcast.forecasting import SalesMapping, SalesStore, forecast_period, ingest_sales, resolve_period
from trendcast.forecasting.combine import combine_members
from trendcast.forecasting.models import MODELS

MRTS = SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                    where={"adjustment": "NSA"}, code_hierarchy=True)
AS_OF = date(2019, 12, 31)
JAN_2019 = 11955.0  # clothing stores (4481), January 2019: SeasonalNaive's forecast of January 2020


class _Fails:
    """Raises, in every method, on series whose mean is above `above` (or below `below`)."""

    above, below = np.inf, -np.inf

    def _check(self, y):
        if y is not None and not self.below <= float(np.mean(y)) <= self.above:
            raise ValueError("boom")

    def fit(self, y, X=None):
        self._check(y)
        return super().fit(y, X)

    def forecast(self, h, y, X=None, X_future=None, level=None, fitted=False):
        self._check(y)
        return super().forecast(h=h, y=y, X=X, X_future=X_future, level=level, fitted=fitted)

    def forward(self, h, y, X=None, X_future=None, level=None, fitted=False):
        self._check(y)
        return super().forward(h=h, y=y, X=X, X_future=X_future, level=level, fitted=fitted)


class Broken(_Fails, Naive):
    """A real StatsForecast model (Naive, under its class's own alias: the registry name must win) that fails."""

    def __init__(self, above: float = -np.inf):
        super().__init__(alias="Naive")
        self.above = above


class BrokenSN(_Fails, SeasonalNaive):
    """SeasonalNaive, whose interval keys come in another order than AutoETS's, failing on small series."""

    def __init__(self, below: float):
        super().__init__(season_length=12)
        self.below = below


class NoBounds(Naive):
    """Naive's point forecast with NaN interval bounds."""

    def forecast(self, h, y, X=None, X_future=None, level=None, fitted=False):
        res = super().forecast(h=h, y=y, X=X, X_future=X_future, level=level, fitted=fitted)
        return {k: (np.full_like(v, np.nan) if k.startswith(("lo-", "hi-")) else v) for k, v in res.items()}


@pytest.fixture(scope="module")
def mrts(tmp_path_factory) -> SalesStore:
    store = SalesStore(tmp_path_factory.mktemp("home") / "sales.duckdb")
    ingest_sales(store, MRTS_FILE, MRTS)
    return store


@pytest.fixture
def odd_models(monkeypatch):
    monkeypatch.setitem(MODELS, "Broken", lambda m: Broken())
    monkeypatch.setitem(MODELS, "NoBounds", lambda m: NoBounds())
    monkeypatch.setitem(MODELS, "BrokenAbove", lambda m: Broken(above=8000.0))
    monkeypatch.setitem(MODELS, "BrokenBelow", lambda m: BrokenSN(below=8000.0))


def next_month(store, models, uid="4481", as_of=AS_OF):
    return forecast_period(store.history(uid), "MS", resolve_period("next-month", as_of, "MS"), as_of=as_of,
                           models=models)


def test_a_failed_member_is_named_and_not_counted_twice(mrts, odd_models):
    fc = next_month(mrts, ("AutoETS", "Broken", "AutoTheta", "SeasonalNaive"))
    assert list(fc.members) == ["AutoETS", "Broken→SeasonalNaive", "AutoTheta", "SeasonalNaive"]
    assert fc.members["Broken→SeasonalNaive"] == fc.members["SeasonalNaive"] == JAN_2019
    assert "Broken failed (ValueError: boom): SeasonalNaive stands in (Broken→SeasonalNaive)" in fc.warnings
    assert "Broken→SeasonalNaive is the same forecast as SeasonalNaive: counted once in the median" in fc.warnings
    assert fc.model == "Ensemble(median of AutoETS,AutoTheta,SeasonalNaive)"
    three = next_month(mrts, ("AutoETS", "AutoTheta", "SeasonalNaive"))
    assert fc.as_dict() == three.as_dict()  # SeasonalNaive has one vote of three, not two of four
    others = sorted(v for k, v in fc.members.items() if k != "Broken→SeasonalNaive")
    assert fc.total == pytest.approx(others[1])
    pd.testing.assert_frame_equal(fc.steps, three.steps)


def test_a_failed_member_stands_in_when_the_fallback_is_not_a_member(mrts, odd_models):
    fc = next_month(mrts, ("AutoETS", "Broken"))
    assert set(fc.members) == {"AutoETS", "Broken→SeasonalNaive"}
    assert fc.members["Broken→SeasonalNaive"] == JAN_2019
    assert fc.model == "Ensemble(median of AutoETS,Broken→SeasonalNaive)"
    assert fc.total == pytest.approx((fc.members["AutoETS"] + JAN_2019) / 2)
    assert any(w.startswith("Broken failed") for w in fc.warnings)
    alone = next_month(mrts, ("Broken",))
    assert alone.model == "Broken→SeasonalNaive" and alone.total == JAN_2019


def test_stable_aliases(mrts, odd_models):
    """A member is named by its registry name, whatever its class calls itself."""
    fc = next_month(mrts, ("BrokenAbove", "SeasonalNaive"), uid="4482")  # shoe stores: mean below 8,000
    assert set(fc.members) == {"BrokenAbove", "SeasonalNaive"} and fc.warnings == []


def test_non_finite_bounds_drop_the_member(mrts, odd_models):
    fc = next_month(mrts, ("AutoETS", "NoBounds", "SeasonalNaive"))
    assert "NoBounds gave non-finite interval bounds: left out" in fc.warnings
    assert set(fc.members) == {"AutoETS", "SeasonalNaive"}
    assert fc.model == "Ensemble(median of AutoETS,SeasonalNaive)"
    assert fc.lo_95 < fc.lo_80 < fc.total < fc.hi_80 < fc.hi_95
    assert (fc.steps["hi_80"] > fc.steps["lo_80"]).all()
    # a quarter: the per-step NaN would have become a zero-width sum interval
    q = forecast_period(mrts.history("4481"), "MS", resolve_period("next-quarter", AS_OF, "MS"), as_of=AS_OF,
                        models=("NoBounds", "SeasonalNaive"))
    assert q.model == "SeasonalNaive" and q.hi_80 - q.lo_80 > 0.05 * q.total
    with pytest.raises(RuntimeError, match="no model produced a forecast"):
        next_month(mrts, ("NoBounds",))


def test_the_rule_itself():
    ok = {"total": 10.0, "lo_80": 9.0, "hi_80": 11.0, "lo_95": 8.0, "hi_95": 12.0}
    nan = dict.fromkeys(ok, np.nan)
    sn = {k: v * 2 for k, v in ok.items()}
    res = {"A": ok, "B": nan, "C": nan, "SeasonalNaive": sn}
    c = combine_members(["A", "B", "C"], "SeasonalNaive", res)  # two stand-ins, one forecast: counted once
    assert c.members == {"A": 10.0, "B→SeasonalNaive": 20.0, "C→SeasonalNaive": 20.0}
    assert c.counted == {"A": "A", "B→SeasonalNaive": "SeasonalNaive"} and c.values["total"] == 15.0
    assert c.ran == {"A": "A", "B": "SeasonalNaive", "C": "SeasonalNaive"}
    assert "C→SeasonalNaive is the same forecast as B→SeasonalNaive: counted once in the median" in c.warnings
    res["SeasonalNaive"] = nan
    c = combine_members(["A", "B"], "SeasonalNaive", res, errors={"B": "ValueError: x"})
    assert c.members == {"A": 10.0} and c.label == "A"
    assert c.warnings == ["B failed (ValueError: x) and no fallback could stand in: left out"]
    c = combine_members(["B"], None, {"B": nan})
    assert c.label == "" and c.counted == {} and np.isnan(c.values["total"])


def test_eval_bulk_baselines_apply_the_same_rule(mrts, odd_models, tmp_path):
    """eval.cells: the member fails on one series only (mean above 8,000: clothing stores, not shoe stores), in
    StatsForecast cross_validation's fit; the cell says what ran and equals forecast_period at the block's origin."""
    from trendcast.eval.cells import compute_baselines, plan_grid
    from trendcast.eval.suite import Suite

    models = ["AutoETS", "BrokenAbove", "SeasonalNaive"]
    origins = [dt.date(2019, 11, 30), dt.date(2019, 12, 31)]
    suite = Suite.model_validate({"name": "t", "origins": {"start": "2019-11", "end": "2019-12"},
                                  "baseline": {"models": models, "refit_every": 2, "train_window": 120},
                                  "n_jobs": 1, "variants": [{"name": "combined"}]})
    panel = mrts.panel(["4481", "4482"])
    grid, excluded = plan_grid(panel, "MS", origins, "next-month", 25)
    assert not excluded
    base = compute_baselines(panel, grid, suite, "MS", tmp_path).set_index(["unique_id", "origin"])
    for origin in origins:
        bad, good = base.loc[("4481", pd.Timestamp(origin))], base.loc[("4482", pd.Timestamp(origin))]
        assert set(json.loads(bad["baseline_members"])) == {"AutoETS", "BrokenAbove→SeasonalNaive", "SeasonalNaive"}
        assert bad["baseline_model"] == "Ensemble(median of AutoETS,SeasonalNaive)"
        assert "BrokenAbove failed: SeasonalNaive stands in" in bad["baseline_warnings"]
        assert bad["BrokenAbove:total"] == bad["SeasonalNaive:total"]  # what ran for that member
        assert bad["combined:total"] == pytest.approx((bad["AutoETS:total"] + bad["SeasonalNaive:total"]) / 2)
        assert good["baseline_model"] == "Ensemble(median of AutoETS,BrokenAbove,SeasonalNaive)"
        assert good["baseline_warnings"] == ""
        assert good["BrokenAbove:total"] == panel[(panel["unique_id"] == "4482")
                                                  & (panel["ds"] == pd.Timestamp(origin).replace(day=1))]["y"].item()
    fc = next_month(mrts, tuple(models), as_of=origins[0])
    row = base.loc[("4481", pd.Timestamp(origins[0]))]
    assert fc.members == pytest.approx(json.loads(row["baseline_members"]), rel=1e-9)
    assert fc.model == row["baseline_model"]
    for key in ("total", "lo_80", "hi_80", "lo_95", "hi_95"):
        assert row[f"combined:{key}"] == pytest.approx(getattr(fc, key), rel=1e-9)


def test_a_failure_on_the_last_series_does_not_relabel_the_others(mrts, odd_models, tmp_path):
    """StatsForecast names a model's columns after ONE series' output keys (here the last, shoe stores, where the
    member fails): the other series' bounds must keep their labels (SeasonalNaive orders lo-80 before lo-95)."""
    from trendcast.eval.cells import compute_baselines, plan_grid
    from trendcast.eval.suite import Suite

    suite = Suite.model_validate({"name": "t", "origins": {"start": "2019-12", "end": "2019-12"},
                                  "baseline": {"models": ["AutoETS", "BrokenBelow"], "train_window": 120},
                                  "n_jobs": 1, "variants": [{"name": "combined"}]})
    panel = mrts.panel(["4481", "4482"])
    grid, _ = plan_grid(panel, "MS", [AS_OF], "next-month", 25)
    base = compute_baselines(panel, grid, suite, "MS", tmp_path).set_index("unique_id")
    assert base.loc["4482", "baseline_model"] == "Ensemble(median of AutoETS,BrokenBelow→SeasonalNaive)"
    ok = base.loc["4481"]
    assert ok["baseline_model"] == "Ensemble(median of AutoETS,BrokenBelow)"
    assert ok["BrokenBelow:lo_95"] < ok["BrokenBelow:lo_80"] < ok["BrokenBelow:total"] < ok["BrokenBelow:hi_80"]
    plain = next_month(mrts, ("SeasonalNaive",))
    for key in ("total", "lo_80", "hi_80", "lo_95", "hi_95"):
        assert ok[f"BrokenBelow:{key}"] == pytest.approx(getattr(plain, key), rel=1e-12)
