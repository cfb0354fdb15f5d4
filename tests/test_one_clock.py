"""The tamper oracle for the one clock: multiply every value whose period ends after as-of by 1000 and nothing the
product shows or sends may change — not the rendered LLM prompt, not the answer JSON, not a report, not an eval
cell. Monthly data at a mid-month as-of (MRTS, as-of 2020-03-15: March is not over) and weekly data at a mid-week
as-of (Walmart departments, as-of 2012-09-02: the week dated Friday 2012-08-31 runs to 2012-09-06).

Real parts throughout: the demo workspace (real sales, headlines, embeddings, FAISS), real StatsForecast fits, the
CLI, and a real local HTTP server speaking the OpenAI protocol that records every prompt it is sent.
"""
from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from click.testing import CliRunner
from openai_server import OpenAIServer, adjustment_reply

from trendcast.agent.cli.main import cli

pytestmark = pytest.mark.slow

ENV = {"TRENDCAST_HOME": None, "TRENDCAST_LLM_URL": None, "TRENDCAST_LLM_MODEL": None,
       "TRENDCAST_LLM_API_KEY": None}
VOLATILE = ("timings", "generated_at", "wall_s")  # clocks of the run itself, not of the data


def tamper(home, as_of: str, weekly: bool) -> int:
    """Multiply by 1000 every sales value whose period ends after as_of; returns how many were changed."""
    end = "ds + INTERVAL 6 DAY" if weekly else "last_day(ds)"
    con = duckdb.connect(str(home / "sales.duckdb"))
    try:
        n = con.execute(f"SELECT count(*) FROM sales WHERE {end} > ?::DATE", [as_of]).fetchone()[0]
        con.execute(f"UPDATE sales SET y = y * 1000 WHERE {end} > ?::DATE", [as_of])
    finally:
        con.close()
    return n


def strip(obj):
    """The object without the run's own clocks (timings, generation time)."""
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def run(home, *args, server: OpenAIServer | None = None):
    env = dict(ENV)
    if server is not None:
        env.update(TRENDCAST_LLM_URL=server.url, TRENDCAST_LLM_MODEL=server.model)
    result = CliRunner().invoke(cli, ["--home", str(home), *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def ask_with_prompt(home, as_of: str, *args) -> tuple[dict, list]:
    """The answer JSON (llm adjuster through the test server) and the messages the server was sent."""
    with OpenAIServer(lambda body, i: adjustment_reply(body, cite="")) as server:
        out = run(home, "ask", "how will clothing stores trend next month?", "--as-of", as_of, "--json",
                  "--adjuster", "llm", *args, server=server)
        bodies = list(server.chat_bodies)
    assert len(bodies) == 1
    return json.loads(out.stdout), bodies[0]["messages"]


def report_json(home, out, as_of: str, *args) -> dict:
    with OpenAIServer(lambda body, i: adjustment_reply(body, cite="")) as server:
        run(home, "report", "--as-of", as_of, "--out", str(out), "--workers", "1", "--format", "json", "-q",
            "--adjuster", "llm", *args, server=server)
    (folder,) = out.glob("report-*")
    return json.loads((folder / "report.json").read_text())


@pytest.fixture
def mrts_pair(demo_workspace, tmp_path):
    clean, dirty = tmp_path / "clean", tmp_path / "tampered"
    shutil.copytree(demo_workspace, clean)
    shutil.copytree(demo_workspace, dirty)
    return clean, dirty


def test_monthly_mid_month_ask_and_prompt_are_blind_to_the_future(mrts_pair):
    clean, dirty = mrts_pair
    as_of = "2020-03-15"
    assert tamper(dirty, as_of, weekly=False) > 1000  # March 2020 onwards, every series
    a, prompt = ask_with_prompt(clean, as_of)
    b, prompt_b = ask_with_prompt(dirty, as_of)
    assert prompt == prompt_b
    assert json.dumps(strip(a), sort_keys=True) == json.dumps(strip(b), sort_keys=True)
    # and what the answer says is the last complete month, February 2020 (not March's partial 7,584)
    assert a["history"]["last_period_total"] == 13439.0
    assert a["history"]["last_period"] == {"start": "2020-02-01", "end": "2020-02-29", "steps": 1}
    assert "7584" not in json.dumps(prompt).replace(",", "")


def test_monthly_mid_month_report_is_blind_to_the_future(mrts_pair, tmp_path):
    clean, dirty = mrts_pair
    as_of = "2020-03-15"
    tamper(dirty, as_of, weekly=False)
    args = ("--categories", "4481,4482,722")
    a = report_json(clean, tmp_path / "out-a", as_of, *args)
    b = report_json(dirty, tmp_path / "out-b", as_of, *args)
    assert [e["status"] for e in a["entries"]] == ["ok"] * 3
    assert json.dumps(strip(a), sort_keys=True) == json.dumps(strip(b), sort_keys=True)


SUITE = """\
include: mrts-nsa
name: clock
origins: {start: 2020-02, end: 2020-02}
series: {levels: [], ids: ["4481", "4482"]}
variants:
  - {name: combined, baseline: combined}
  - {name: analog, adjuster: analog}
  - {name: carry, adjuster: carry}
n_jobs: 1
bootstrap: {resamples: 200}
"""


def test_an_eval_cell_is_blind_to_the_future(mrts_pair, tmp_path):
    """Origin 2020-02: the cells' forecasts are identical whatever March 2020 onwards holds (only the scored
    actuals differ)."""
    clean, dirty = mrts_pair
    tamper(dirty, "2020-02-29", weekly=False)
    (tmp_path / "clock.yaml").write_text(SUITE)
    cells = []
    for home in (clean, dirty):
        run(home, "eval", "run", str(tmp_path / "clock.yaml"), "--quiet", "--skip", "llm", "--out", str(home / "run"))
        import pandas as pd

        frame = pd.read_parquet(home / "run" / "cells.parquet")
        keep = ["combined", "analog", "carry", "carry+trust"]
        cells.append(frame[frame["variant"].isin(keep)].sort_values(["variant", "unique_id"]))
    cols = ["unique_id", "variant", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "baseline", "pct"]
    assert len(cells[0]) == 8
    assert cells[0][cols].reset_index(drop=True).equals(cells[1][cols].reset_index(drop=True))


@pytest.fixture(scope="module")
def walmart_home(tmp_path_factory, shared_data):
    from trendcast.agent import workspace
    from trendcast.agent.settings import Settings
    from trendcast.forecasting.ingest import SalesMapping

    src = shared_data / "walmart" / "weekly_sales_by_dept_all_stores.csv"
    home = tmp_path_factory.mktemp("walmart") / "home"
    workspace.ingest_sales(Settings(home=home), src, SalesMapping(date="Date", value="Weekly_Sales_sum", id="Dept",
                                                                  dataset="walmart-depts"))
    return home


def test_weekly_mid_week_ask_prompt_and_report_are_blind_to_the_future(walmart_home, tmp_path):
    clean, dirty = tmp_path / "clean", tmp_path / "tampered"
    shutil.copytree(walmart_home, clean)
    shutil.copytree(walmart_home, dirty)
    as_of = "2012-09-02"  # a Sunday: the week dated Friday 2012-08-31 is not over
    assert tamper(dirty, as_of, weekly=True) > 81 * 8  # that week and the ~8 after it, every department
    a, prompt = ask_with_prompt(clean, as_of, "--series", "7")
    b, prompt_b = ask_with_prompt(dirty, as_of, "--series", "7")
    assert prompt == prompt_b
    assert json.dumps(strip(a), sort_keys=True) == json.dumps(strip(b), sort_keys=True)
    # the last week ended by as-of is the one dated 2012-08-24 (it ran to 08-30)
    # "next month" of 2012-09-02 is October 2012, 4 Fridays: compared with the 4 weeks ended by as-of and with
    # the same 4 weeks of 2011
    assert a["period"] == {"start": "2012-10-01", "end": "2012-10-31"}
    assert a["history"]["last_period"] == {"start": "2012-08-03", "end": "2012-08-30", "steps": 4}
    assert a["history"]["last_year"] == {"start": "2011-10-07", "end": "2011-11-03", "steps": 4}
    ra = report_json(clean, tmp_path / "out-a", as_of, "--categories", "1,7,38")
    rb = report_json(dirty, tmp_path / "out-b", as_of, "--categories", "1,7,38")
    assert json.dumps(strip(ra), sort_keys=True) == json.dumps(strip(rb), sort_keys=True)
