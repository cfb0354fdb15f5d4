"""Ray and Spark (the `ray` / `spark` extras): one smoke test each — a refit block of eval's bulk baselines as
StatsForecast cross_validation on a Ray Dataset / Spark DataFrame via fugue gives the local numbers. Each runs where
its package (and, for Spark, a Java runtime) is installed and skips with the reason otherwise."""
from __future__ import annotations

import importlib.util
import shutil

import pandas as pd
import pytest

IDS = ["4481", "722"]  # clothing stores, food services: real MRTS NSA series
ORIGINS = ["2020-01-31", "2020-02-29", "2020-03-31"]


def _skip_reason(kind: str) -> str | None:
    module = {"ray": "ray", "spark": "pyspark"}[kind]
    if importlib.util.find_spec(module) is None or importlib.util.find_spec("fugue") is None:
        return f"the {kind} extra is not installed (pip install 'trendcast[{kind}]')"
    if kind == "spark" and shutil.which("java") is None:
        return "Spark needs a Java runtime (Debian: apt-get install default-jre-headless)"
    return None


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.eval.cells import plan_grid
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.store import SalesStore
    from conftest import MRTS_FILE

    store = SalesStore(tmp_path_factory.mktemp("engine-smoke") / "sales.duckdb")
    ingest_sales(store, MRTS_FILE, mrts_mapping())
    panel = store.panel(IDS)
    origins = [pd.Timestamp(o).date() for o in ORIGINS]
    grid, excluded = plan_grid(panel, "MS", origins, "next-month", 25)
    assert not excluded and len(grid) == len(IDS) * len(ORIGINS)
    return panel, grid, origins


def _baselines(block, session=None) -> pd.DataFrame:
    from trendcast.eval.cells import baseline_block

    panel, grid, origins = block
    out = baseline_block(panel, grid, origins, "MS", ["AutoETS", "AutoTheta", "SeasonalNaive"], 120, 1, session)
    return out.sort_values(["unique_id", "origin"], ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ray", "spark"])
def test_engine_smoke_gives_the_local_numbers(block, kind):
    reason = _skip_reason(kind)
    if reason:
        pytest.skip(reason)
    from trendcast.forecasting.distributed import engine_session

    local = _baselines(block)
    with engine_session(kind, None, 2) as session:
        assert session.distributed and session.describe() == f"{kind}, 2 workers"
        got = _baselines(block, session)
    assert local["combined:total"].notna().all() and (local["combined:total"] > 0).all()
    pd.testing.assert_frame_equal(local, got, check_exact=False, rtol=1e-9, atol=1e-6)
