"""Saying when an answer stands on old data (agent.staleness), on the bundled real MRTS sales and headlines: an
as-of past the data, a series that stopped while others continue (Drinking places, NAICS 7224, ends 2018-02),
evidence older than the evidence window, bounds of non-negative data clipped at zero."""
from __future__ import annotations

import datetime as dt
import gzip
from types import SimpleNamespace

import pandas as pd
import pytest

from trendcast.agent import workspace
from trendcast.agent.cli.demo import bundled_data_dir, mrts_mapping
from trendcast.agent.settings import Settings
from trendcast.agent.situation.staleness import clipped_warning, data_warnings, evidence_warning, periods_after
from trendcast.forecasting.conformal import clip_at
from trendcast.forecasting.history import observed


@pytest.fixture(scope="module")
def mrts(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("stale"))
    workspace.ingest_sales(settings, bundled_data_dir() / "mrts_sales_by_kind_of_business_long.csv.gz",
                           mrts_mapping())
    return workspace.sales_store(settings)


def _case(store, series_id: str, as_of: dt.date):
    series = store.series()
    row = series[series["unique_id"] == series_id].iloc[0]
    target = SimpleNamespace(series_id=series_id, name=row["name"], freq=row["freq"])
    return series, target, observed(store.history(series_id), target.freq, as_of)


def test_a_series_that_stopped_while_others_continue(mrts):
    series, target, history = _case(mrts, "7224", dt.date(2020, 3, 31))
    [w] = data_warnings(series, target, history, dt.date(2020, 3, 31))
    assert w.code == "series_stopped"
    assert w.message.startswith("the data of Drinking places stops at 2018-02, 25 months before as-of 2020-03-31, "
                                "while other series run to 2020-03"), w.message


def test_an_as_of_past_all_the_data(mrts):
    series, target, history = _case(mrts, "4481", dt.date(2025, 1, 31))
    [w] = data_warnings(series, target, history, dt.date(2025, 1, 31))
    assert w.code == "stale_as_of"
    assert w.message.startswith("as-of 2025-01-31 is 40 months after the data ends (2021-09)"), w.message


@pytest.mark.parametrize("as_of", [dt.date(2021, 9, 30), dt.date(2020, 3, 31), dt.date(2021, 10, 15)])
def test_no_staleness_while_the_data_is_current(mrts, as_of):
    """At the last observed month, inside the data, or in the middle of the month after (not yet over): nothing."""
    series, target, history = _case(mrts, "4481", as_of)
    assert data_warnings(series, target, history, as_of) == []


def test_one_month_past_the_data_is_said():
    assert periods_after(pd.Timestamp("2021-09-01"), dt.date(2021, 10, 31), "MS") == 1
    assert periods_after(pd.Timestamp("2021-09-01"), dt.date(2021, 10, 30), "MS") == 0


def _headlines() -> pd.DataFrame:
    with gzip.open(bundled_data_dir() / "headlines_dated.csv.gz", "rt") as f:
        return pd.read_csv(f, usecols=["date", "source", "headline"], parse_dates=["date"])


def test_evidence_older_than_the_window_is_stale():
    news = _headlines()
    newest = news["date"].max().date()  # 2020-07-18: the headlines stop there
    hits = [SimpleNamespace(date=d.date()) for d in news.nlargest(8, "date")["date"]]
    w = evidence_warning(hits, dt.date(2021, 9, 30), 30)
    assert w is not None and w.code == "stale_evidence"
    assert w.message.startswith(f"the newest evidence ({newest}) is 14 months older than as-of 2021-09-30"), w.message
    march = news[(news["date"] > "2020-03-01") & (news["date"] <= "2020-03-31")].head(8)
    assert evidence_warning([SimpleNamespace(date=d.date()) for d in march["date"]], dt.date(2020, 3, 31), 30) is None
    assert evidence_warning([], dt.date(2021, 9, 30), 30) is None  # no evidence: nothing to call stale


def test_clipping_at_zero_is_said():
    values = {"total": 13198.2, "lo_80": 3143.9, "hi_80": 22208.2, "lo_95": -1902.1, "hi_95": 27254.2}
    clipped, raised = clip_at(values, 0.0)
    assert raised == ["lo_95"] and clipped["lo_95"] == 0.0 and clipped["hi_95"] == values["hi_95"]
    assert clip_at(values, None) == (values, [])  # data that may be negative: untouched
    w = clipped_warning(raised, [])
    assert w.code == "interval_clipped" and w.message.startswith("baseline 95 % lower bound clipped at 0")
    assert clipped_warning([], []) is None


def test_every_warning_code_is_defined_once_and_typed():
    import typing

    from trendcast.agent import warning_codes as wc
    
    constants = {v for k, v in vars(wc).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(typing.get_args(wc.Code))
    with pytest.raises(ValueError):
        wc.warn("not_a_code", "x")
    assert str(wc.warn(wc.BREAK, "break: ...")) == "break: ..."  # templates print the message
