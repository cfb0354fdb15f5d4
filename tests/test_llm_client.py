"""LLMClient against a real local OpenAI-compatible HTTP server (tests/openai_server.py): no mocks."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
from openai_server import (HANG, Reply, adjustment_reply, always, closed_port_url, openai_server, queue,  # noqa: F401
                           together, valid_adjustment)

from trendcast.agent.llm import CallLog, ChatRequest, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.llm.calllog import request_hash
from trendcast.agent.adjusters.schema import TrendAdjustment, adjustment_json_schema
from trendcast.agent.settings import LLMSettings
from trendcast.forecasting.adjust import direction

MESSAGES = [
    {"role": "system", "content": "You adjust retail forecasts. Answer in JSON."},
    {"role": "user", "content": "Evidence:\n[D1] 2024-02-10 (AP): promo season\n[D2] 2024-02-20 (AP): storms\n"
                                "Evidence ids you may cite: D1, D2\nHow should the baseline be adjusted?"},
]


def _dir(change_pct: float) -> str:
    return direction(change_pct, 1.0)


def llm(url: str, **kw) -> LLMSettings:
    return LLMSettings(**{"url": url, "model": "test-model", "timeout_s": 5.0, "budget_s": 20.0, **kw})


def request(messages=MESSAGES, **kw) -> ChatRequest:
    return adjustment_request(messages, ["D1", "D2"], min_pct=-50, max_pct=50, flat_band_pct=1.0,
                              prompt_id="test@1", tag="S1@2024-02-29", **kw)


def bad(**fields) -> str:
    data = json.loads(adjustment_reply({"messages": MESSAGES}))
    return json.dumps({**data, **fields})


def test_valid_reply_is_parsed_and_request_is_structured(openai_server, tmp_path):
    server = openai_server(valid_adjustment(change_pct=-4.0))
    log = CallLog(tmp_path / "llm.sqlite")
    [res] = LLMClient(llm(server.url, max_tokens=321), log).run([request()])
    assert res.ok and res.status == "ok" and res.error is None
    assert isinstance(res.value, TrendAdjustment)
    assert (res.value.direction, res.value.change_pct, res.value.drivers[0].evidence_id) == ("down", -4.0, "D1")
    assert (res.attempts, res.calls, res.cached) == (1, 1, False)
    assert res.usage["prompt_tokens"] > 0 and res.usage["completion_tokens"] > 0
    [body] = server.chat_bodies
    assert body["model"] == "test-model" and body["messages"] == MESSAGES
    assert body["temperature"] == 0.0 and body["max_tokens"] == 321
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "trend_adjustment", "schema": adjustment_json_schema(-50, 50, ["D1", "D2"]), "strict": True}}
    assert not server.requests[0].has_auth
    [row] = log.recent(5)
    assert (row["status"], row["attempt"], row["final"], row["prompt_id"], row["tag"]) == ("ok", 1, 1, "test@1",
                                                                                            "S1@2024-02-29")
    assert json.loads(row["parsed_json"])["change_pct"] == -4.0


def test_invalid_json_twice_then_valid(openai_server):
    server = openai_server(queue("not json", "{\"direction\": ", valid_adjustment()))
    log = CallLog(":memory:")
    [res] = LLMClient(llm(server.url, max_reasks=2), log).run([request()])
    assert res.ok and res.attempts == 3 and res.calls == 3
    rows = list(reversed(log.recent(10)))
    assert [(r["status"], r["attempt"], r["final"]) for r in rows] == [("invalid", 1, 0), ("invalid", 2, 0),
                                                                      ("ok", 3, 1)]
    assert "not valid JSON" in rows[0]["error"]
    # each re-ask carries the rejected reply and the reason
    third = server.chat_bodies[2]["messages"]
    assert [m["role"] for m in third] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert third[2]["content"] == "not json" and "not valid JSON" in third[3]["content"]


def test_unknown_evidence_id_is_reasked_with_the_error(openai_server):
    server = openai_server(queue(bad(drivers=[{"evidence_id": "D99", "effect": "up", "note": "x"}]),
                                 valid_adjustment()))
    [res] = LLMClient(llm(server.url), CallLog(":memory:")).run([request()])
    assert res.ok and res.attempts == 2
    reask = server.chat_bodies[1]["messages"][-1]
    assert reask["role"] == "user"
    assert "drivers cite evidence ids that were not given: D99; cite only these ids: D1, D2" in reask["content"]


def test_direction_contradicting_change_is_reasked(openai_server):
    server = openai_server(queue(bad(direction="up", change_pct=-3.0), valid_adjustment()))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.attempts == 2
    assert "direction 'up' contradicts change_pct -3" in server.chat_bodies[1]["messages"][-1]["content"]


def test_change_out_of_bounds_is_reasked(openai_server):
    server = openai_server(queue(bad(change_pct=80.0), valid_adjustment()))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.attempts == 2
    assert "between -50 and 50" in server.chat_bodies[1]["messages"][-1]["content"]


def test_always_garbage_gives_up_after_reasks(openai_server):
    server = openai_server(always("I think sales will go up!"))
    log = CallLog(":memory:")
    [res] = LLMClient(llm(server.url, max_reasks=2), log).run([request()])
    assert not res.ok and res.status == "invalid" and res.value is None
    assert len(server.chat_bodies) == 3 and res.attempts == 3
    assert res.error.startswith("LLM reply failed validation 3 times: the reply is not valid JSON")
    assert "\n" not in res.error and res.raw == "I think sales will go up!"
    assert log.counts()["failed_requests"] == 1 and log.counts()["reasks"] == 2
    key = request_hash(server.url, "test-model", MESSAGES, request().response_format(), 0.0, 800)
    assert log.cache_get(key) is None  # failures are never cached


def test_fenced_json_is_accepted(openai_server):
    server = openai_server(lambda body, i: "```json\n" + adjustment_reply(body) + "\n```")
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.attempts == 1


def test_server_error_is_retried_then_reported(openai_server):
    server = openai_server(always(Reply(status=500, content="engine crashed")))
    log = CallLog(":memory:")
    [res] = LLMClient(llm(server.url, max_retries=2), log).run([request()])
    assert not res.ok and res.status == "http_error"
    assert len(server.chat_bodies) == 3 and res.calls == 3 and res.attempts == 1
    assert "HTTP 500" in res.error and "engine crashed" in res.error and "after 3 tries" in res.error
    rows = list(reversed(log.recent(10)))
    assert [(r["retry"], r["final"]) for r in rows] == [(0, 0), (1, 0), (2, 1)]
    assert log.counts()["retries"] == 2


def test_server_error_then_success(openai_server):
    server = openai_server(queue(503, valid_adjustment()))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.calls == 2 and res.attempts == 1


def test_client_errors_are_not_retried(openai_server):
    server = openai_server(always(Reply(status=400, content="maximum context length is 4096 tokens")))
    [res] = LLMClient(llm(server.url, max_retries=3), None).run([request()])
    assert not res.ok and len(server.chat_bodies) == 1
    assert "HTTP 400: maximum context length is 4096 tokens" in res.error


class RateLimited:
    """Responder: a server that enforces its Retry-After. The first request gets 429 with "Retry-After: 1"; any
    request that comes back before that second has passed (on the server's clock) gets 429 again, with what is left;
    after it, a valid reply. A client that ignores Retry-After (its own backoff starts at 0.4-0.6 s) is refused
    twice or more."""

    def __init__(self, seconds: float = 1.0):
        self.seconds, self.until = seconds, None

    def __call__(self, body: dict, i: int):
        now = time.monotonic()
        if self.until is None:
            self.until = now + self.seconds
        if now < self.until:
            return Reply(status=429, headers={"Retry-After": f"{self.until - now:.3f}"})
        return adjustment_reply(body)


def test_rate_limit_respects_retry_after(openai_server):
    server = openai_server(RateLimited(1.0))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert res.ok and res.calls == 2 and len(server.chat_bodies) == 2  # came back once, when it was let in


@pytest.mark.timeout(30)
def test_rate_limit_beyond_budget_gives_up_at_once(openai_server):
    """Retry-After 600 s on a budget of 60: the client gives up without sleeping (sleeping until Retry-After, or
    until its budget, would outlast the test's 30 s timeout and fail it)."""
    server = openai_server(always(Reply(status=429, headers={"Retry-After": "600"})))
    [res] = LLMClient(llm(server.url, budget_s=60.0), None).run([request()])
    assert not res.ok and res.status == "http_error" and "HTTP 429" in res.error
    assert len(server.chat_bodies) == 1 and res.calls == 1


@pytest.mark.timeout(60)
def test_timeout_stays_within_budget(openai_server):
    """A server that never answers (until the test ends), 0.4 s a try, 10 retries allowed: the budget, not the
    retries, ends it. Each try's timeout is its own (the server saw the client hang up on every one), tries are
    retried, and fewer than max_retries + 1 fit in the budget (every try takes 0.4 s and every backoff 0.4 s or more:
    at most 3 in 3 s), where a client that ignored its budget would make all 11."""
    server = openai_server(always(HANG))
    settings = llm(server.url, timeout_s=0.4, budget_s=3.0, max_retries=10, max_reasks=5)
    log = CallLog(":memory:")
    [res] = LLMClient(settings, log).run([request()])
    assert not res.ok and res.status == "timeout"
    # the last try ends by its own 0.4 s timeout or, on a loaded machine, by the budget running out first
    assert "did not answer within 0.4s" in res.error or "LLM time budget of 3s used up" in res.error, res.error
    assert 2 <= res.calls <= 3 < settings.max_retries + 1, res.calls
    assert len(server.chat_bodies) == res.calls and server.hung_up_on(res.calls) == list(range(res.calls))
    assert log.counts()["failed_requests"] == 1


@pytest.mark.timeout(60)
def test_slow_server_gets_a_shorter_timeout_near_the_deadline(openai_server):
    """timeout_s is 30 s, the budget 0.8 s, and the server never answers (until the test ends): the client hangs up
    at its budget (the server saw it), and says so; it does not wait out timeout_s, nor retry."""
    server = openai_server(always(HANG))
    [res] = LLMClient(llm(server.url, timeout_s=30.0, budget_s=0.8), None).run([request()])
    assert not res.ok and res.status == "timeout"
    assert res.error.startswith("LLM time budget of 0.8s used up while "), res.error
    assert res.calls == 1 and server.hung_up_on(1) == [0]


@pytest.mark.timeout(60)
def test_closed_port_fails_fast():
    """Nothing listens: no retry (5 allowed, with backoffs of seconds, on a budget of 60 s), one try logged."""
    url = closed_port_url()
    log = CallLog(":memory:")
    [res] = LLMClient(llm(url, max_retries=5, budget_s=60), log).run([request()])
    assert res.calls == 1 and len(log.recent(10)) == 1
    assert not res.ok and res.status == "unreachable"
    assert res.error == f"LLM unreachable at {url}: connection refused"
    assert log.recent(1)[0]["status"] == "unreachable" and log.counts()["failed_requests"] == 1


def test_unconfigured_client_says_so():
    [res] = LLMClient(LLMSettings(), None).run([request()])
    assert not res.ok and res.status == "not_configured" and "TRENDCAST_LLM_URL" in res.error
    assert LLMClient(LLMSettings(), None).run([]) == []


@pytest.mark.timeout(60)
def test_concurrent_requests_overlap(openai_server):
    """The server holds each request until all 16 are in at once (10 s at most): with concurrency 16 they are. (The
    dialect is set: under `auto` the first request would probe the server's dialect alone while the others wait.)"""
    server = openai_server(together(16, valid_adjustment()))
    done = []
    results = LLMClient(llm(server.url, concurrency=16, dialect="json_schema"), None).run(
        [request() for _ in range(16)], progress=done.append)
    assert all(r.ok for r in results) and len(server.chat_bodies) == 16
    assert server.peak_in_flight == 16, f"at most {server.peak_in_flight} of 16 requests were in flight at once"
    assert done == [1] * 16


@pytest.mark.timeout(60)
def test_concurrency_is_bounded(openai_server):
    """The server holds each request until 3 are in at once (1 s at most, then it lets all through): a client
    bounded at 2 never gets there; one that sent more would have 3 in flight."""
    server = openai_server(together(3, valid_adjustment(), wait_s=1.0))
    results = LLMClient(llm(server.url, concurrency=2, dialect="json_schema"), None).run([request() for _ in range(6)])
    assert all(r.ok for r in results) and len(server.chat_bodies) == 6
    assert server.peak_in_flight == 2


def test_results_keep_request_order(openai_server):
    server = openai_server(lambda body, i: adjustment_reply(body, change_pct=float(body["messages"][0]["content"])))
    reqs = [request(messages=[{"role": "system", "content": str(v)}] + MESSAGES[1:]) for v in (5.0, -7.0, 0.0, 12.0)]
    results = LLMClient(llm(server.url, concurrency=4), None).run(reqs)
    assert [r.value.change_pct for r in results] == [5.0, -7.0, 0.0, 12.0]


def test_identical_request_is_served_from_cache(openai_server):
    server = openai_server(valid_adjustment())
    log = CallLog(":memory:")
    client = LLMClient(llm(server.url, temperature=0.0), log)
    first, = client.run([request()])
    second, = client.run([request()])
    assert first.ok and not first.cached
    assert second.ok and second.cached and second.status == "cache_hit" and second.calls == 0
    assert second.value == first.value
    assert len(server.chat_bodies) == 1
    row = log.recent(1)[0]
    assert (row["status"], row["cached"], row["latency_s"], row["final"]) == ("cache_hit", 1, 0.0, 1)
    assert log.counts()["cache_hits"] == 1


@pytest.mark.parametrize("settings", [{"use_cache": False}, {"temperature": 0.7}])
def test_cache_bypassed_without_cache_or_when_sampling(openai_server, settings):
    server = openai_server(valid_adjustment())
    client = LLMClient(llm(server.url, **settings), CallLog(":memory:"))
    results = client.run([request()]) + client.run([request()])
    assert not any(r.cached for r in results) and len(server.chat_bodies) == 2


def test_api_key_is_sent_but_never_stored(openai_server, tmp_path):
    key = "sk-very-secret-0123456789"
    server = openai_server(valid_adjustment(), api_key=key)
    path = tmp_path / "llm.sqlite"
    log = CallLog(path)
    assert all(r.ok for r in LLMClient(llm(server.url, api_key=key), log).run([request()] * 2))
    assert all(r.has_auth for r in server.requests)
    [denied] = LLMClient(llm(server.url, api_key="wrong"), None).run([request(messages=MESSAGES[1:])])
    assert not denied.ok and "HTTP 401" in denied.error and key not in denied.error
    log.close()
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert "INSERT INTO" in dump and key not in dump
    assert key not in "".join(p.read_bytes().decode("latin-1") for p in tmp_path.glob("llm.sqlite*"))


def test_model_is_discovered_when_not_configured(openai_server):
    server = openai_server(valid_adjustment(), model="Qwen/Qwen3-8B")
    client = LLMClient(LLMSettings(url=server.url), None)
    [res] = client.run([request()])
    assert res.ok and res.model == "Qwen/Qwen3-8B" and server.chat_bodies[0]["model"] == "Qwen/Qwen3-8B"


def test_ping_and_models(openai_server):
    server = openai_server(valid_adjustment(), model="m1")
    ping = LLMClient(llm(server.url), None).ping()
    assert ping.ok and ping.models == ["m1"] and ping.error is None
    assert LLMClient(llm(server.url), None).models() == ["m1"]
    down = LLMClient(llm(closed_port_url()), None).ping()
    assert not down.ok and "connection refused" in down.error


def test_truncated_reply_is_reasked_with_the_token_limit(openai_server):
    server = openai_server(queue(Reply(content='{"direction": "up", "chan', finish_reason="length"),
                                 valid_adjustment()))
    [res] = LLMClient(llm(server.url, max_tokens=64), None).run([request()])
    assert res.ok and res.attempts == 2
    assert "cut off at the token limit (64)" in server.chat_bodies[1]["messages"][-1]["content"]


def test_non_completion_body_is_a_clean_failure(openai_server):
    server = openai_server(always(Reply(raw_body="<html>proxy error</html>")))
    [res] = LLMClient(llm(server.url), None).run([request()])
    assert not res.ok and res.status == "http_error" and "not a chat completion" in res.error


def test_custom_validate_callable(openai_server):
    server = openai_server(queue('{"n": 1}', '{"n": 2}'))

    def validate(text: str) -> int:
        n = json.loads(text)["n"]
        if n < 2:
            raise ValueError("n must be at least 2")
        return n

    [res] = LLMClient(llm(server.url), None).run([ChatRequest(messages=MESSAGES, validate=validate)])
    assert res.ok and res.value == 2 and "response_format" not in server.chat_bodies[0]
    assert "n must be at least 2" in server.chat_bodies[1]["messages"][-1]["content"]


def test_rendered_prompt_round_trip(openai_server, tmp_path):
    """prompts -> ChatRequest -> HTTP -> validated TrendAdjustment citing the prompt's own evidence."""
    from trendcast.prompts import PromptContext, load_prompt, outcome_answer_json

    spec = load_prompt("few-shot")
    ctx = PromptContext(
        series_name="Hardware stores", unit="millions of USD", as_of="2024-02-29", period_start="2024-03-01",
        period_end="2024-03-31", baseline_model="AutoETS", baseline_total=5000.0,
        evidence=[{"id": "D41", "date": "2024-02-01", "text": "Spring DIY demand"}],
        examples=[{"series_name": "Garden", "origin": "2023-02-28", "period_label": "March 2023",
                   "baseline_total": 900.0, "evidence": [{"id": "D3", "text": "x"}],
                   "answer_json": outcome_answer_json(900.0, 950.0, direction_of=_dir)}],
    )
    server = openai_server(valid_adjustment(change_pct=2.5))
    req = adjustment_request(spec.render(ctx), [e.id for e in ctx.evidence], prompt_id=spec.id, tag="H@2024-02-29")
    log = CallLog(tmp_path / "llm.sqlite")
    [res] = LLMClient(llm(server.url), log).run([req])
    assert res.ok and res.value.drivers[0].evidence_id == "D41"
    assert log.recent(1)[0]["prompt_id"] == spec.id
    assert outcome_answer_json(900.0, 950.0, direction_of=_dir) in server.chat_bodies[0]["messages"][1]["content"]
