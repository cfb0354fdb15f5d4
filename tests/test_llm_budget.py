"""The LLM budget is a wall-clock bound, and run() never raises: against a real local HTTP server that trickles its
reply one byte a second or hangs after its headers, and with a call log that fails or stalls. No mocks of HTTP."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest
from openai_server import (TRICKLE, Reply, always, openai_server, valid_adjustment)  # noqa: F401

from trendcast.agent.llm import CallLog, ChatRequest, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.settings import LLMSettings

MARGIN_S = 1.0  # what run() may take beyond its deadline (the watchdog's slack and grace are 0.5 s together)
MESSAGES = [{"role": "system", "content": "You adjust retail forecasts. Answer in JSON."},
            {"role": "user", "content": "Evidence ids you may cite: D1\nHow should the baseline be adjusted?"}]


def llm(url: str, **kw) -> LLMSettings:
    return LLMSettings(**{"url": url, "model": "test-model", "timeout_s": 30.0, "budget_s": 2.0, **kw})


def request(tag: str = "S1@2024-02-29") -> ChatRequest:
    return adjustment_request(MESSAGES, ["D1"], min_pct=-50, max_pct=50, prompt_id="test@1", tag=tag)


def timed(client: LLMClient, requests: list[ChatRequest], **kw):
    started = time.monotonic()
    results = client.run(requests, **kw)
    return results, time.monotonic() - started


def chat_arrivals(server) -> list[float]:
    return [r.time for r in server.requests if r.path.endswith("/chat/completions")]


def hangups(server, n: int) -> list[tuple[int | None, float]]:
    """The server's record of clients hanging up, once it has seen n of them (it looks every 50 ms)."""
    until = time.monotonic() + 2.0
    while len(server.hangups) < n and time.monotonic() < until:
        time.sleep(0.02)
    return server.hangups


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reply", [TRICKLE, Reply(trickle=1.0, trickle_from="body"), Reply(hang_after_headers=True)],
                         ids=["trickle-all", "trickle-body", "hang-after-headers"])
def test_a_stalling_reply_is_cut_at_the_budget(openai_server, reply):
    server = openai_server(always(Reply(**{**reply.__dict__, "trickle_max_s": 20.0})))
    log = CallLog(":memory:")
    [res], elapsed = timed(LLMClient(llm(server.url, max_retries=3, max_reasks=2), log), [request()])
    assert elapsed < 2.0 + MARGIN_S, f"run() took {elapsed:.1f}s on a budget of 2s"
    assert not res.ok and res.status == "timeout" and res.value is None
    assert res.error.startswith("LLM time budget of 2s used up while "), res.error
    assert server.url in res.error and "\n" not in res.error
    # the client really hung up (the server saw it), it did not just stop waiting
    [(index, when)] = hangups(server, 1)
    assert index == 0 and when - chat_arrivals(server)[0] < 2.0 + MARGIN_S
    [row] = log.recent(5)
    assert (row["status"], row["final"]) == ("timeout", 1) and log.counts()["failed_requests"] == 1


@pytest.mark.timeout(60)
def test_a_trickling_model_list_is_cut_at_the_budget(openai_server):
    server = openai_server(valid_adjustment(), models_reply=Reply(trickle=1.0, trickle_max_s=20.0))
    client = LLMClient(llm(server.url, model=None), None)
    results, elapsed = timed(client, [request(), request()])
    assert elapsed < 2.0 + MARGIN_S
    assert all(not r.ok and r.status == "timeout" for r in results)
    assert all("cannot find the model to use: LLM time budget of 2s used up" in r.error for r in results)
    assert server.chat_bodies == []


@pytest.mark.timeout(60)
def test_ping_is_bounded_too(openai_server):
    server = openai_server(models_reply=Reply(trickle=1.0, trickle_max_s=20.0))
    started = time.monotonic()
    ping = LLMClient(llm(server.url, timeout_s=1.5), None).ping()
    assert time.monotonic() - started < 1.5 + MARGIN_S
    assert not ping.ok and "did not answer within 1.5s" in ping.error


@pytest.mark.timeout(60)
def test_batch_deadline_and_healthy_requests_beside_stalled_ones(openai_server):
    """5 requests, 2 at a time, 1.5 s each: the batch's deadline is 1.5 s x ceil(5/2) = 4.5 s. The trickled ones
    are cut at their own 1.5 s; the others are answered, in order."""
    def respond(body, i):
        stall = "stall" in body["messages"][0]["content"]
        return Reply(trickle=1.0, trickle_max_s=20.0) if stall else valid_adjustment()(body, i)

    server = openai_server(respond)
    stalled = ChatRequest(messages=[{"role": "system", "content": "stall"}] + MESSAGES[1:], validate=json.loads)
    fine = ChatRequest(messages=MESSAGES, validate=json.loads)
    done: list[int] = []
    results, elapsed = timed(LLMClient(llm(server.url, budget_s=1.5, concurrency=2), None),
                             [stalled, fine, stalled, fine, fine], progress=done.append)
    assert [r.status for r in results] == ["timeout", "ok", "timeout", "ok", "ok"]
    assert elapsed < 1.5 * 2 + MARGIN_S  # two stalls, run in parallel: one budget each, well inside the 4.5 s
    assert done == [1] * 5


@pytest.mark.timeout(60)
def test_a_late_wave_gets_what_is_left_of_the_batch_deadline(openai_server):
    """3 stalled requests, one at a time, 1 s each: the batch deadline is 3 s, and run() keeps it."""
    server = openai_server(always(Reply(trickle=0.5, trickle_max_s=20.0)))
    results, elapsed = timed(LLMClient(llm(server.url, budget_s=1.0, concurrency=1), None), [request()] * 3)
    assert all(r.status == "timeout" for r in results)
    assert elapsed < 3.0 + MARGIN_S
    assert len(hangups(server, 3)) == 3


class FailingLog(CallLog):
    """A call log on a database that refuses writes (as a read-only llm.sqlite or a full disk does)."""

    def record(self, **kwargs) -> int:
        raise sqlite3.OperationalError("attempt to write a readonly database")


class BrokenCacheLog(FailingLog):
    def cache_get(self, key: str):
        raise sqlite3.DatabaseError("database disk image is malformed")


@pytest.mark.parametrize("log_cls", [FailingLog, BrokenCacheLog])
def test_a_failing_call_log_fails_the_requests_not_the_batch(openai_server, tmp_path, log_cls):
    server = openai_server(valid_adjustment())
    log = log_cls(tmp_path / "llm.sqlite")
    results = LLMClient(llm(server.url), log).run([request("A@1"), request("B@1"), request("C@1")])
    assert len(results) == 3
    for r in results:
        assert not r.ok and r.status == "error" and r.value is None
        assert "call log" in r.error and "attempt to write a readonly database" in r.error, r.error
        assert str(tmp_path / "llm.sqlite") in r.error and "\n" not in r.error


class StallingLog(CallLog):
    """A call log whose writes wait on a lock another process holds (sqlite's busy timeout)."""

    def record(self, **kwargs) -> int:
        time.sleep(8.0)
        return super().record(**kwargs)


@pytest.mark.timeout(60)
def test_a_stalled_call_log_cannot_outlast_the_budget(openai_server):
    server = openai_server(valid_adjustment())
    [res], elapsed = timed(LLMClient(llm(server.url, budget_s=1.0), StallingLog(":memory:")), [request()])
    assert elapsed < 1.0 + MARGIN_S
    assert not res.ok and res.status == "timeout" and "while writing the call log" in res.error


def test_a_failing_progress_callback_loses_nothing(openai_server):
    server = openai_server(valid_adjustment())

    def progress(k: int) -> None:
        raise RuntimeError("terminal gone")

    results = LLMClient(llm(server.url), None).run([request(), request()], progress=progress)
    assert [r.ok for r in results] == [True, True]


def test_unexpected_errors_inside_a_request_become_failed_results(openai_server):
    server = openai_server(valid_adjustment())
    odd = ChatRequest(messages=[{"role": "user", "content": {1, 2}}], validate=json.loads)  # not JSON-able
    results = LLMClient(llm(server.url), CallLog(":memory:")).run([odd, request()])
    assert not results[0].ok and results[0].status == "error"
    assert results[0].error.startswith("LLM request failed inside trendcast: TypeError")
    assert results[1].ok
