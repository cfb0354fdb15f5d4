"""Every learned quantity at origin t uses only outcomes known at t: the rolling combination (eval.cells) and the
trusted variants (eval.trusted), on the real MRTS data — change the future, the past stays bit for bit the same."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trendcast.eval.cells import compute_baselines, plan_grid, rolling_combined
from trendcast.eval.suite import Suite
from trendcast.eval.trusted import add_trusted, trusted_name

MODELS = ["AutoETS", "AutoTheta", "SeasonalNaive"]
IDS = ["448", "4481", "4482"]
ORIGINS = [d.date() for d in pd.date_range("2019-09-30", "2020-05-31", freq="ME")]
CUT = pd.Timestamp("2020-01-31")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.store import SalesStore
    from tests.conftest import MRTS_FILE

    s = SalesStore(tmp_path_factory.mktemp("ws") / "sales.duckdb")
    ingest_sales(s, MRTS_FILE, mrts_mapping())
    return s


def _suite() -> Suite:
    return Suite.model_validate({
        "name": "t", "origins": {"start": "2019-09", "end": "2020-05"}, "n_jobs": 1,
        "baseline": {"models": MODELS, "refit_every": 3, "train_window": 120},
        "variants": [{"name": "combined"}, {"name": "carry", "adjuster": "carry"}]})


def _base(panel, tmp):
    grid, excluded = plan_grid(panel, "MS", ORIGINS, "next-month", 25)
    assert not excluded
    return rolling_combined(compute_baselines(panel, grid, _suite(), "MS", tmp), MODELS, "MS")


def _raw_cells(base):
    """A proposal per cell made from what is known at its origin: half the gap between the last observed month
    and the baseline (an adjuster's input, not a result under test)."""
    from trendcast.forecasting.conformal import log_sigma

    pct = 50.0 * (base["last"] / base["combined:total"] - 1.0)
    f = 1 + pct / 100
    return pd.DataFrame({
        "unique_id": base["unique_id"], "origin": base["origin"], "variant": "carry",
        "forecast": base["combined:total"] * f, **{b: base[f"combined:{b}"] * f
                                                    for b in ("lo_80", "hi_80", "lo_95", "hi_95")},
        "baseline": base["combined:total"], "pct": pct, "source": "carry", "fallback": False, "attempts": 0,
        "cached": False, "n_evidence": 0, "n_cases": 0, "warnings": "", "dialect": "", "llm_problems": "",
        "key": "carry", "ext_down": 0.0, "ext_up": 0.0, "sigma": [log_sigma(t, lo, hi) for t, lo, hi in
                                  zip(base["combined:total"], base["combined:lo_80"], base["combined:hi_80"])]})


@pytest.mark.slow
def test_changing_the_future_changes_no_earlier_combination_trust_or_interval(store, tmp_path):
    panel = store.panel(IDS)
    future = panel["ds"] > CUT
    tampered = panel.assign(y=np.where(future, panel["y"] * 3, panel["y"]))
    out = {}
    for name, p in (("real", panel), ("tampered", tampered)):
        base = _base(p, tmp_path / name)
        cells, trust = add_trusted(_raw_cells(base), base, _suite(), "MS", 1.0)
        out[name] = (base, cells, trust)
    (b0, c0, t0), (b1, c1, t1) = out["real"], out["tampered"]
    early = b0["origin"] <= CUT
    cols = [c for c in b0.columns if c.startswith("combined:")] + ["baseline_model"]
    pd.testing.assert_frame_equal(b0.loc[early, cols], b1.loc[early, cols])
    name = trusted_name("carry")
    k0 = c0[(c0["variant"] == name) & (c0["origin"] <= CUT)].reset_index(drop=True)
    k1 = c1[(c1["variant"] == name) & (c1["origin"] <= CUT)].reset_index(drop=True)
    pd.testing.assert_frame_equal(k0, k1)
    pd.testing.assert_frame_equal(t0[t0["origin"] <= CUT].reset_index(drop=True),
                                  t1[t1["origin"] <= CUT].reset_index(drop=True))
    # and later origins do move: the check can fail
    late = (c0["variant"] == name) & (c0["origin"] > CUT)
    assert not np.allclose(c0.loc[late, "forecast"].to_numpy(), c1.loc[late, "forecast"].to_numpy())


@pytest.mark.slow
def test_the_rolling_combination_picks_members_by_their_past_errors(store, tmp_path):
    base = _base(store.panel(IDS), tmp_path / "b")
    first = base["origin"] == base["origin"].min()
    assert base.loc[first, "baseline_model"].str.startswith("Ensemble(median").all()  # no record yet
    later = base.loc[~first, "baseline_model"]
    assert later.str.startswith("Ensemble(mean of ").all()
    # at the last origin: the two members with the lowest mean |log error| over the earlier, known origins
    last = base["origin"].max()
    past = base[(base["origin"] < last) & (pd.to_datetime(base["period_end"]) <= last)]
    err = {m: float(np.abs(np.log(past["actual"] / past[f"{m}:total"])).mean()) for m in MODELS}
    best = sorted(err, key=err.get)[:2]
    now = base[base["origin"] == last]
    expect = now[[f"{m}:total" for m in best]].mean(axis=1)
    np.testing.assert_allclose(now["combined:total"], expect)
    assert now["baseline_model"].iloc[0].startswith(f"Ensemble(mean of {','.join(best)}")


@pytest.mark.slow
def test_trusted_cells_are_what_the_product_would_answer(store, tmp_path):
    """A trusted cell = engine.adjusted_forecast of its proposal with the trust learned from earlier origins."""
    from trendcast.agent import engine
    from trendcast.agent.trust.learn import learn

    base = _base(store.panel(IDS), tmp_path / "c")
    raw = _raw_cells(base)
    cells, trust = add_trusted(raw, base, _suite(), "MS", 1.0)
    last = base["origin"].max()
    rec = raw.merge(base[["unique_id", "origin", "period_start", "period_end", "actual"]], on=["unique_id", "origin"])
    rec = rec[(rec["origin"] < last) & (pd.to_datetime(rec["period_end"]) <= last)]
    t = learn(rec, "carry")
    row = trust[(trust["origin"] == last)].iloc[0]
    assert (row["trust_down"], row["trust_up"], row["n"]) == (t.down, t.up, t.n)
    cell = raw[raw["origin"] == last].iloc[0]
    got = cells[(cells["variant"] == "carry+trust") & (cells["origin"] == last)
                & (cells["unique_id"] == cell["unique_id"])].iloc[0]

    class B:
        total, lo_80, hi_80 = cell["baseline"], cell["lo_80"] / (1 + cell["pct"] / 100), \
            cell["hi_80"] / (1 + cell["pct"] / 100)

    want = engine.adjusted_forecast(B, cell["pct"], last_total=None, last_year_total=None, flat_band_pct=1.0,
                                    learned=t)
    assert got["forecast"] == pytest.approx(want.total) and got["lo_95"] == pytest.approx(want.lo_95)
    assert got["pct"] == pytest.approx(t.applied(cell["pct"]))
