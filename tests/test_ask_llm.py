"""`trendcast ask` end to end on the demo workspace (real MRTS sales, real headlines, real embeddings, real FAISS)
against a real local HTTP server speaking the OpenAI chat API."""
from __future__ import annotations

import datetime as dt
import json
import math
import re

import pytest
from click.testing import CliRunner
from openai_server import (HANG, adjustment_reply, always, closed_port_url, openai_server, queue,  # noqa: F401
                           valid_adjustment)

from trendcast.agent.cli.main import cli

pytestmark = pytest.mark.slow
Q = "how will clothing stores trend next month?"
AS_OF = "2020-03-31"


def ask(*args: str, env: dict | None = None):
    result = CliRunner().invoke(cli, ["ask", Q, "--as-of", AS_OF, "--json", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def llm_env(url: str, **extra) -> dict:
    return {"TRENDCAST_LLM_URL": url, "TRENDCAST_LLM_MODEL": "test-model", **extra}


def _dates_in(text: str) -> list[dt.date]:
    return [dt.date.fromisoformat(m) for m in re.findall(r"\b(\d{4}-\d{2}-\d{2})\b", text)]


def test_llm_adjustment_is_applied_and_prompt_is_leak_free(demo_copy, openai_server):
    server = openai_server(valid_adjustment(change_pct=-20.0))
    a = ask(env=llm_env(server.url))
    assert a["adjustment"]["source"] == "llm"
    adj = a["adjustment"]
    assert adj["prompt"] == "few-shot@3" and adj["proposed_pct"] == -20.0
    # no record yet: the LLM's downward proposal is weighed by its prior trust, one half (on the log scale)
    assert adj["trust"] == 0.5 and adj["record"]["n"] == 0
    assert adj["pct"] == pytest.approx(100 * (math.sqrt(0.8) - 1), abs=1e-3)
    assert a["forecast"]["total"] == pytest.approx(math.sqrt(0.8) * a["baseline"]["total"], rel=0.005)
    # the interval spans the adjusted forecast and the baseline it moved from
    assert a["forecast"]["lo_80"] < a["forecast"]["total"] < a["baseline"]["total"] < a["forecast"]["hi_80"]
    (body,) = server.chat_bodies
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["properties"]["change_pct"]["minimum"] == -90
    prompt = "\n".join(m["content"] for m in body["messages"])
    assert "Example 1:" in prompt and "The adjustment that turned out right" in prompt
    # Every date the prompt shows — history, evidence, few-shot origins — is on or before as-of, except the
    # period being forecast itself.
    period = {dt.date(2020, 4, 1), dt.date(2020, 4, 30)}
    late = [d for d in _dates_in(prompt) if d > dt.date.fromisoformat(AS_OF) and d not in period]
    assert late == []
    # the evidence the answer lists is what the prompt offered, all dated on or before as-of
    assert a["evidence"] and all(e["date"] <= AS_OF for e in a["evidence"])
    assert all(f'{{"id": "{e["id"]}", "date": "{e["date"]}"' in prompt for e in a["evidence"])


def test_invalid_json_twice_then_valid_logs_three_calls(demo_copy, openai_server):
    server = openai_server(queue("not json", "{\"direction\": \"up\"", then=valid_adjustment(change_pct=5.0)))
    a = ask("--no-cache", env=llm_env(server.url))
    assert a["adjustment"]["source"] == "llm" and a["adjustment"]["attempts"] == 3
    logs = CliRunner().invoke(cli, ["logs", "--json", "-n", "10"])
    rows = json.loads(logs.stdout)
    assert [r["status"] for r in rows[:3]] == ["ok", "invalid", "invalid"]
    assert len(server.chat_bodies) == 3


def test_reply_citing_unknown_evidence_is_reasked(demo_copy, openai_server):
    bad = lambda body, i: adjustment_reply(body, change_pct=-10.0, cite="D999999999")  # noqa: E731
    server = openai_server(queue(bad, then=valid_adjustment(change_pct=-10.0)))
    a = ask(env=llm_env(server.url))
    assert a["adjustment"]["source"] == "llm" and a["adjustment"]["attempts"] == 2
    reask = server.chat_bodies[1]["messages"][-1]["content"]
    assert "D999999999" in reask


def test_reply_with_contradicting_direction_is_reasked(demo_copy, openai_server):
    contradicting = json.dumps({"direction": "up", "change_pct": -15.0, "confidence": 0.5, "drivers": [],
                                "rationale": "x"})
    server = openai_server(queue(contradicting, then=valid_adjustment(change_pct=-15.0)))
    a = ask(env=llm_env(server.url))
    assert a["adjustment"]["source"] == "llm" and a["adjustment"]["attempts"] == 2
    assert "direction" in server.chat_bodies[1]["messages"][-1]["content"]


@pytest.mark.timeout(180, func_only=True)  # the demo workspace is built once per session, outside this
@pytest.mark.parametrize("case", ["garbage", "http500", "timeout", "down"])
def test_llm_failures_fall_back_within_budget(demo_copy, openai_server, case):
    """Each failure falls back to carry and says why. "timeout": the server never answers (until the test ends), so
    an ask that waited for it would not return at all (the test's timeout would fail it); the server saw the client
    hang up on every try, and the budget, not the 5 retries allowed, ended them: each try waits its 1.5 s and each
    backoff 0.4 s or more (0.8 s the second), so no third try fits in 4 s."""
    server = None
    if case == "down":
        url = closed_port_url()
    else:
        server = openai_server(always({"garbage": "lol, no", "http500": 500, "timeout": HANG}[case]))
        url = server.url
    env = llm_env(url, TRENDCAST_LLM_TIMEOUT="1.5", TRENDCAST_LLM_BUDGET="4", TRENDCAST_LLM_MAX_RETRIES="5")
    a = ask("--no-cache", env=env)
    assert a["adjustment"]["source"] == "carry"
    assert any("fell back to carry" in w["message"] and w["code"] == "fallback" for w in a["warnings"])
    why = {"garbage": "validation", "http500": "500", "timeout": "did not answer within", "down": "unreachable"}[case]
    assert any(why in w["message"].lower() for w in a["warnings"]), a["warnings"]
    if case == "timeout":
        tries = len(server.chat_bodies)
        assert 1 <= tries <= 2 and server.hung_up_on(tries) == list(range(tries)), tries


def test_without_llm_uses_carry_and_cites_march_2020(demo_copy):
    a = ask()
    assert a["adjustment"]["source"] == "carry"
    assert a["adjustment"]["pct"] < -10 and "new break" in a["adjustment"]["rationale"]
    cited = {e["id"]: e for e in a["evidence"]}
    assert a["adjustment"]["evidence_ids"]
    assert all(cited[i]["date"].startswith("2020-03") for i in a["adjustment"]["evidence_ids"])
    # March 2020 collapsed against what the baseline method expected: the answer says so
    assert any(w["code"] == "break" and w["message"].startswith("break: 2020-03 came in -")
               for w in a["warnings"]), a["warnings"]


def test_no_break_warning_in_ordinary_times(demo_copy):
    r = CliRunner().invoke(cli, ["ask", Q, "--as-of", "2019-10-31", "--json"])
    assert r.exit_code == 0, r.output
    assert not any(w["code"] == "break" for w in json.loads(r.stdout)["warnings"])


def test_prompt_is_trimmed_to_the_context_window_and_the_answer_says_so(demo_copy, openai_server):
    from trendcast.agent.llm.tokens import estimate

    server = openai_server(valid_adjustment(change_pct=-20.0))
    full = ask(env=llm_env(server.url))
    assert full["adjustment"]["prompt_trimmed"] is None
    small = ask("--no-cache", env=llm_env(server.url, TRENDCAST_LLM_CONTEXT_TOKENS="3072",
                                          TRENDCAST_LLM_MAX_TOKENS="400"))
    note = small["adjustment"]["prompt_trimmed"]
    assert note and note.startswith("prompt trimmed to fit 3,072 context tokens") and "examples" in note, note
    first, second = server.chat_bodies[0]["messages"], server.chat_bodies[-1]["messages"]
    assert estimate(second) <= 3072 - 400 - 32 < estimate(first)
    assert small["adjustment"]["source"] == "llm"
