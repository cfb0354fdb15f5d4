"""The LLM budget is a wall-clock bound, and run() never raises: against a real local HTTP server that trickles its
reply one byte a second or hangs after its headers, and with a call log that fails or stalls. No mocks of HTTP.

No test here times run(). Each stall outlasts what the client may wait by far (the server trickles for 20 s, where
every budget is 2 s at most; a stalled call log waits until the test ends), and the tests assert what only a client
that gave up by itself can show: the budget's message, and the server's own record that the client hung up on it
(a server that gives up first records no hang-up). A client that waited for the server would fail those assertions,
or hang until the test's timeout fails it."""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from openai_server import (TRICKLE, Reply, always, openai_server, valid_adjustment)  # noqa: F401

from trendcast.agent.llm import CallLog, ChatRequest, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.settings import LLMSettings

MESSAGES = [{"role": "system", "content": "You adjust retail forecasts. Answer in JSON."},
            {"role": "user", "content": "Evidence ids you may cite: D1\nHow should the baseline be adjusted?"}]


def llm(url: str, **kw) -> LLMSettings:
    return LLMSettings(**{"url": url, "model": "test-model", "timeout_s": 30.0, "budget_s": 2.0, **kw})


def request(tag: str = "S1@2024-02-29") -> ChatRequest:
    return adjustment_request(MESSAGES, ["D1"], min_pct=-50, max_pct=50, prompt_id="test@1", tag=tag)


STALL_S = 20.0  # how long the server stalls before it gives up itself (closing without a hang-up recorded)




@pytest.mark.timeout(60)
@pytest.mark.parametrize("reply", [TRICKLE, Reply(trickle=1.0, trickle_from="body"), Reply(hang_after_headers=True)],
                         ids=["trickle-all", "trickle-body", "hang-after-headers"])
def test_a_stalling_reply_is_cut_at_the_budget(openai_server, reply):
    server = openai_server(always(Reply(**{**reply.__dict__, "trickle_max_s": STALL_S})))
    log = CallLog(":memory:")
    [res] = LLMClient(llm(server.url, max_retries=3, max_reasks=2), log).run([request()])
    assert not res.ok and res.status == "timeout" and res.value is None
    assert res.error.startswith("LLM time budget of 2s used up while "), res.error
    assert server.url in res.error and "\n" not in res.error
    # the client really hung up (the server saw it, while it still had 18 s to stall), it did not just stop waiting;
    # and a cut is not retried: the budget is spent, whatever max_retries and max_reasks allow
    assert server.hung_up_on(1) == [0] and len(server.chat_bodies) == 1
    [row] = log.recent(5)
    assert (row["status"], row["final"]) == ("timeout", 1) and log.counts()["failed_requests"] == 1


@pytest.mark.timeout(60)
def test_a_trickling_model_list_is_cut_at_the_budget(openai_server):
    server = openai_server(valid_adjustment(), models_reply=Reply(trickle=1.0, trickle_max_s=STALL_S))
    client = LLMClient(llm(server.url, model=None), None)
    results = client.run([request(), request()])
    assert all(not r.ok and r.status == "timeout" for r in results)
    assert all("cannot find the model to use: LLM time budget of 2s used up" in r.error for r in results)
    assert server.chat_bodies == []
    assert server.hung_up_on(1) == [None]  # one model lookup for the batch, and the client hung up on it


@pytest.mark.timeout(60)
def test_ping_is_bounded_too(openai_server):
    server = openai_server(models_reply=Reply(trickle=1.0, trickle_max_s=STALL_S))
    ping = LLMClient(llm(server.url, timeout_s=1.5), None).ping()
    assert not ping.ok and "did not answer within 1.5s" in ping.error
    assert server.hung_up_on(1) == [None]  # cut by the client, not closed by the server after its 20 s


@pytest.mark.timeout(60)
def test_batch_deadline_and_healthy_requests_beside_stalled_ones(openai_server):
    """5 requests, 2 at a time, 1.5 s each: the batch's deadline is 1.5 s x ceil(5/2) = 4.5 s. The trickled ones
    are cut at their own 1.5 s; the others are answered, in order. Requests 0 and 2 stall, one on each worker: had
    they been held to the batch's deadline instead of their own budget, no worker would have been free for 3 and 4
    before it passed, and those would fail unsent."""
    def respond(body, i):
        stall = "stall" in body["messages"][0]["content"]
        return Reply(trickle=1.0, trickle_max_s=STALL_S) if stall else valid_adjustment()(body, i)

    server = openai_server(respond)
    stalled = ChatRequest(messages=[{"role": "system", "content": "stall"}] + MESSAGES[1:], validate=json.loads)
    fine = ChatRequest(messages=MESSAGES, validate=json.loads)
    done: list[int] = []
    results = LLMClient(llm(server.url, budget_s=1.5, concurrency=2), None).run(
        [stalled, fine, stalled, fine, fine], progress=done.append)
    assert [r.status for r in results] == ["timeout", "ok", "timeout", "ok", "ok"], [r.error for r in results]
    assert all("LLM time budget of 1.5s used up" in r.error for r in results if not r.ok)
    stalls = [i for i, body in enumerate(server.chat_bodies) if "stall" in body["messages"][0]["content"]]
    assert len(stalls) == 2 and len(server.hung_up_on(2)) == 2 and set(server.hung_up_on(2)) == set(stalls)
    # the two stalls side by side: the second reached the server before the client hung up on the first (the
    # server's own record of both events)
    arrived = [r.time for r in server.requests if r.path.endswith("/chat/completions")]
    hung_up = dict(server.hangups)
    assert arrived[stalls[1]] < hung_up[stalls[0]]
    assert done == [1] * 5


@pytest.mark.timeout(60)
def test_a_late_wave_gets_what_is_left_of_the_batch_deadline(openai_server):
    """4 stalled requests, one at a time, 1 s each: the batch deadline is 4 s, and run() keeps it. Each request
    before the last is cut a little after its own second (the watchdog's slack, 0.1 s, at least), so the last one
    is picked up at 3.3 s or later: it gets what is left of the batch's 4 s, and its message says so (or, on a
    machine slow enough, it is never sent), where a request given its own full budget would say "budget of 1s"."""
    server = openai_server(always(Reply(trickle=0.5, trickle_max_s=STALL_S)))
    results = LLMClient(llm(server.url, budget_s=1.0, concurrency=1), None).run([request()] * 4)
    assert all(r.status == "timeout" for r in results)
    assert all("LLM time budget of 1s used up" in r.error for r in results[:2]), [r.error for r in results]
    assert "the LLM batch deadline (4s for 4 requests, 1 at a time, 1s each) passed" in results[-1].error, \
        results[-1].error
    sent = len(server.chat_bodies)
    assert sent >= 3 and server.hung_up_on(sent) == list(range(sent))  # every one sent was cut by the client


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
    """A call log whose writes wait on a lock another process holds (sqlite's busy timeout): here until the test
    releases it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.stalled = threading.Event()

    def record(self, **kwargs) -> int:
        self.stalled.set()
        self.release.wait(120)
        return super().record(**kwargs)


@pytest.mark.timeout(60)
def test_a_stalled_call_log_cannot_outlast_the_budget(openai_server):
    """The write never finishes while run() runs: run() returning at all proves the watchdog answered for it."""
    server = openai_server(valid_adjustment())
    log = StallingLog(":memory:")
    try:
        [res] = LLMClient(llm(server.url, budget_s=1.0), log).run([request()])
        assert log.stalled.is_set() and not log.release.is_set()
        assert not res.ok and res.status == "timeout" and "while writing the call log" in res.error
    finally:
        log.release.set()


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
