"""Several OpenAI-compatible servers behind one LLMClient (agent.llm.pool), against real local HTTP test servers with
injected latency: the load spreads, each server's concurrency is bounded, a dead server is dropped and the rest carry
the load, and the results are the single server's."""
from __future__ import annotations

import json
import re
import time

import pytest
from click.testing import CliRunner
from openai_server import adjustment_reply, closed_port_url, openai_server, sleep_each, together  # noqa: F401

from trendcast.agent.llm import CallLog, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.llm.pool import FAIL_LIMIT
from trendcast.agent.settings import LLMSettings, Settings

LATENCY_S = 0.2


def by_prompt(body: dict, i: int) -> str:
    """A deterministic reply that depends on the request only: the change is the number the prompt names."""
    n = int(re.search(r"series (\d+)", body["messages"][-1]["content"]).group(1))
    return adjustment_reply(body, change_pct=float(n % 17) - 5.0, confidence=0.5 + n % 5 / 10)


def slow(body: dict, i: int):
    return sleep_each(LATENCY_S, by_prompt)(body, i)


def requests(n: int) -> list:
    return [adjustment_request([{"role": "user", "content": f"How will series {k} trend? Evidence ids you may cite: "
                                                            "D1"}], ["D1"], min_pct=-50, max_pct=50,
                               flat_band_pct=1.0, prompt_id="test@1", tag=f"S{k}@2024-02-29") for k in range(n)]


def client(urls: list[str], log=None, **kw) -> LLMClient:
    return LLMClient(LLMSettings(**{"url": ",".join(urls), "model": "test-model", "timeout_s": 5.0, "budget_s": 20.0,
                                    "concurrency": 2, "max_retries": 2, **kw}), log)


def values(results) -> list[dict]:
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return [r.value.model_dump() for r in results]


@pytest.mark.timeout(60)
def test_requests_spread_over_servers_each_bounded_and_results_are_one_servers(openai_server):
    """Three servers, 2 at a time each: 6 requests in flight at once over the three, never more than 2 on one. The
    three servers share one responder that holds each request until 6 are held at once (4 s at most, inside the
    client's 5 s timeout), so the 12 requests go in two rounds of 2 + 2 + 2. How much faster that is than one server
    is measured by bench/bench_llm_servers.py."""
    one = openai_server(slow)
    gate = together(6, by_prompt, wait_s=4.0)
    three = [openai_server(gate) for _ in range(3)]
    alone = client([one.url]).run(requests(12))
    spread = client([s.url for s in three], dialect="json_schema").run(requests(12))  # (auto: one probe first)
    assert values(spread) == values(alone)  # the same replies, in request order, whichever server answered
    assert gate.peak == 6, f"at most {gate.peak} requests in flight at once over the three servers"
    assert one.peak_in_flight == 2 and all(s.peak_in_flight == 2 for s in three)  # concurrency 2 on each server
    assert [len(s.chat_bodies) for s in three] == [4, 4, 4]  # least in flight: two rounds of 2 on each
    assert {r.server for r in spread} == {s.url for s in three}
    assert not any(r.warnings for r in spread)


def test_a_dead_server_is_dropped_the_rest_carry_the_load_and_it_is_reported(openai_server, tmp_path):
    live = [openai_server(slow) for _ in range(2)]
    dead = closed_port_url()
    log = CallLog(tmp_path / "llm.sqlite")
    reference = values(client([openai_server(slow).url]).run(requests(12)))
    results = client([live[0].url, dead, live[1].url], log, cooldown_s=60).run(requests(12))
    assert values(results) == reference
    assert sum(len(s.chat_bodies) for s in live) == 12  # every request answered by a live server, once
    assert [s.peak_in_flight for s in live] == [2, 2]  # the two live servers carried it side by side, 2 each
    for r in results:  # each answer says which server was out, and why
        assert len(r.warnings) == 1 and dead in r.warnings[0] and "connection refused" in r.warnings[0], r.warnings
        assert "2 of 3 servers answering" in r.warnings[0]
    rows = log._db.execute("SELECT url, status FROM calls").fetchall()
    refused = [status for url, status in rows if url == dead]
    assert refused and set(refused) == {"unreachable"} and len(refused) <= 2  # at most one try per slot it had
    assert {url for url, status in rows if status == "ok"} == {s.url for s in live}


def test_a_server_that_starts_failing_is_taken_out_and_comes_back_after_its_cooldown(openai_server):
    a, b = openai_server(slow), openai_server(slow)
    c = client([a.url, b.url], cooldown_s=3.0, max_retries=0)
    assert values(c.run(requests(4)))
    assert len(b.chat_bodies) == 2
    b.fail = 503
    before = len(b.chat_bodies)
    results = c.run(requests(8))
    assert values(results) == values(client([a.url]).run(requests(8)))  # no request lost: A took them over
    assert len(b.chat_bodies) - before <= FAIL_LIMIT + 1  # out after FAIL_LIMIT 503s in a row (one more in flight)
    assert all("HTTP 503" in r.warnings[0] and "out of the rotation for" in r.warnings[0] for r in results)
    b.fail = None
    time.sleep(max(0.0, c.pool.endpoints[1].dead_until - time.monotonic()) + 0.05)
    before = len(b.chat_bodies)
    results = c.run(requests(4))
    assert values(results) and len(b.chat_bodies) - before == 2  # re-probed, answered: back to its share
    assert not any(r.warnings for r in results)


@pytest.mark.timeout(60)
def test_every_server_dead_fails_fast_with_the_reason_as_one_server_does():
    """Nothing listens on either server: each request tries each server once (a refusal moves to the next at once)
    and is not retried after a backoff (2 retries allowed, on a budget of 30 s)."""
    dead = [closed_port_url(), closed_port_url()]
    log = CallLog(":memory:")
    results = client(dead, log, budget_s=30.0).run(requests(3))
    assert [r.status for r in results] == ["unreachable"] * 3
    assert all(1 <= r.calls <= 2 for r in results), [r.calls for r in results]
    assert len(log.recent(100)) == sum(r.calls for r in results)
    assert all("connection refused" in r.error and r.warnings for r in results)


def test_ping_lists_every_server_and_the_cli_says_which_are_down(openai_server):
    up, dead = openai_server(), closed_port_url()
    ping = client([up.url, dead]).ping()
    assert ping.ok and [e.ok for e in ping.endpoints] == [True, False]
    assert ping.endpoints[0].models == ["test-model"] and "connection refused" in ping.endpoints[1].error

    from trendcast.agent.cli.main import cli

    out = CliRunner().invoke(cli, ["llm", "ping"], env={"TRENDCAST_LLM_URL": f"{up.url}, {dead}"})
    lines = out.output.splitlines()
    assert out.exit_code == 0 and lines[0] == "ok: 1 of 2 LLM servers answering", out.output
    assert lines[1].startswith(f"  up    {up.url} answered in") and lines[2].startswith("  down ") and dead in lines[2]
    out = CliRunner().invoke(cli, ["llm", "ping", "--url", f"{closed_port_url()},{dead}"])
    assert out.exit_code == 1 and out.output.startswith("down: 0 of 2"), out.output


def test_the_url_setting_takes_a_comma_list_or_a_list():
    s = Settings.from_env({"TRENDCAST_LLM_URL": "http://a:8000/v1, http://b:8000/v1/", "TRENDCAST_LLM_COOLDOWN": "5"})
    assert s.llm.urls == ["http://a:8000/v1", "http://b:8000/v1"] and s.llm.cooldown_s == 5.0
    assert LLMSettings(url=["http://a/v1", "http://b/v1"]).urls == ["http://a/v1", "http://b/v1"]
    assert not LLMSettings(url=" , ").configured
    c = LLMClient(LLMSettings(url="http://a/v1,http://b/v1", concurrency=3))
    assert c.pool.capacity == 6 and c.url == "http://a/v1"  # concurrency is per server; the first names the pool
    assert json.dumps(c.shown) == '"http://a/v1, http://b/v1"'


@pytest.mark.slow
def test_ask_over_servers_one_dead_answers_with_a_warning_and_all_dead_falls_back(demo_copy, openai_server):
    """`trendcast ask` end to end (demo workspace: real sales, headlines, FAISS) with a list of servers."""
    from trendcast.agent.cli.main import cli

    live, dead = openai_server(), closed_port_url()

    def ask(urls: str) -> dict:
        out = CliRunner().invoke(cli, ["ask", "how will clothing stores trend next month?", "--as-of", "2020-03-31",
                                       "--json"], env={"TRENDCAST_LLM_URL": urls, "TRENDCAST_LLM_MODEL": "test-model",
                                                       "TRENDCAST_LLM_BUDGET": "20"}, catch_exceptions=False)
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    a = ask(f"{dead},{live.url}")
    assert a["adjustment"]["source"] == "llm" and len(live.chat_bodies) == 1
    down = [w["message"] for w in a["warnings"] if w["code"] == "llm_server_down"]
    assert len(down) == 1 and dead in down[0] and "connection refused" in down[0], a["warnings"]
    # every server down: carry, as with one server down (another first URL: the first names the pool in the reply
    # cache, and a cached reply would be used as with one server)
    b = ask(f"{closed_port_url()},{dead}")
    assert b["adjustment"]["source"] != "llm"
    assert any(w["code"] == "fallback" and "connection refused" in w["message"] for w in b["warnings"]), b["warnings"]
