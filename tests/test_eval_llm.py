"""`trendcast eval run` with an llm variant against a real local OpenAI-compatible server: the canary leakage test,
--blind masking, failure/fallback counts, the LLM cache on a re-run, and resuming.

Workspace: the real MRTS sales and a sample of the real headlines, indexed with the real embedding model, plus two
planted documents about shoe stores: one dated ON the origin 2020-02-29 (it must reach that origin's prompts, so
the test can fail) and one dated the day AFTER it (it must reach no prompt and no log, ever).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner
from openai_server import adjustment_reply, always, openai_server, queue, valid_adjustment  # noqa: F401

from trendcast.agent.cli.main import cli

pytestmark = pytest.mark.slow
CANARY_AFTER = "CANARY-7f3a"
CANARY_ON = "CANARY-0n0r"
ORIGINS = (dt.date(2020, 1, 31), dt.date(2020, 2, 29))
SUITE = """\
name: canary
origins: {start: 2020-01, end: 2020-02}
series: {ids: ["4482", "4481"]}
baseline: {models: [AutoETS, SeasonalNaive], refit_every: 2}
n_jobs: 2  # situations prepared in worker processes: the path the shipped suite takes
variants:
  - {name: combined}
  - {name: llm, adjuster: llm, prompt: few-shot@1}
bootstrap: {resamples: 200}
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from trendcast.agent import workspace as ws
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings
    from trendcast.retrieval import HEADLINES_MAPPING
    from tests.conftest import MRTS_FILE, NEWS_FILE

    root = tmp_path_factory.mktemp("eval-llm")
    news = pd.read_csv(NEWS_FILE)
    news = news[news["date"] <= "2020-03-31"].iloc[::40]
    planted = pd.DataFrame([
        {"date": "2020-02-29", "source": "test", "description": "",
         "headline": f"{CANARY_ON} Shoe stores: retail sales, shoppers and consumer demand slump"},
        {"date": "2020-03-01", "source": "test", "description": "",
         "headline": f"{CANARY_AFTER} Shoe stores: retail sales, shoppers and consumer demand collapse"},
    ])
    docs = root / "news.csv"
    pd.concat([news, planted]).to_csv(docs, index=False)
    settings = Settings(home=root / "home")
    ws.ingest_sales(settings, MRTS_FILE, mrts_mapping())
    ws.ingest_docs(settings, docs, HEADLINES_MAPPING, "news", dataset="news")
    ws.build_index(settings)
    (root / "canary.yaml").write_text(SUITE)
    return root


def run(workspace, out: str, *args: str):
    result = CliRunner().invoke(cli, ["--home", str(workspace / "home"), "eval", "run", str(workspace / "canary.yaml"),
                                      "--out", str(workspace / out), "--quiet", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((workspace / out / "results.json").read_text())


def llm_args(server) -> list[str]:
    return ["--llm-url", server.url, "--llm-model", "test-model"]


def logged_prompts(workspace) -> list[str]:
    with sqlite3.connect(workspace / "home" / "llm.sqlite") as db:
        return [r[0] for r in db.execute("SELECT messages_json FROM calls WHERE messages_json IS NOT NULL")]


def prompt_of(body: dict) -> str:
    return "\n".join(m["content"] for m in body["messages"])


def test_canary_after_the_origin_never_reaches_a_prompt(workspace, openai_server):
    server = openai_server(valid_adjustment(change_pct=-5.0))
    results = run(workspace, "run-canary", *llm_args(server), "--no-cache")
    prompts = [prompt_of(b) for b in server.chat_bodies]
    assert len(prompts) == 4  # 2 series x 2 origins
    assert results["variants"]["llm"]["fallbacks"] == 0
    logged = logged_prompts(workspace)
    assert logged and all(CANARY_AFTER not in p for p in prompts + logged)
    # the document dated ON the origin does reach that origin's prompts — and no prompt of the earlier origin
    by_origin = {o: [p for p in prompts if f"As of {o.isoformat()}" in p] for o in ORIGINS}
    assert len(by_origin[ORIGINS[0]]) == len(by_origin[ORIGINS[1]]) == 2
    assert any(CANARY_ON in p for p in by_origin[ORIGINS[1]])
    assert all(CANARY_ON not in p for p in by_origin[ORIGINS[0]])
    # every date a prompt shows (history, evidence, few-shot origins) is on or before its origin, but the period
    for origin, mine in by_origin.items():
        period_end = (pd.Timestamp(origin) + pd.offsets.MonthEnd(1)).date()
        allowed = {origin + dt.timedelta(days=1), period_end}
        for p in mine:
            late = [d for d in map(dt.date.fromisoformat, re.findall(r"\b(\d{4}-\d{2}-\d{2})\b", p))
                    if d > origin and d not in allowed]
            assert late == []


def test_blind_masks_names_and_shifts_years(workspace, openai_server):
    server = openai_server(valid_adjustment(change_pct=-5.0))
    results = run(workspace, "run-blind", *llm_args(server), "--blind", "--blind-shift", "37")
    assert results["blind"] == {"year_shift": 37}
    prompts = [prompt_of(b) for b in server.chat_bodies]
    assert len(prompts) == 4
    for p in prompts:
        assert "Category A" in p
        years = {int(y) for y in re.findall(r"\b(\d{4})-\d{2}-\d{2}\b", p)}
        assert years and min(years) >= 2015 + 37  # no real calendar date left
    assert any("As of 2057-02-28" in p for p in prompts)  # 2020-02-29 moved 37 years (no 29 Feb in 2057)
    # each prompt hides its own category's name (the log's tag says whose prompt it is)
    names = {"4482": "Shoe stores", "4481": "Clothing stores"}
    with sqlite3.connect(workspace / "home" / "llm.sqlite") as db:
        rows = db.execute("SELECT tag, messages_json FROM calls WHERE messages_json LIKE '%As of 205%'").fetchall()
    assert len(rows) == 4
    for tag, messages in rows:
        assert names[tag.split("@")[0]].lower() not in messages.lower()
    # and no category of the workspace is named anywhere in any prompt (evidence texts included)
    from trendcast.agent.settings import Settings
    from trendcast.agent.workspace import sales_store

    every = sales_store(Settings(home=workspace / "home")).series()["name"].astype(str)
    for p in prompts:
        named = [n for n in every if n.lower() in p.lower()]
        assert named == [], named


def test_failures_fall_back_and_are_counted(workspace, openai_server):
    server = openai_server(always("this is not JSON"))
    results = run(workspace, "run-fail", *llm_args(server), "--no-cache")
    llm = results["variants"]["llm"]
    assert llm["fallbacks"] == 4 and llm["llm"]["failed_requests"] == 4
    cells = pd.read_parquet(workspace / "run-fail" / "cells.parquet")
    assert set(cells.loc[cells["variant"] == "llm", "source"]) == {"carry"}
    assert "LLM" in (workspace / "run-fail" / "leaderboard.md").read_text()


def test_rejected_replies_are_counted_by_kind_per_variant(workspace, openai_server):
    def contradicting(body, i):  # change_pct -5 (down), direction "up": the validator rejects it, the client re-asks
        return json.dumps({**json.loads(adjustment_reply(body, change_pct=-5.0)), "direction": "up"})

    server = openai_server(queue(contradicting, then=valid_adjustment(change_pct=-5.0)))
    results = run(workspace, "run-problems", *llm_args(server), "--no-cache")
    assert len(server.chat_bodies) == 5  # 4 cells, one of them re-asked once
    llm = results["variants"]["llm"]
    assert llm["fallbacks"] == 0
    assert llm["llm_problems"] == {"direction_sign": 1}
    assert llm["dialects"] == {"json_schema": 4}  # the test server takes the first dialect auto tries
    assert "llm_problems" not in results["variants"]["combined"]
    cells = pd.read_parquet(workspace / "run-problems" / "cells.parquet")
    mine = cells[cells["variant"] == "llm"]
    assert sorted(mine["llm_problems"]) == ["", "", "", "direction_sign"]
    assert set(mine["dialect"]) == {"json_schema"}
    assert set(cells.loc[cells["variant"] == "combined", "llm_problems"]) == {""}
    board = (workspace / "run-problems" / "leaderboard.md").read_text()
    assert "LLM problems" in board and "direction_sign 1" in board and "json_schema" in board


def test_rerun_is_served_by_the_cache_and_resume_skips_finished_cells(workspace, openai_server):
    server = openai_server(valid_adjustment(change_pct=3.0))
    first = run(workspace, "run-a", *llm_args(server))
    calls = len(server.chat_bodies)
    second = run(workspace, "run-b", *llm_args(server))
    assert len(server.chat_bodies) == calls  # every request answered from the workspace's LLM cache
    assert second["variants"]["llm"]["llm"]["cache_hits"] == 4
    assert second["variants"]["llm"]["metrics"] == first["variants"]["llm"]["metrics"]
    # an interrupted run: one (variant, origin) part and the results are missing
    parts = sorted((workspace / "run-b" / "cells").rglob("*.parquet"))
    kept = {p: p.stat().st_mtime_ns for p in parts[1:]}
    parts[0].unlink()
    (workspace / "run-b" / "results.json").unlink()
    again = run(workspace, "run-b", *llm_args(server), "--resume", str(workspace / "run-b"))
    assert parts[0].exists() and all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert again["variants"]["llm"]["metrics"] == first["variants"]["llm"]["metrics"]
