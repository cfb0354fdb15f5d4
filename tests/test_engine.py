"""`--engine dask`: the eval's bulk baselines as StatsForecast cross_validation on a Dask DataFrame (fugue) over a
dask.distributed LocalCluster of 2 worker processes — and the same numbers as the local run, to float tolerance:
every member's total and bounds, the combination, and the leaderboard (real MRTS series, real StatsForecast)."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli

pytest.importorskip("dask.distributed", reason="the dask extra is not installed (pip install 'trendcast[dask]')")

SUITE = """\
include: mrts-nsa
name: engine-tiny
origins: {start: 2019-11, end: 2020-04}
series: {levels: [], ids: ["4482", "4481", "448", "722"]}
baseline: {refit_every: 3}
n_jobs: 1
bootstrap: {resamples: 300}
"""  # the shipped suite's baseline models on 4 series x 6 origins: two refit blocks, each a fit then two forwards


MEMBERS = "AutoETS,AutoARIMA,AutoTheta,SeasonalNaive"  # and the reference, combined


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings
    from tests.conftest import MRTS_FILE

    root = tmp_path_factory.mktemp("engine")
    workspace.ingest_sales(Settings(home=root / "home"), MRTS_FILE, mrts_mapping())
    (root / "tiny.yaml").write_text(SUITE)
    return root


def tc(ws, *args):
    return CliRunner().invoke(cli, ["--home", str(ws / "home"), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(ws):
    out = {}
    for engine, jobs in (("local", "1"), ("dask", "2")):
        r = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--only", MEMBERS, "--engine", engine,
               "--jobs", jobs, "--out", str(ws / engine))
        assert r.exit_code == 0, r.output
        out[engine] = ws / engine
    return out


@pytest.mark.slow
def test_dask_gives_the_local_baselines_and_leaderboard(runs):
    meta = json.loads((runs["dask"] / "run.json").read_text())
    assert meta["engine"].startswith("dask scheduler tcp://127.0.0.1:") and meta["engine"].endswith("2 workers")
    assert json.loads((runs["local"] / "run.json").read_text())["engine"] == "local process pool"
    key = ["unique_id", "origin"]
    a, b = (pd.concat([pd.read_parquet(p) for p in sorted((runs[e] / "baselines").glob("*.parquet"))])
            .sort_values(key, ignore_index=True) for e in ("local", "dask"))
    assert len(a) == 4 * 6 and len(list((runs["dask"] / "baselines").glob("*.parquet"))) == 2
    values = [c for c in a.columns if ":" in c]
    assert len(values) == 5 * 5 and a[values].notna().all().all()
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-6)
    ca, cb = (pd.read_parquet(runs[e] / "cells.parquet").sort_values([*key, "variant"], ignore_index=True)
              for e in ("local", "dask"))
    num = [c for c in ca.columns if pd.api.types.is_float_dtype(ca[c])]
    pd.testing.assert_frame_equal(ca[num], cb[num], check_exact=False, rtol=1e-9, atol=1e-6)
    ra, rb = (json.loads((runs[e] / "results.json").read_text()) for e in ("local", "dask"))
    assert ra["leaderboard"] == rb["leaderboard"] and set(ra["leaderboard"]) == {*MEMBERS.split(","), "combined"}
    for variant, got in ra["variants"].items():
        for group in ("metrics", "vs_reference"):
            for metric, est in got[group].items():
                for k in ("value", "lo", "hi"):
                    assert rb["variants"][variant][group][metric][k] == pytest.approx(
                        est[k], rel=1e-9, abs=1e-12, nan_ok=True), (variant, group, metric, k)


@pytest.mark.slow
def test_past_case_backtests_on_the_workers_give_the_local_carry(ws):
    """With an engine, the carry variant's past-case backtests are computed on its workers first
    (agent.backtest_warm, into the store's situation cache): its cells are the local run's. Each run has a
    workspace of its own, so neither reads backtests the other cached."""
    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings
    from tests.conftest import MRTS_FILE

    got = {}
    for engine, jobs in (("local", "1"), ("dask", "2")):
        home = ws / f"carry-home-{engine}"
        workspace.ingest_sales(Settings(home=home), MRTS_FILE, mrts_mapping())
        r = CliRunner().invoke(cli, ["--home", str(home), "eval", "run", str(ws / "tiny.yaml"), "--only", "carry",
                                     "--engine", engine, "--jobs", jobs, "--out", str(ws / f"carry-{engine}")],
                               catch_exceptions=False)
        assert r.exit_code == 0, r.output
        assert ("past-case backtests on dask scheduler" in r.output) == (engine == "dask"), r.output
        got[engine] = pd.read_parquet(ws / f"carry-{engine}" / "cells.parquet").sort_values(
            ["unique_id", "origin", "variant"], ignore_index=True)
    a, b = got["local"], got["dask"]
    assert set(a["variant"]) >= {"carry"} and len(a[a["variant"] == "carry"]) == 4 * 6
    num = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
    pd.testing.assert_frame_equal(a[num], b[num], check_exact=False, rtol=1e-9, atol=1e-6)


def test_an_unreachable_scheduler_is_one_line_exit_2(ws):
    r = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--only", "SeasonalNaive", "--engine", "dask",
           "--engine-address", "tcp://127.0.0.1:9", "--out", str(ws / "unreachable"))
    assert r.exit_code == 2, r.output
    assert r.output.startswith("Error: no Dask scheduler at tcp://127.0.0.1:9")
    assert len(r.output.strip().splitlines()) == 1 and not (ws / "unreachable").exists()


@pytest.mark.slow
def test_a_local_cluster_prints_nothing_on_the_console(capfd):
    """Workers we start inherit the console: dask's groupby-apply deprecation lines (one per partition) must not
    reach it, and the forecast is the local one."""
    import numpy as np
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    from trendcast.forecasting.distributed import Session, engine_session, forecast

    df = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 20), "y": np.arange(40.0),
                       "ds": list(pd.date_range("2020-01-01", periods=20, freq="MS")) * 2})
    local = StatsForecast(models=[Naive()], freq="MS").forecast(df=df, h=2)
    pd.testing.assert_frame_equal(local, forecast([Naive()], "MS", df, Session("local", 2), h=2))  # pooled
    with engine_session("dask", None, 2) as session:
        got = forecast([Naive()], "MS", df, session, h=2)
    pd.testing.assert_frame_equal(local.reset_index(drop=True), got.reset_index(drop=True), check_dtype=False)
    err = capfd.readouterr().err
    assert "FutureWarning" not in err and "Warning" not in err, err[-2000:]
