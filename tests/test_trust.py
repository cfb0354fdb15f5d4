"""Trust from the record (agent.trust) and conformal intervals (forecasting.conformal)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trendcast.agent.trust.learn import PRIORS, STRENGTH, learn, prior_only, record_key
from trendcast.forecasting import conformal


def _record(pcts, outcomes_pct, sigma=0.03, baseline=100.0):
    """Rows of a record: proposals and what came in, both as % against the baseline."""
    return pd.DataFrame({"pct": pcts, "baseline": baseline,
                         "actual": [baseline * (1 + o / 100) for o in outcomes_pct], "sigma": sigma})


def test_no_record_holds_the_prior_and_the_normal_interval():
    llm = prior_only(record_key("llm", "m", "few-shot@2"))
    assert (llm.down, llm.up) == PRIORS["llm"] and llm.n == 0 and llm.q80 is None
    assert llm.applied(-20.0) == pytest.approx(100 * math.expm1(0.5 * math.log(0.8)))
    carry = prior_only("carry")
    assert carry.applied(-20.0) == pytest.approx(-20.0) and carry.applied(15.0) == pytest.approx(15.0)


def test_an_adjuster_that_was_right_keeps_its_weight_and_one_that_hurts_loses_it():
    right = learn(_record([-30, -10, 20, 5] * 200, [-30, -10, 20, 5] * 200), "llm|m|p")
    assert right.down > 0.99 and right.up > 0.97  # a long record of right proposals outweighs the LLM prior
    wrong = learn(_record([-30, -10, 20, 5] * 40, [25, 10, -15, -5] * 40), "llm|m|p")
    assert wrong.down == 0.0 and wrong.up == 0.0
    assert wrong.applied(-40.0) == 0.0


def test_up_and_down_are_fitted_apart():
    """Downward proposals came true, upward ones overshot by double: trust down 1, up near 1/2 (the prior, 1,
    pulls it up a little)."""
    rec = _record([-20] * 200 + [20] * 200, [-20] * 200 + [10] * 200)
    t = learn(rec, "carry")
    p, o = math.log(1.2), math.log(1.1)
    assert t.down == pytest.approx(1.0) and (t.n_down, t.n_up) == (200, 200)
    assert t.up == pytest.approx((200 * p * o + STRENGTH) / (200 * p * p + STRENGTH)) and 0.5 < t.up < 0.55


def test_little_record_stays_near_the_prior():
    """One small proposal (p^2 = 0.0004, far below STRENGTH) cannot move the prior much."""
    t = learn(_record([-2], [2]), "llm|m|p")
    assert t.down == pytest.approx((math.log(0.98) * math.log(1.02) + STRENGTH * 0.5) /
                                   (math.log(0.98) ** 2 + STRENGTH))
    assert 0.45 < t.down < 0.5


def test_conformal_quantile_is_the_finite_sample_rank():
    s = np.arange(1, 101, dtype=float)  # 100 scores 1..100
    q = conformal.quantiles(s)
    assert q[80] == 81.0 and q[95] == 96.0  # ceil(101 * 0.8) = 81st, ceil(101 * 0.95) = 96th
    assert conformal.quantiles(s[:29]) == {80: None, 95: None}  # under MIN_SCORES


def test_a_bold_move_gets_a_wide_interval():
    """The interval spans the adjusted forecast and its baseline, and q widths beyond each."""
    q = {80: 1.0, 95: 2.0}
    small = conformal.bounds(100.0, 0.03, 0.0, q)
    bold = conformal.bounds(50.0, 0.03, math.log(0.5), q)  # halved from a baseline of 100
    assert bold["lo_80"] == pytest.approx(50 * math.exp(-0.03)) and bold["hi_80"] == pytest.approx(small["hi_80"])
    assert bold["hi_95"] / bold["lo_95"] == pytest.approx(2 * small["hi_95"] / small["lo_95"])  # the span + the band
    # the normal quantile where the record is too short
    z = conformal.bounds(100.0, 0.03, 0.0, {80: None, 95: None})
    assert z["hi_80"] == pytest.approx(100 * math.exp(1.2815516 * 0.03), rel=1e-6)


def test_scores_count_widths_outside_the_span():
    # forecast 50 on a baseline of 100: an actual of 70 lies between them (0), 25 one log-unit-of-2 below the
    # forecast, 200 as far above the baseline
    s = conformal.scores([70.0, 25.0, 200.0], [50.0] * 3, 0.1, math.log(0.5))
    assert s[0] == 0.0 and s[1] == pytest.approx(math.log(2) / 0.1) and s[2] == pytest.approx(math.log(2) / 0.1)


def test_log_sigma_reads_the_80_interval():
    assert conformal.log_sigma(100, 100 * math.exp(-0.1), 100 * math.exp(0.1)) == pytest.approx(0.1 / 1.2815516,
                                                                                                 rel=1e-6)
    assert conformal.log_sigma(100, -20, 220) == pytest.approx(240 / (2 * 1.2815516 * 100), rel=1e-6)


def test_interval_quantiles_come_from_the_trusted_errors():
    """A record whose errors are all 2x its spread gives q80 near 2 (scores are |log error| / (sigma + |move|))."""
    rec = _record([0.0] * 50, [100 * math.expm1(0.06)] * 25 + [100 * math.expm1(-0.06)] * 25)
    t = learn(rec, "carry")
    assert t.q80 == pytest.approx(2.0) and t.q95 == pytest.approx(2.0)


def test_a_break_widens_its_own_side_only():
    q = {80: 1.0, 95: 2.0}
    calm = conformal.bounds(80.0, 0.03, math.log(0.8), q)
    fell = conformal.bounds(80.0, 0.03, math.log(0.8), q, ext=(-math.log(0.46), 0.0))  # March 2020 clothing: -54 %
    assert fell["lo_95"] == pytest.approx(80 * math.exp(-2 * (0.03 - math.log(0.46))))
    assert fell["lo_95"] < calm["lo_95"] and fell["hi_95"] == pytest.approx(calm["hi_95"])
    # a score is measured against the width of the side the actual fell on
    s = conformal.scores([50.0, 150.0], [100.0, 100.0], 0.1, 0.0, math.log(2), 0.0)
    assert s[0] == pytest.approx(math.log(2) / (0.1 + math.log(2))) and s[1] == pytest.approx(math.log(1.5) / 0.1)


def test_a_baseline_clipped_to_zero_keeps_finite_bounds():
    """A department whose baseline total is 0 (members negative, clipped): no log-scale spread to read, so its own
    bounds move with the applied change — never NaN (a report.json with NaN bounds could not be read back)."""
    from trendcast.agent.answer.assemble import adjusted_forecast

    class Zero:
        total, lo_80, hi_80, lo_95, hi_95 = 0.0, 0.0, 1372.5, 0.0, 2184.5

    f = adjusted_forecast(Zero, -20.0, last_total=40.0, last_year_total=None, flat_band_pct=1.0,
                          learned=prior_only("carry"), floor=0.0)
    assert f.total == 0.0 and (f.lo_80, f.lo_95) == (0.0, 0.0)
    assert f.hi_80 == pytest.approx(1372.5 * 0.8) and f.hi_95 == pytest.approx(2184.5 * 0.8)
    assert f.direction == "down"


def test_bounds_are_capped_at_ten_times_the_largest_step_and_say_so():
    """A sparse department's log-scale spread (sigma and break extents of several log units) once put its 95 %
    bound at 2e30 on a forecast of 4: bounds stop at CEILING_FACTOR x the largest value per step x the period's
    steps, the answer says which were capped, and an ordinary series is untouched."""
    import types

    from trendcast.agent.answer.assemble import CEILING_FACTOR, _clipped, situation_forecast
    from trendcast.agent.settings import Settings

    class Sparse:
        total, lo_80, hi_80, lo_95, hi_95 = 4.0, 0.01, 400.0, 0.001, 4000.0
        steps = [0] * 4  # a 4-week period

    history = pd.DataFrame({"ds": pd.date_range("2012-01-06", periods=40, freq="W-FRI"),
                            "y": [0.0, 12.0, 3.0, 40.0] * 10})
    sit = types.SimpleNamespace(baseline=Sparse, history=history, last_period_total=20.0,
                                same_period_last_year=None, break_extent=(6.0, 6.0))
    adj = types.SimpleNamespace(pct=0.0, proposed_pct=0.0, learned=prior_only("carry"))
    settings = Settings()
    uncapped = situation_forecast(sit, adj, settings, cap=False)
    assert uncapped.hi_95 > 1e9  # what it was
    f = situation_forecast(sit, adj, settings)
    assert f.hi_95 == f.hi_80 == CEILING_FACTOR * 40.0 * 4 and f.total == 4.0 and f.lo_95 == uncapped.lo_95
    _, w = _clipped(sit, adj, settings, f)
    assert w.code == "interval_clipped" and "95 % upper bound" in w.message and "capped at 10x" in w.message
    ordinary = types.SimpleNamespace(**{**vars(sit), "break_extent": (0.0, 0.0)})
    ordinary.baseline = type("B", (), {"total": 100.0, "lo_80": 90.0, "hi_80": 110.0, "lo_95": 85.0, "hi_95": 118.0,
                                       "steps": [0] * 4})
    assert situation_forecast(ordinary, adj, settings) == situation_forecast(ordinary, adj, settings, cap=False)
