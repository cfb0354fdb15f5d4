"""Structured-output dialects, small-model failure modes and prompt fitting, against a real local HTTP server that
behaves like the servers we meet (tests/openai_server.py): llama-cpp-python refusing json_schema, a server ignoring
the schema, replies that are empty, cut off, runaway whitespace, copied from an example."""
from __future__ import annotations

import json

import pytest
from openai_server import Reply, adjustment_reply, openai_server, queue, valid_adjustment  # noqa: F401

from trendcast.agent.llm import CallLog, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.llm.dialects import DIALECTS, DialectChoice, apply, is_refusal
from trendcast.agent.llm.problems import KINDS, classify
from trendcast.agent.llm.tokens import TokenCounter, estimate
from trendcast.agent.adjusters.schema import adjustment_json_schema
from trendcast.agent.settings import LLMSettings

MESSAGES = [
    {"role": "system", "content": "You adjust retail forecasts. Answer in JSON."},
    {"role": "user", "content": "Evidence ids you may cite: D1, D2\nHow should the baseline be adjusted?"},
]
# what llama-cpp-python 0.3.36 answers to response_format json_schema (seen against the real server)
LLAMA_CPP_PYTHON_REFUSAL = Reply(status=500, content=(
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input "
    "should be 'text' or 'json_object'\", 'input': 'json_schema'}"))


def llm(url: str, **kw) -> LLMSettings:
    return LLMSettings(**{"url": url, "model": "test-model", "timeout_s": 5.0, "budget_s": 20.0, "max_retries": 2,
                          **kw})


def request(examples=None, own=None, tag="S1@2024-02-29"):
    return adjustment_request(MESSAGES, ["D1", "D2"], min_pct=-50, max_pct=50, flat_band_pct=1.0,
                              prompt_id="test@1", tag=tag, examples=examples, own_numbers=own)


def llama_cpp_python(body: dict, i: int):
    """Refuses json_schema like llama-cpp-python; answers json_object (+ schema) with a valid adjustment."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return LLAMA_CPP_PYTHON_REFUSAL
    assert fmt == {"type": "json_object", "schema": fmt["schema"]} and fmt["schema"]["type"] == "object"
    return adjustment_reply(body, change_pct=-3.0)


def refused(server) -> int:
    return sum((b.get("response_format") or {}).get("type") == "json_schema" for b in server.chat_bodies)


def test_each_dialect_puts_the_schema_where_its_server_reads_it():
    schema = adjustment_json_schema(-50, 50, ["D1"])
    base = {"model": "m", "messages": MESSAGES}
    assert apply(base, "json_schema", "x", schema)["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
    assert apply(base, "json_object", "x", schema)["response_format"] == {"type": "json_object", "schema": schema}
    so = apply(base, "structured_outputs", "x", schema)
    assert so["structured_outputs"] == {"json": schema} and "response_format" not in so
    assert "response_format" not in base  # a copy
    assert schema["properties"]["drivers"]["items"]["properties"]["evidence_id"]["enum"] == ["D1"]
    assert adjustment_json_schema(-50, 50, [])["properties"]["drivers"]["maxItems"] == 0


@pytest.mark.parametrize("status,detail,expected", [
    (500, "('body', 'response_format', 'type') Input should be 'text' or 'json_object'", True),
    (400, "structured_outputs: Extra inputs are not permitted", True),
    (422, "Unknown field json_schema", True),
    (500, "CUDA out of memory", False),
    (429, "response_format rate limited", False),
    (None, "response_format", False),
])
def test_refusals_are_told_from_other_errors(status, detail, expected):
    assert is_refusal(status, detail) is expected


def test_auto_switches_once_and_remembers_per_url_and_model(openai_server, tmp_path):
    server = openai_server(llama_cpp_python)
    log = CallLog(tmp_path / "llm.sqlite")
    results = LLMClient(llm(server.url, concurrency=4, use_cache=False), log).run([request() for _ in range(8)])
    assert all(r.ok for r in results), [r.error for r in results]
    assert refused(server) == 1, "a batch of 8 at concurrency 4 pays one refused request, not one per worker"
    assert {r.dialect for r in results} == {"json_object"}
    assert sum(r.switched_from == ["json_schema"] for r in results) == 1
    assert log.dialect_get(server.url, "test-model") == "json_object"
    rows = log.recent(20)
    assert [r["dialect"] for r in rows if r["status"] == "http_error"] == ["json_schema"]
    assert {r["dialect"] for r in rows if r["status"] == "ok"} == {"json_object"}
    # a later client (a later `ask`) on the same workspace asks in json_object from the start: no refusal
    before = len(server.chat_bodies)
    [again] = LLMClient(llm(server.url, use_cache=False), CallLog(tmp_path / "llm.sqlite")).run([request()])
    assert again.ok and again.dialect == "json_object" and len(server.chat_bodies) == before + 1
    assert refused(server) == 1
    # another model at the same URL is not assumed to take the same dialect
    assert log.dialect_get(server.url, "other-model") is None


def test_a_fixed_dialect_is_sent_as_is_and_its_refusal_is_not_retried(openai_server):
    server = openai_server(llama_cpp_python)
    [res] = LLMClient(llm(server.url, dialect="json_schema"), None).run([request()])
    assert not res.ok and res.status == "http_error" and len(server.chat_bodies) == 1
    assert "TRENDCAST_LLM_DIALECT=auto" in res.error and "json_object" in res.error
    [ok] = LLMClient(llm(server.url, dialect="json_object"), None).run([request()])
    assert ok.ok and ok.dialect == "json_object" and len(server.chat_bodies) == 2


def test_structured_outputs_dialect_sends_vllms_native_field(openai_server):
    server = openai_server(valid_adjustment(change_pct=4.0))
    [res] = LLMClient(llm(server.url, dialect="structured_outputs"), None).run([request()])
    [body] = server.chat_bodies
    assert res.ok and res.dialect == "structured_outputs"
    assert "response_format" not in body and body["structured_outputs"]["json"]["type"] == "object"


def test_a_server_ignoring_the_schema_is_caught_and_reasked_never_applied(openai_server):
    server = openai_server(queue("Sure! Clothing sales will go up about 5% next month.",
                                 then=valid_adjustment(change_pct=5.0)))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.attempts == 2 and res.problems == ["not_json"]
    reask = server.chat_bodies[1]["messages"][-1]["content"]
    assert "not valid JSON" in reask and "no text before or after" in reask


@pytest.mark.parametrize("reply,kind,words", [
    (Reply(content=""), "empty", "your reply was empty"),
    (Reply(content='{"direction": "up", "change_pct": 4.0,' + " " * 3000, finish_reason="length"),
     "whitespace_runaway", "ran into whitespace until the token limit"),
    (Reply(content='{"direction": "up", "change_pct": 4.0, "confidence": 0.5, "drivers": [], "rationale": "Sales',
           finish_reason="length"), "length", "cut off at max_tokens"),
    (lambda body, i: json.dumps({**json.loads(adjustment_reply(body, change_pct=4.0)), "direction": "down"}),
     "direction_sign", "contradicts change_pct 4"),
    (lambda body, i: adjustment_reply(body, change_pct=4.0, cite="D9"), "unknown_evidence", "cite only these ids"),
    (lambda body, i: adjustment_reply(body, change_pct=-30.0), "copied_example", "past example Clothing April 2020"),
])
def test_each_small_model_failure_is_reasked_precisely_and_counted(openai_server, tmp_path, reply, kind, words):
    server = openai_server(queue(reply, then=valid_adjustment(change_pct=2.5)))
    log = CallLog(tmp_path / "llm.sqlite")
    examples = [{"label": "Clothing April 2020", "pct": -30.0, "numbers": [15900.0, -30.0]}]
    [res] = LLMClient(llm(server.url), log).run([request(examples=examples, own=[1234.0])])
    assert res.ok and res.value.change_pct == 2.5 and res.problems == [kind]
    reask = server.chat_bodies[1]["messages"][-1]["content"]
    assert words in reask, reask
    assert [r["problem"] for r in log.recent(5) if r["status"] == "invalid"] == [kind]
    assert log.problem_counts() == {kind: 1}


def test_whitespace_runaway_is_not_echoed_back_in_full(openai_server):
    runaway = '{"direction": "up",' + " \n" * 5000
    server = openai_server(queue(Reply(content=runaway, finish_reason="length"), then=valid_adjustment()))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok
    echoed = server.chat_bodies[1]["messages"][-2]["content"]
    assert echoed == '{"direction": "up",'


def test_a_rationale_quoting_an_examples_numbers_is_a_copy(openai_server):
    copied = lambda body, i: json.dumps({**json.loads(adjustment_reply(body, change_pct=4.0)),  # noqa: E731
                                         "rationale": "The outcome was 16,395.0 against a baseline of 16,210.3."})
    own_quote = lambda body, i: json.dumps({**json.loads(adjustment_reply(body, change_pct=4.0)),  # noqa: E731
                                            "rationale": "Last month was 16,395.0; expect a little more."})
    examples = [{"label": "Clothing stores June 2018", "pct": 2.1, "numbers": [16210.3, 16395.0, 2.1]}]
    server = openai_server(queue(copied, then=valid_adjustment(change_pct=4.0)))
    [res] = LLMClient(llm(server.url), None).run([request(examples=examples, own=[1.0])])
    assert res.problems == ["copied_example"] and "quotes 16,210.3" in server.chat_bodies[1]["messages"][-1]["content"]
    # the same number is fine when the situation shows it itself
    server2 = openai_server(own_quote)
    [ok] = LLMClient(llm(server2.url), None).run([request(examples=examples, own=[16395.0])])
    assert ok.ok and ok.problems == []


def test_classify_knows_every_kind_it_returns():
    assert classify(ValueError("x"), "", None) == "empty"
    assert classify(ValueError("x"), "{}", None, truncated=True) == "oversize"
    assert set(KINDS) >= {"empty", "whitespace_runaway", "length", "not_json", "direction_sign",
                          "unknown_evidence", "copied_example", "schema"}


def test_dialect_choice_tries_each_dialect_once():
    choice = DialectChoice("auto")
    assert (choice.current, choice.settled) == ("json_schema", False)
    assert choice.refused("json_schema") == "json_object"
    assert choice.refused("json_object") == "structured_outputs"
    assert choice.refused("structured_outputs") is None
    remembered = DialectChoice("auto", remembered="json_object")
    assert (remembered.current, remembered.settled) == ("json_object", True)
    fixed = DialectChoice("structured_outputs")
    assert fixed.settled and fixed.refused("structured_outputs") is None
    assert set(DIALECTS) == {"json_schema", "json_object", "structured_outputs"}


def test_token_estimate_counts_digits_and_falls_back_when_no_tokenizer(openai_server):
    words = [{"role": "user", "content": "sales rose " * 30}]
    digits = [{"role": "user", "content": "2019-01: 12,345.6 " * 30}]
    assert estimate(digits) > 2 * estimate(words)  # digits are single tokens in SmolLM2/Llama/Qwen tokenizers
    server = openai_server(valid_adjustment())  # the protocol server has no tokenize endpoint
    counter = TokenCounter(server.url, "test-model")
    assert counter.count(words) == (estimate(words), "estimate")
    assert TokenCounter("http://127.0.0.1:9/v1").count(words) == (estimate(words), "estimate")
