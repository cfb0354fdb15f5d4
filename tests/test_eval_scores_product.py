"""Eval scores the product: the cells' forecasts come from `agent.assemble.adjusted_forecast`, the very function
that builds the forecast `ask` shows. Change that function and both the answer and the leaderboard change."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli

pytestmark = pytest.mark.slow

SUITE = """\
include: mrts-nsa
name: product
origins: {start: 2019-11, end: 2019-11}
series: {levels: [], ids: ["4481", "4482"]}
variants:
  - {name: combined, baseline: combined}
  - {name: carry, adjuster: carry}
n_jobs: 1
bootstrap: {resamples: 200}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from conftest import MRTS_FILE

    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings

    root = tmp_path_factory.mktemp("product")
    workspace.ingest_sales(Settings(home=root / "home"), MRTS_FILE, mrts_mapping())
    (root / "product.yaml").write_text(SUITE)
    return root


def _run(ws, out: str):
    r = CliRunner().invoke(cli, ["--home", str(ws / "home"), "eval", "run", str(ws / "product.yaml"), "--quiet",
                                 "--skip", "llm", "--out", str(ws / out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cells = pd.read_parquet(ws / out / "cells.parquet")
    res = json.loads((ws / out / "results.json").read_text())
    mase = {v: m["metrics"]["mase"]["value"] for v, m in res["variants"].items()}
    # carry+trust: the proposals weighed by their record, as `ask` (whose default adjuster is carry) applies them
    return cells[cells["variant"] == "carry+trust"].set_index("unique_id").sort_index(), mase


def _ask(ws) -> dict:
    r = CliRunner().invoke(cli, ["--home", str(ws / "home"), "ask", "how will shoe stores trend next month?",
                                 "--as-of", "2019-11-30", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_changing_the_product_forecast_changes_the_leaderboard(ws, monkeypatch):
    import trendcast.agent.answer.assemble

    cells, board = _run(ws, "plain")
    answer = _ask(ws)
    assert answer["adjustment"]["source"] == "carry"
    for k, col in (("total", "forecast"), ("lo_80", "lo_80"), ("hi_95", "hi_95")):
        assert cells.loc["4482", col] == pytest.approx(answer["forecast"][k], rel=1e-9)

    real = trendcast.agent.answer.assemble.adjusted_forecast

    def doubled(baseline, pct, **kw):
        f = real(baseline, pct, **kw)
        return f.model_copy(update={k: 2 * getattr(f, k) for k in ("total", "lo_80", "hi_80", "lo_95", "hi_95")})

    monkeypatch.setattr(trendcast.agent.answer.assemble, "adjusted_forecast", doubled)
    cells2, board2 = _run(ws, "doubled")
    assert (cells2["forecast"] / cells["forecast"]).round(9).tolist() == [2.0, 2.0]
    assert board2["carry+trust"] > 1.5 * board["carry+trust"]  # forecasts twice too high score far worse
    assert board2["combined"] == board["combined"]  # the unadjusted baseline rows are not adjusted forecasts
    assert _ask(ws)["forecast"]["total"] == pytest.approx(2 * answer["forecast"]["total"], rel=1e-9)
