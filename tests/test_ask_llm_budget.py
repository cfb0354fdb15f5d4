"""`trendcast ask` on the demo workspace keeps its LLM budget against a server that trickles its reply one byte a
second, and answers (exit 0) with the carry fallback, saying why in `warnings`; the same when the call log is
unusable."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from openai_server import Reply, always, openai_server, valid_adjustment  # noqa: F401

from trendcast.agent.cli.main import cli

pytestmark = pytest.mark.slow
Q = "how will clothing stores trend next month?"
BUDGET_S = 3.0


def ask(env: dict):
    return CliRunner().invoke(cli, ["ask", Q, "--as-of", "2020-03-31", "--json", "--no-cache"], env=env,
                              catch_exceptions=False)


@pytest.mark.timeout(120, func_only=True)  # the demo workspace is built once per session, outside this
def test_ask_keeps_the_llm_budget_against_a_trickling_server(demo_copy, openai_server):
    server = openai_server(always(Reply(trickle=1.0, trickle_max_s=40.0)))
    env = {"TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": "test-model",
           "TRENDCAST_LLM_TIMEOUT": "30", "TRENDCAST_LLM_BUDGET": str(BUDGET_S)}
    result = ask(env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["adjustment"]["source"] == "carry"
    [warning] = [w["message"] for w in answer["warnings"] if "fell back to carry" in w["message"]]
    assert f"LLM time budget of {BUDGET_S:g}s used up" in warning, warning
    # The server saw the client hang up (its record, not the client's word) on its one request, with 37 s of trickle
    # left (a server that gives up itself records no hang-up), and no second request after the cut.
    assert len(server.chat_bodies) == 1 and server.hung_up_on(1) == [0]


def test_ask_with_an_unusable_call_log_falls_back(demo_copy, openai_server):
    (demo_copy / "llm.sqlite").write_bytes(b"this is not an SQLite database\n" * 64)
    server = openai_server(valid_adjustment(change_pct=5.0))
    result = ask({"TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": "test-model"})
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["adjustment"]["source"] == "carry"
    [warning] = [w["message"] for w in answer["warnings"] if "fell back to carry" in w["message"]]
    assert "llm.sqlite cannot be opened" in warning and "not a database" in warning, warning
    assert server.chat_bodies == []  # no LLM call that could not be logged
