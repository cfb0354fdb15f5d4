"""The carry adjuster's learner (agent.carry) on the real MRTS data: what it reads, and that it never sees the future."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from trendcast.agent.situation.misses import KINDS, Z_BREAK, carried_pct, latest_miss, learn_shares

IDS = ["448", "4481", "4482", "441", "4411", "445", "4451", "722", "444", "446"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.store import SalesStore
    from tests.conftest import MRTS_FILE

    s = SalesStore(tmp_path_factory.mktemp("ws") / "sales.duckdb")
    ingest_sales(s, MRTS_FILE, mrts_mapping())
    return s


def _backtest(panel, as_of: dt.date) -> pd.DataFrame:
    from trendcast.agent.situation.casebook import CASE_MODEL, CASE_REFIT_YEARS, miss_origins
    from trendcast.forecasting.backtest import backtest_situations

    return backtest_situations(panel, "MS", miss_origins(as_of, "next-month", "MS"), "next-month",
                               model=CASE_MODEL, refit_years=CASE_REFIT_YEARS)


@pytest.fixture(scope="module")
def bt_2020(store):
    return _backtest(store.panel(IDS), dt.date(2020, 3, 31))


@pytest.mark.slow
def test_march_2020_is_a_new_break_and_is_carried_down(bt_2020):
    as_of = dt.date(2020, 3, 31)
    miss = latest_miss(bt_2020, "4481", "MS", as_of)
    # clothing stores, March 2020: published 7,584 $M against a backtest expectation near 16,000
    assert miss.period == (dt.date(2020, 3, 1), dt.date(2020, 3, 31))
    assert miss.pct < -45 and miss.z > Z_BREAK and miss.kind == "new break"
    shares = learn_shares(bt_2020, "MS", as_of)
    new = shares["new break"]
    assert new.n >= 5 and new.last < dt.date(2020, 3, 1)  # learned from past breaks (2001, 2008...) only
    assert 0 < new.share <= 1 and shares["ordinary"].share == 0
    pct = carried_pct(miss, shares)
    assert -100 < pct < 0 and pct == pytest.approx(100 * np.expm1(new.share * miss.log_miss))


@pytest.mark.slow
def test_an_ordinary_month_carries_nothing(store):
    as_of = dt.date(2019, 6, 30)
    bt = _backtest(store.panel(["4481", "4482", "448"]), as_of)
    miss = latest_miss(bt, "4481", "MS", as_of)
    assert miss.kind == "ordinary" and abs(miss.pct) < 10
    assert carried_pct(miss, learn_shares(bt, "MS", as_of)) == 0.0


@pytest.mark.slow
def test_changing_the_future_changes_nothing_the_learner_sees(store, bt_2020):
    """Multiply every value after March 2020 by 5: the latest miss and every learned share as of 2020-03-31 are
    identical; as of 2020-04-30 they move (so the check can fail)."""
    as_of = dt.date(2020, 3, 31)
    panel = store.panel(IDS)
    future = panel["ds"] > pd.Timestamp(as_of)
    tampered = panel.assign(y=np.where(future, panel["y"] * 5, panel["y"]))
    bt_t = _backtest(tampered, as_of)
    assert latest_miss(bt_t, "4481", "MS", as_of) == latest_miss(bt_2020, "4481", "MS", as_of)
    assert learn_shares(bt_t, "MS", as_of) == learn_shares(bt_2020, "MS", as_of)
    later = dt.date(2020, 4, 30)
    a, b = _backtest(panel, later), _backtest(tampered, later)
    assert latest_miss(a, "4481", "MS", later).log_miss != latest_miss(b, "4481", "MS", later).log_miss


def test_kinds_of_miss():
    from trendcast.agent.situation.misses import _is_break, _kind

    assert _kind(False, True) == "ordinary"
    assert _kind(True, False) == "new break" and _kind(True, True) == "continuing break"
    assert _is_break(Z_BREAK + 1, -0.2) and not _is_break(Z_BREAK + 1, -0.1) and not _is_break(Z_BREAK - 1, -0.5)
    assert set(KINDS) == {"ordinary", "new break", "continuing break"}


@pytest.mark.slow
def test_break_extents_follow_the_breaks(store):
    """As of 2020-03-31 clothing's March break widens the lower side only; as of 2020-05-31 the April and March
    breaks before May widen both sides; in 2019 nothing does."""
    from trendcast.agent.situation.misses import break_extents

    ids = ["448", "4481", "4482"]
    bt = _backtest(store.panel(ids), dt.date(2020, 5, 31))
    down, up = break_extents(bt, "4481", "MS", dt.date(2020, 3, 31))
    assert down == pytest.approx(-latest_miss(bt, "4481", "MS", dt.date(2020, 3, 31)).log_miss) and up == 0.0
    down, up = break_extents(bt, "4481", "MS", dt.date(2020, 5, 31))
    april = latest_miss(bt, "4481", "MS", dt.date(2020, 4, 30))
    assert april.kind == "continuing break" and up >= abs(april.log_miss) and down >= abs(april.log_miss)
    assert break_extents(bt, "4481", "MS", dt.date(2019, 6, 30)) == (0.0, 0.0)


@pytest.mark.slow
def test_a_common_shock_widens_a_series_that_has_not_broken(bt_2020):
    """March 2020: clothing, motor vehicles, food services, grocery (+23 %) broke; building materials and health &
    personal care did not, and get the peers' median break on both sides."""
    from trendcast.agent.situation.misses import break_extents

    as_of = dt.date(2020, 3, 31)
    kinds = {sid: latest_miss(bt_2020, sid, "MS", as_of).kind for sid in IDS}
    assert sum(k != "ordinary" for k in kinds.values()) >= len(IDS) / 3
    calm = [sid for sid, k in kinds.items() if k == "ordinary"]
    assert calm == ["444", "446"]  # building materials, health & personal care: ordinary Marches
    for sid in calm:
        down, up = break_extents(bt_2020, sid, "MS", as_of)
        assert down == up > 0.1
    # a year earlier nothing broke: no widening anywhere
    assert all(break_extents(bt_2020, sid, "MS", dt.date(2019, 3, 31)) == (0.0, 0.0) for sid in IDS)
