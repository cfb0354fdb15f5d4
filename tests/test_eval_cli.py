"""`trendcast eval run | list | compare` on the real MRTS data (no LLM): artifacts, listing, paired comparison,
and user errors as exit code 2 with one line."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli

SUITE = """\
include: mrts-nsa
name: tiny
origins: {start: 2020-01, end: 2020-04}
series: {levels: [], ids: ["4482", "4481", "448"]}
n_jobs: 1
bootstrap: {resamples: 300}
"""  # the shipped suite (all its baseline models, the combination, each with calendar effects, carry, analog) on 3 series x 4 origins
CAL = {"AutoETS+cal", "AutoARIMA+cal", "AutoTheta+cal", "SeasonalNaive+cal", "combined+cal"}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings
    from tests.conftest import MRTS_FILE

    root = tmp_path_factory.mktemp("eval-cli")
    workspace.ingest_sales(Settings(home=root / "home"), MRTS_FILE, mrts_mapping())
    (root / "tiny.yaml").write_text(SUITE)
    return root


def tc(ws, *args):
    return CliRunner().invoke(cli, ["--home", str(ws / "home"), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(ws):
    a = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--skip", "llm")
    assert a.exit_code == 0, a.output
    b = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--skip", "llm,AutoETS,analog", "--out",
           str(ws / "home" / "runs" / "b"))
    assert b.exit_code == 0, b.output
    return [p for p in sorted((ws / "home" / "runs").iterdir()) if p.name != "b"][0], ws / "home" / "runs" / "b"


def test_run_writes_every_artifact(runs):
    a, _ = runs
    for name in ("results.json", "leaderboard.md", "cells.parquet", "cells.csv", "suite.yaml", "run.json",
                 "plots/skill_by_origin.png", "plots/worst_series.png"):
        assert (a / name).is_file(), name
    res = json.loads((a / "results.json").read_text())
    assert res["suite"]["id"] == "tiny@3" and res["git"]["commit"] and res["data"]["panel_sha256"]
    assert res["data"]["datasets"]["mrts-nsa"]["file_hash"]
    assert res["versions"]["statsforecast"] and res["honesty"]["refit_every"] == 6
    assert res["data"]["cells"] == 12 and res["data"]["periods"]["2020-03-31"] == "2020-04"
    assert set(res["leaderboard"]) == {"AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive", "combined", "carry",
                                       "analog", "carry+trust", "analog+trust"} | CAL
    assert res["variants"]["combined"]["vs_reference"] == {}
    skill = res["variants"]["AutoETS"]["vs_reference"]["mase_skill"]
    assert skill["lo"] <= skill["value"] <= skill["hi"]
    cells = pd.read_parquet(a / "cells.parquet")
    assert len(cells) == 12 * 14 and {"mase", "wape", "coverage_80", "direction", "name"} <= set(cells.columns)
    analog = cells[cells["variant"] == "analog"]
    assert (analog["source"] == "analog").all() and (analog["n_cases"] > 0).all()
    # the headline number is the mean of the cells' MASE
    combined = cells[cells["variant"] == "combined"]
    assert res["variants"]["combined"]["metrics"]["mase"]["value"] == pytest.approx(combined["mase"].mean())
    board = (a / "leaderboard.md").read_text()
    assert "MASE [95% CI]" in board and "## Error by origin" in board and "| 2020-03-31 | 2020-04 |" in board
    # the suite's windows are scored on their own, and the trust each adjusted variant earned is listed
    assert "## Window shock (origins 2020-02 .. 2020-05" in board and "## Trust over origins" in board
    shock = {w["name"]: w for w in res["windows"]}["shock"]
    assert shock["origins"] == 3 and shock["variants"]["carry+trust"]["cells"] == 9
    assert {(t["variant"], t["origin"]) for t in res["trust"]} >= {("carry", "2020-04-30"), ("analog", "2020-01-31")}


def test_the_covid_origins_dominate_the_error(runs):
    res = json.loads((runs[0] / "results.json").read_text())
    ref = pd.DataFrame(res["per_origin"]).query("variant == 'combined'").set_index("origin")["mase"]
    assert ref.idxmax() == "2020-03-31" and ref["2020-03-31"] > 3 * ref["2020-01-31"]


def test_list_and_compare(ws, runs):
    a, b = runs
    out = tc(ws, "eval", "list")
    assert out.exit_code == 0 and a.name in out.output and "b " in out.output and "tiny@3" in out.output
    listed = json.loads(tc(ws, "eval", "list", "--json").output)
    assert {r["run_id"] for r in listed} == {a.name, "b"}
    cmp = tc(ws, "eval", "compare", a.name, "b", "--variant", "combined:SeasonalNaive")
    assert cmp.exit_code == 0, cmp.output
    assert "combined (A) vs SeasonalNaive (B), 12 shared cells" in cmp.output and "mase" in cmp.output
    rows = json.loads(tc(ws, "eval", "compare", a.name, str(b), "--json").output)
    same = [r for r in rows if r["variant_a"] == "combined" and r["metric"] == "mase"][0]
    assert same["diff"] == {"value": 0.0, "lo": 0.0, "hi": 0.0}  # the same variant on the same data
    assert {r["variant_a"] for r in rows} == {"AutoARIMA", "AutoTheta", "SeasonalNaive", "combined", "carry",
                                              "carry+trust"} | CAL


def test_a_files_suite_builds_its_own_workspace(ws):
    (ws / "files.yaml").write_text(
        "include: mrts-nsa-files\nname: tiny-files\ndata: {docs: []}\norigins: {start: 2020-03, end: 2020-04}\n"
        "series: {levels: [], ids: ['4482']}\nn_jobs: 1\nbootstrap: {resamples: 200}\n")
    out = tc(ws, "eval", "run", str(ws / "files.yaml"), "--quiet", "--only", "SeasonalNaive", "--out",
             str(ws / "files-run"))
    assert out.exit_code == 0, out.output
    res = json.loads((ws / "files-run" / "results.json").read_text())
    assert "eval-workspaces" in res["data"]["workspace"] and res["data"]["datasets"]["mrts-nsa"]["file_hash"]
    assert set(res["leaderboard"]) == {"SeasonalNaive", "combined"}


@pytest.mark.parametrize("args, message", [
    (["eval", "compare", "nope", "b"], "no such run"),
    (["eval", "run", "no-such-suite"], "neither a file nor a shipped suite"),
    (["eval", "run", "mrts-nsa", "--skip", "gpt"], "no variant named gpt"),
    (["eval", "run", "mrts-nsa"], "needs an LLM endpoint"),
    (["eval", "run", "mrts-nsa", "--only", "analog", "--blind"], "--blind"),
])
def test_user_errors_exit_2_with_one_line(ws, runs, args, message, monkeypatch):
    monkeypatch.delenv("TRENDCAST_LLM_URL", raising=False)
    result = tc(ws, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
