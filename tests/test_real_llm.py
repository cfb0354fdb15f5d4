"""The product against a real open model: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct on
CPU (the `real_llm` fixture: CI starts `trendcast llm serve`; elsewhere it starts one, or skips saying why).

A 135M model is not expected to help; these tests check that the path is real: requests accepted in the server's
dialect, replies validated, failures re-asked, counted and named in the fallback — never a refused request per
answer, never a crash."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli
from trendcast.agent.llm.local import CPU_CLIENT
from trendcast.agent.settings import LLMSettings

pytestmark = pytest.mark.slow
Q = "how will clothing stores trend next month?"
AS_OF = "2020-03-31"


def env_for(llm, **extra) -> dict:
    """The variables `trendcast llm serve` prints: the server and the client settings for a one-slot CPU server."""
    cpu = {LLMSettings.variable(k): str(v) for k, v in CPU_CLIENT.items()}
    return {"TRENDCAST_LLM_URL": llm.url, "TRENDCAST_LLM_MODEL": llm.model, "TRENDCAST_LLM_DIALECT": None, **cpu,
            **extra}


def invoke(args, env):
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_ask_through_the_real_model(demo_copy, real_llm):
    a = json.loads(invoke(["ask", Q, "--as-of", AS_OF, "--json"], env_for(real_llm)).stdout)
    adj = a["adjustment"]
    assert adj["dialect"] == "json_object", "llama-cpp-python takes json_object + schema, after one refusal"
    if adj["source"] == "llm":
        assert adj["model"] == real_llm.model and adj["attempts"] >= 1
    else:  # a fallback must name the model's own failure, not a refused or timed-out request
        [why] = [w["message"] for w in a["warnings"] if w["message"].startswith("LLM adjustment failed")]
        assert "failed validation" in why and "rejected as:" in why, why
        assert adj["llm_problems"] and adj["attempts"] == 3
    rows = json.loads(invoke(["logs", "-n", "10", "--json"], env_for(real_llm)).stdout)
    assert [r["dialect"] for r in rows if r["status"] == "http_error"] == ["json_schema"]  # the one refusal
    answered = [r for r in rows if r["status"] in ("ok", "invalid")]
    assert answered and {r["dialect"] for r in answered} == {"json_object"}
    assert all(r["prompt_tokens"] > 1000 for r in answered)  # a real tokenizer counted a few-shot prompt
    invalid = [r for r in answered if r["status"] == "invalid"]
    assert all(r["problem"] and r["error"].startswith(r["problem"]) for r in invalid)

    # the next answer in this workspace costs no refused request: the dialect is remembered
    again = json.loads(invoke(["ask", "how will shoe stores trend next month?", "--as-of", AS_OF, "--json"],
                              env_for(real_llm)).stdout)
    assert again["adjustment"]["dialect"] == "json_object"
    rows = json.loads(invoke(["logs", "-n", "50", "--json"], env_for(real_llm)).stdout)
    assert sum(r["status"] == "http_error" for r in rows) == 1


def test_dialect_switch_against_the_real_server(tmp_path, real_llm):
    from trendcast.agent.llm import CallLog, LLMClient
    from trendcast.agent.adjusters.llm_request import adjustment_request

    messages = [{"role": "system", "content": "Answer with a JSON object."},
                {"role": "user", "content": "Evidence ids you may cite: D1\nSales rose 5 % last month. Propose an "
                                            "adjustment of the baseline in percent."}]
    reqs = [adjustment_request(messages, ["D1"], tag=f"t{i}") for i in range(3)]
    log = CallLog(tmp_path / "llm.sqlite")
    settings = LLMSettings(url=real_llm.url, model=real_llm.model, timeout_s=300, budget_s=600, max_retries=0,
                           concurrency=3, use_cache=False, max_tokens=200)
    results = LLMClient(settings, log).run(reqs)
    assert {r.dialect for r in results} == {"json_object"}, [r.error for r in results]
    assert sum(r.switched_from == ["json_schema"] for r in results) == 1  # one refusal for the batch of 3
    assert all(r.status in ("ok", "invalid") for r in results), [r.error for r in results]
    assert log.dialect_get(real_llm.url, real_llm.model) == "json_object"
    for r in results:  # whatever the model said, it was parsed or named: no transport failure
        assert r.ok or "failed validation" in r.error
    [later] = LLMClient(settings, CallLog(tmp_path / "llm.sqlite")).run(reqs[:1])
    assert later.switched_from == [] and later.dialect == "json_object"


def test_three_category_report_with_concurrency(demo_copy, real_llm, tmp_path):
    out = tmp_path / "out"
    invoke(["report", "--as-of", AS_OF, "--categories", "4481,4482,443", "--adjuster", "llm", "--concurrency", "3",
            "--out", str(out), "--format", "json,md", "-q"], env_for(real_llm, TRENDCAST_LLM_CONCURRENCY="3"))
    [folder] = sorted(out.glob("report-*"))
    data = json.loads((folder / "report.json").read_text())
    assert len(data["entries"]) == 3
    for e in data["entries"]:
        adj = e["answer"]["adjustment"]
        assert adj["dialect"] == "json_object"
        assert adj["source"] == "llm" or any("failed validation" in w["message"] for w in e["answer"]["warnings"])
    assert data["stats"]["llm_calls"] >= 3


def test_small_eval_suite_with_the_llm_variant(demo_copy, real_llm, tmp_path):
    out = tmp_path / "run"
    invoke(["eval", "run", "mrts-smoke-llm", "--out", str(out), "--quiet", "--llm-url", real_llm.url,
            "--llm-model", real_llm.model], env_for(real_llm))
    results = json.loads((out / "results.json").read_text())
    llm = results["variants"]["llm"]
    assert llm["cells"] == 9 and llm["metrics"]["mase"]["value"] > 0
    skill = llm["vs_reference"]["mase_skill"]
    assert skill["lo"] <= skill["value"] <= skill["hi"]
    assert llm["dialects"] == {"json_object": 9}
    board = (out / "leaderboard.md").read_text()
    row = next(line for line in board.splitlines() if line.startswith("| ") and " llm " in line)
    assert "json_object" in row
    problems = llm.get("llm_problems") or {}
    # every fallback is the model's own failure, counted by kind (or there were none)
    assert llm["fallbacks"] == 0 or sum(problems.values()) >= 3 * llm["fallbacks"] - 1
    print(f"mrts-smoke-llm against {real_llm.model}: MASE {llm['metrics']['mase']['value']:.3f}, skill {skill}, fallbacks "
          f"{llm['fallbacks']}, problems {problems}")
    # issue 13: the llm variant weighed by its record (llm+trust) is shown beside the raw one
    v = results["variants"]
    trusted = v["llm+trust"]
    assert trusted["trusted"] and trusted["cells"] == 9
    print("MASE: " + ", ".join(f"{k} {v[k]['metrics']['mase']['value']:.3f}" for k in ("combined", "llm", "llm+trust",
                                                                                      "carry", "carry+trust")))
