"""The report's bulk path (agent.report.bulk, forecasting.bulk) on real Walmart store x department series: its
baselines are `forecast_period`'s to float tolerance (locally and on a Dask LocalCluster), and a report built on it
has the same forecasts as the per-target path, plus the per-store roll-up."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from trendcast.agent.report.rollup import material, material_floor
from trendcast.agent.settings import Settings

AS_OF = dt.date(2012, 10, 26)


@pytest.fixture(scope="module")
def walmart_two_stores(shared_data, tmp_path_factory):
    """A workspace holding Walmart stores 1 and 2, every department (real data)."""
    from trendcast.forecasting.ingest import SalesMapping, ingest_sales
    from trendcast.forecasting.store import SalesStore

    home = tmp_path_factory.mktemp("wm2")
    settings = Settings(home=home)
    ingest_sales(SalesStore(settings.sales_db), shared_data / "walmart" / "train.csv.gz",
                 SalesMapping(date="Date", value="Weekly_Sales", levels=("Store", "Dept"),
                              where={"Store": ["1", "2"]}))
    return home


def _some_ids(series) -> list[str]:
    """Two ordinary departments, one whose data ends two weeks before as-of (another h and period mask), and the
    sparsest one with 20 observations (gaps interpolated)."""
    dept = series[series["level"] == "Dept"].sort_values(["n_obs", "unique_id"])
    sparse = dept[(dept["n_obs"] >= 20) & (dept["end"] == dept["end"].max())].iloc[0]["unique_id"]
    return ["Store=1/Dept=1", "Store=2/Dept=92", "Store=1/Dept=99", str(sparse)]


def _same(a, b):
    assert a.model == b.model
    np.testing.assert_allclose([a.total, a.lo_80, a.hi_80, a.lo_95, a.hi_95],
                               [b.total, b.lo_80, b.hi_80, b.lo_95, b.hi_95], rtol=1e-9)
    assert a.members.keys() == b.members.keys()
    np.testing.assert_allclose(list(a.members.values()), list(b.members.values()), rtol=1e-9)
    np.testing.assert_allclose(a.steps[["mean", "lo_80", "hi_95"]].to_numpy(float),
                               b.steps[["mean", "lo_80", "hi_95"]].to_numpy(float), rtol=1e-9)


@pytest.mark.slow
def test_bulk_baselines_equal_forecast_period(walmart_two_stores):
    from trendcast.agent import workspace
    from trendcast.forecasting.baseline import forecast_period
    from trendcast.forecasting.bulk import bulk_baselines
    from trendcast.forecasting.distributed import engine_session
    from trendcast.forecasting.history import observed
    from trendcast.forecasting.periods import resolve_period

    store = workspace.sales_store(Settings(home=walmart_two_stores))
    ids = _some_ids(store.series())
    period = resolve_period("next-month", AS_OF, "W-FRI")
    hist = {i: observed(store.history(i), "W-FRI", AS_OF) for i in ids}
    one = {i: forecast_period(h, "W-FRI", period, as_of=AS_OF) for i, h in hist.items()}
    assert "interpolation" in " ".join(one[ids[3]].warnings)
    local, errors = bulk_baselines(hist, "W-FRI", period, AS_OF)
    assert not errors and local.keys() == one.keys()
    for i in ids:
        _same(local[i], one[i])
        assert [w for w in one[i].warnings if not w.startswith("while fitting")] == local[i].warnings
    # a train window under two seasons: the non-seasonal plan (SeasonalNaive → Naive), the same in bulk
    short = {i: forecast_period(hist[i], "W-FRI", period, as_of=AS_OF, train_window=80) for i in ids[:2]}
    assert all("without seasonality" in " ".join(b.warnings) for b in short.values())
    got, _ = bulk_baselines({i: hist[i] for i in ids[:2]}, "W-FRI", period, AS_OF, train_window=80)
    for i in ids[:2]:
        _same(got[i], short[i])
    with engine_session("dask", None, 2) as session:
        on_dask, errors = bulk_baselines(hist, "W-FRI", period, AS_OF, session=session)
    assert not errors
    for i in ids:
        _same(on_dask[i], one[i])


@pytest.mark.slow
def test_bulk_report_has_the_per_target_forecasts_and_a_store_rollup(walmart_two_stores, tmp_path, monkeypatch):
    import shutil

    from trendcast.agent import workspace
    from trendcast.agent.report import bulk
    from trendcast.agent.report.build import build_report
    from trendcast.agent.report.render import render_html, render_markdown
    from trendcast.agent.question.resolve import Target

    home = tmp_path / "home"
    shutil.copytree(walmart_two_stores, home)
    settings = Settings(home=home)
    series = workspace.sales_store(settings).series()
    ids = _some_ids(series) + ["Store=1/Dept=2", "Store=2/Dept=2"]
    targets = [Target.from_row(series[series["unique_id"] == i].iloc[0], "id") for i in ids]

    monkeypatch.setattr(bulk, "BULK_MIN", 10_000)  # the per-target path: forecast_period in this process
    each = build_report(settings, targets, as_of=AS_OF, adjuster="carry", workers=1)
    assert "bulk_baselines_s" not in each.stats.timings
    (home / "baselines.sqlite").unlink()  # nothing the bulk path could read back
    monkeypatch.setattr(bulk, "BULK_MIN", 0)
    rep = build_report(settings, targets, as_of=AS_OF, adjuster="carry", workers=2)
    assert "bulk_baselines_s" in rep.stats.timings and "bulk_backtests_s" in rep.stats.timings
    a, b = ({e.series_id: e for e in r.entries} for r in (each, rep))
    for i in ids:
        assert a[i].status == b[i].status and a[i].answer is not None
        for key in ("baseline", "forecast"):
            x, y = getattr(a[i].answer, key), getattr(b[i].answer, key)
            np.testing.assert_allclose([x.total, x.lo_80, x.hi_95], [y.total, y.lo_80, y.hi_95], rtol=1e-9)
        assert a[i].badges == b[i].badges

    assert rep.rollup_level == "Store" and [r.parent_id for r in rep.rollup] == ["Store=1", "Store=2"]
    for row in rep.rollup:
        inside = [e for e in rep.entries if e.series_id.startswith(row.parent_id + "/")]
        assert row.categories == len(inside)
        assert row.baseline_total == pytest.approx(sum(e.answer.baseline.total for e in inside))
        assert row.forecast_total == pytest.approx(sum(e.answer.forecast.total for e in inside))
        floor = material_floor(rep.entries)  # a tiny department's huge change is not the mover (Dept 99 here)
        mover = max((e for e in inside if material(e, floor)), key=lambda e: abs(e.change()))
        assert row.top_mover == mover.series_id and floor > 0
        assert row.badges["break"] == sum("break" in e.badges for e in inside)
    md, html = render_markdown(rep), render_html(rep)
    assert "## By Store" in md and "| Store 1 |" in md
    assert '<section id="rollup">' in html and "Store 2" in html


def test_servers_down_one_line_per_server():
    from types import SimpleNamespace

    from trendcast.agent.report.bulk import servers_down
    from trendcast.agent.warning_codes import LLM_SERVER_DOWN, warn

    note = "LLM server http://a:1/v1 was taken out of the rotation (refused); out of the rotation for {}s more; 1 of 2"
    results = [SimpleNamespace(warnings=[warn(LLM_SERVER_DOWN, note.format(s)), warn("break", "x")]) for s in (30, 29)]
    results.append(SimpleNamespace(warnings=[warn(LLM_SERVER_DOWN, note.replace("a:1", "b:2").format(5))]))
    got = servers_down(results)
    assert got == [note.format(29), note.replace("a:1", "b:2").format(5)]
