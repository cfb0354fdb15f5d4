"""Faults of issue 11 on the LLM path, against real processes and the real protocol test server.

1. Credentials in the endpoint — the URL's user:password@, credential-like query parameters, TRENDCAST_LLM_API_KEY
   — are never written: not in a message, a call-log row, a report, an eval run's files (sqlite and parquet
   included), with the server down and with it up (also when the server echoes a key in an error), nor any
   encoding of them (issue 25: base64 of user:password, which HTTP Basic auth sends, echoed back by a server that
   quotes the request's Authorization header; base64 of the key; percent-encoding). A URL with user info and an
   API key is refused (one Authorization header per request: one of the two would be dropped in silence).
2. A 50 MB reply is read up to the byte cap and no further: memory stays small, llm.sqlite keeps a preview and the
   size, and the re-ask describes the reply instead of sending it back.
"""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote, urlsplit

import pandas as pd
import pytest
from openai_server import (ECHO_AUTH, HUGE, Reply, adjustment_reply, closed_port_url, openai_server,  # noqa: F401
                           queue, valid_adjustment)

from trendcast.agent.llm import CallLog, LLMClient
from trendcast.agent.adjusters.llm_request import adjustment_request
from trendcast.agent.settings import LLMSettings

REPO = Path(__file__).resolve().parents[1]
USER_SECRET = "sk-userinfo-5ecret0A"
QUERY_SECRET = "sk-query-5ecret0B"
ENV_SECRET = "sk-envkey-5ecret0C"
SECRETS = (USER_SECRET, QUERY_SECRET, ENV_SECRET)
MESSAGES = [{"role": "system", "content": "Answer with JSON."},
            {"role": "user", "content": "How will shoe stores trend? Evidence ids you may cite: D1, D2"}]


def with_credentials(base: str) -> str:
    """base (http://127.0.0.1:PORT/v1) with a password in the user info and a key in the query string."""
    p = urlsplit(base)
    return f"{p.scheme}://apiuser:{USER_SECRET}@{p.netloc}{p.path}?api_key={QUERY_SECRET}&api-version=1"


def forms(secret: str) -> set[str]:
    """A secret as it may be written: as is, percent-encoded, base64 (standard, URL-safe, padded or not)."""
    raw = secret.encode()
    b64 = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {secret, quote(secret, safe="")} | b64 | {b.rstrip("=") for b in b64}


# every form of every secret, and of the user:password pair HTTP Basic auth sends
SECRET_FORMS = sorted({f for s in (*SECRETS, f"apiuser:{USER_SECRET}") for f in forms(s)})


def leaks(*roots: Path, texts: tuple[str, ...] = ()) -> list[str]:
    """Every file under roots (binary too) and text that holds a secret in any form (`forms`), as 'where: form';
    parquet files also decoded."""
    found = [f"text {i}: {s}" for i, t in enumerate(texts) for s in SECRET_FORMS if s in t]
    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            data = path.read_bytes()
            contents = [data]
            if path.suffix == ".parquet":
                contents.append(pd.read_parquet(path).to_csv().encode())
            found += [f"{path}: {s}" for s in SECRET_FORMS for t in contents if s.encode() in t]
    return sorted(set(found))


# --- 1. credentials -------------------------------------------------------------------------------------------------

def test_one_rule_redacts_urls_and_known_secrets():
    from trendcast.agent.llm.redact import Redactor, public_url, redact, redact_json, redact_url

    url = f"https://apiuser:{USER_SECRET}@host.example:8443/v1/?api_key={QUERY_SECRET}&Access-Token=t0k3n&x=1#frag"
    assert redact_url(url) == "https://host.example:8443/v1/?x=1"
    assert public_url(url) == "https://host.example:8443/v1"
    for name in ("key", "token", "access_token", "password", "secret", "sig", "X-Amz-Signature", "subscription-key",
                 "code"):
        assert redact_url(f"http://h/v1?{name}=abcdef&keep=1") == "http://h/v1?keep=1", name
    text = f"LLM unreachable at {url}: connection refused (key {ENV_SECRET})"
    masked = Redactor(url, ENV_SECRET)(text)
    assert masked == "LLM unreachable at https://host.example:8443/v1/?x=1: connection refused (key ***)"
    # what a server echoes: the Basic credential of the user info, the key in base64 or percent-encoded, any token
    basic = base64.b64encode(f"apiuser:{USER_SECRET}".encode()).decode()
    echoed = (f"got Authorization: Basic {basic}; key {base64.b64encode(ENV_SECRET.encode()).decode().rstrip('=')} "
              f"{base64.urlsafe_b64encode(USER_SECRET.encode()).decode()} "
              "(also Bearer eyJhbGciOiJIUzI1NiJ9.e30.x and Basic dXNlcjpwYXNz)")
    assert Redactor(url, ENV_SECRET)(echoed) == "got Authorization: Basic ***; key *** *** (also Bearer *** and Basic ***)"
    assert redact("Basic necessities and Bearer bonds") == "Basic necessities and Bearer bonds"  # words stay
    odd = "p@ss/w0rd!"  # a password with reserved characters: percent-encoded in the URL, decoded in Basic auth
    special = Redactor(f"http://bob:{quote(odd, safe='')}@h/v1")
    for form in (odd, quote(odd, safe=""), base64.b64encode(f"bob:{odd}".encode()).decode()):
        assert special(f"echo {form} end") == "echo *** end", form
    assert redact("see https://news.example/a?id=5") == "see https://news.example/a?id=5"  # nothing to redact
    assert redact_json({"u": [url], "n": 1}) == {"u": ["https://host.example:8443/v1/?x=1"], "n": 1}
    assert redact_url("http://u:p@h:notaport/v1") in ("http://h:notaport/v1", "http://***")  # never raises
    token_only = f"http://{USER_SECRET}@h/v1"  # a user name with no password is a token
    assert Redactor(token_only)(f"sent {USER_SECRET}") == "sent ***"


def test_client_writes_no_credential_server_down_or_up(openai_server, tmp_path):
    log, nowhere = CallLog(tmp_path / "llm.sqlite"), closed_port_url()
    down = LLMClient(LLMSettings(url=with_credentials(nowhere), model="m"), log)
    [res] = down.run([adjustment_request(MESSAGES, ["D1", "D2"])])
    ping = down.ping()
    assert res.status == "unreachable" and "LLM unreachable at http://127.0.0.1:" in res.error
    assert "api-version=1" in res.error and not ping.ok and "127.0.0.1" in ping.error
    # up: the key travels in the query string; one reply is an error that echoes the keys back, one the
    # Authorization header (HTTP Basic: base64 of apiuser:password)
    echo = Reply(status=400, content=f"bad key for apiuser:{USER_SECRET} (api_key={QUERY_SECRET})")
    server = openai_server(queue(echo, Reply(status=500), valid_adjustment(), ECHO_AUTH, then=valid_adjustment()))
    up = LLMClient(LLMSettings(url=with_credentials(server.url), model="m", max_retries=1), log)
    failed, ok = up.run([adjustment_request(MESSAGES, ["D1", "D2"], tag="first")]), up.run(
        [adjustment_request(MESSAGES[1:], ["D1", "D2"], tag="second")])
    assert failed[0].status == "http_error" and "bad key for *** (api_key=***)" in failed[0].error
    assert ok[0].ok and ok[0].calls == 2  # HTTP 500 once, retried
    [basic] = up.run([adjustment_request(MESSAGES, ["D1", "D2"], tag="third")])
    assert basic.status == "http_error" and "Authorization: Basic *** for /v1/chat/completions?api_key=***" in basic.error
    chat = [r for r in server.requests if r.method == "POST"]
    assert chat and all(f"/v1/chat/completions?api_key={QUERY_SECRET}&api-version=1" == r.path for r in chat)
    assert up.ping().ok and up.ping().url == f"{server.url}?api-version=1"
    # the key in TRENDCAST_LLM_API_KEY (Bearer), echoed as sent, in base64 and in the error text
    keyed_server = openai_server(queue(ECHO_AUTH, Reply(status=400, content=f"unknown key {ENV_SECRET} "
                                                        f"({base64.b64encode(ENV_SECRET.encode()).decode()})")))
    keyed = LLMClient(LLMSettings(url=keyed_server.url, model="m", api_key=ENV_SECRET, max_retries=0), log)
    bearer, unknown = (keyed.run([adjustment_request(MESSAGES, ["D1"], tag=t)])[0] for t in ("k1", "k2"))
    assert "Authorization: Bearer ***" in bearer.error and "unknown key *** (***)" in unknown.error
    log.close()
    errors = [r for r in sqlite3.connect(tmp_path / "llm.sqlite").execute("SELECT url, error FROM calls")]
    assert len(errors) >= 6 and {u for u, _ in errors} == {nowhere, server.url, keyed_server.url}
    texts = [res.error, ping.error, failed[0].error, basic.error, bearer.error, unknown.error,
             *(e or "" for _, e in errors)]
    assert leaks(tmp_path, texts=tuple(texts)) == []


def test_user_info_and_an_api_key_are_refused_together(tmp_path):
    """A request carries one Authorization header: user:password@ in the URL is HTTP Basic, the key is Bearer.
    httpx sent Basic and dropped the key in silence (a server checking the key answered 401): now refused, one
    line, exit 2, no secret in it; either one alone is accepted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_")}
    env.update(TRENDCAST_HOME=str(tmp_path / "home"), TRENDCAST_LLM_URL=with_credentials("http://127.0.0.1:9/v1"),
               TRENDCAST_LLM_API_KEY=ENV_SECRET)
    done = subprocess.run([sys.executable, "-m", "trendcast", "series"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "TRENDCAST_LLM_URL has a user:password@ part" in done.stderr and "TRENDCAST_LLM_API_KEY" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert leaks(texts=(done.stdout, done.stderr)) == []
    with pytest.raises(ValueError, match="one Authorization header"):
        LLMSettings(url=f"http://a/v1,http://apiuser:{USER_SECRET}@b/v1", api_key=ENV_SECRET)
    assert LLMSettings(url=with_credentials("http://a/v1")).api_key is None
    assert LLMSettings(url=f"http://a/v1?api_key={QUERY_SECRET}", api_key=ENV_SECRET).api_key == ENV_SECRET


# --- 1. credentials, end to end: asks, a report and an eval run ------------------------------------------------------

SUITE = """\
name: secrets
origins: {start: 2020-01, end: 2020-02}
series: {ids: ["4482", "4481"]}
baseline: {models: [AutoETS, SeasonalNaive], refit_every: 2}
n_jobs: 1
variants:
  - {name: combined}
  - {name: llm, adjuster: llm, prompt: few-shot}
bootstrap: {resamples: 200}
"""


def trendcast(home: Path, url: str, *args: str, timeout: float = 600, api_key: str | None = None,
              ) -> subprocess.CompletedProcess:
    """The real CLI in its own process, the endpoint's credentials in the URL (and the key in TRENDCAST_LLM_API_KEY);
    its output holds no secret in any form."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_")}
    env.update(TRENDCAST_HOME=str(home), TRENDCAST_LLM_URL=url, TRENDCAST_LLM_MODEL="test-model",
               TRENDCAST_LLM_BUDGET="20", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    if api_key:
        env["TRENDCAST_LLM_API_KEY"] = api_key
    done = subprocess.run([sys.executable, "-m", "trendcast", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert leaks(texts=(done.stdout, done.stderr)) == []
    return done


def echo_every(n: int, then):
    """Requests 0, n, 2n, … get ECHO_AUTH (an HTTP 401 quoting the request's Authorization header); the others
    `then`."""
    return lambda body, i: ECHO_AUTH if i % n == 0 else then(body, i)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["server-down", "echo-basic", "echo-bearer"])
def test_no_credential_in_the_workspace_or_run_folder(case, demo_copy, openai_server, tmp_path):
    """Asks, a report and an eval run against a server that is down, or that echoes the Authorization header of
    every third request — HTTP Basic from the URL's user info, or Bearer from TRENDCAST_LLM_API_KEY — then the
    whole workspace and run folder, and every output, grepped as bytes for every form of every secret."""
    key = ENV_SECRET if case == "echo-bearer" else None
    if case == "server-down":
        url = with_credentials(closed_port_url())
    else:
        server = openai_server(echo_every(3, valid_adjustment(change_pct=-5.0)))
        url = with_credentials(server.url) if case == "echo-basic" else f"{server.url}?api_key={QUERY_SECRET}"
    as_of = ["--as-of", "2020-03-31"]
    asked = json.loads(trendcast(demo_copy, url, "ask", "how will shoe stores trend next month?", *as_of,
                                 "--json", api_key=key).stdout)
    trendcast(demo_copy, url, "ask", "how will clothing stores trend next month?", *as_of, api_key=key)
    trendcast(demo_copy, url, "report", "--categories", "4481,4482", *as_of, "--quiet", "--workers", "1",
              api_key=key)
    (tmp_path / "secrets.yaml").write_text(SUITE)
    run_dir = tmp_path / "run"
    trendcast(demo_copy, url, "eval", "run", str(tmp_path / "secrets.yaml"), "--out", str(run_dir), "--quiet",
              api_key=key)
    # the LLM path was taken, and its failures were written out: redacted
    assert asked["adjustment"]["source"] != "llm" and any("LLM" in w["message"] for w in asked["warnings"])
    with sqlite3.connect(demo_copy / "llm.sqlite") as db:
        errors = [e for (e,) in db.execute("SELECT error FROM calls WHERE error IS NOT NULL")]
    [report] = [json.loads(p.read_text()) for p in (demo_copy / "reports").glob("report-*/report.json")]
    assert report["adjuster"] == "llm" and report["stats"]["llm_requests"] == 2
    if case == "server-down":
        assert errors and any("127.0.0.1" in e for e in errors)
        assert report["stats"]["fallbacks"] == 2
    else:
        assert len(server.chat_bodies) > 4  # both asks, the report's and the run's requests
        scheme = "Basic" if case == "echo-basic" else "Bearer"
        assert any(f"Authorization: {scheme} *** for /v1/chat/completions?api_key=***" in e for e in errors), errors
        assert [r.has_auth for r in server.requests if r.method == "POST"].count(True) == len(server.chat_bodies)
        cells = pd.read_parquet(run_dir / "cells.parquet")
        assert "llm" in set(cells.loc[cells["variant"] == "llm", "source"])
    assert leaks(demo_copy, run_dir) == []


# --- 2. unbounded replies -------------------------------------------------------------------------------------------

CLIENT = textwrap.dedent("""\
    import json, sys, tracemalloc
    from trendcast.agent.llm import CallLog, LLMClient
    from trendcast.agent.adjusters.llm_request import adjustment_request
    from trendcast.agent.settings import LLMSettings
    url, db, messages = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    client = LLMClient(LLMSettings(url=url, model="test-model", use_cache=False, budget_s=60), CallLog(db))
    tracemalloc.start()
    [res] = client.run([adjustment_request(messages, ["D1", "D2"])])
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({"ok": res.ok, "status": res.status, "attempts": res.attempts, "error": res.error,
                      "peak": peak}))
""")


def run_client(url: str, db: Path) -> dict:
    """One request from a fresh process: its result and its peak traced memory (the server is in this process;
    tracemalloc, not ru_maxrss, which a forked child inherits from this big parent)."""
    done = subprocess.run([sys.executable, "-c", CLIENT, url, str(db), json.dumps(MESSAGES)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


@pytest.mark.slow
@pytest.mark.parametrize("huge", [
    HUGE,  # a valid TrendAdjustment plus a 50 MB extra field, with Content-Length
    Reply(pad_bytes=HUGE.pad_bytes, chunked=True),  # the same with no declared size
    Reply(pad_bytes=HUGE.pad_bytes, pad_in="body"),  # a valid content beside a 50 MB field of the completion
], ids=["content", "chunked", "body"])
def test_a_50_mb_reply_is_read_up_to_the_cap_only(huge, openai_server, tmp_path):
    server = openai_server(huge)
    db = tmp_path / "llm.sqlite"
    res = run_client(server.url, db)
    assert res["peak"] < 16 * 2**20, res  # the cap is 1 MB; reading the whole reply took well over 150 MB
    assert db_bytes(db) < 2 * 2**20
    bodies = [r for r in server.requests if r.method == "POST"]
    assert all(r.size < 32_768 for r in bodies), [r.size for r in bodies]
    assert not res["ok"] and res["status"] == "invalid" and res["attempts"] == 3 == len(bodies), res
    assert "1,048,576-byte limit" in res["error"]
    reask = bodies[1].body["messages"]
    assert reask[-2]["role"] == "assistant" and "is left out" in reask[-2]["content"]
    assert "over the 1,048,576-byte limit" in reask[-1]["content"]
    if not huge.chunked:  # the server said how big it was (52,4xx,xxx bytes): the re-ask and the log say so
        assert "your reply was 52,4" in reask[-1]["content"] and "52,4" in reask[-2]["content"]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, raw_reply, error, length(messages_json) FROM calls").fetchall()
    assert [r[0] for r in rows] == ["invalid"] * 3
    for status, raw, error, messages in rows:
        assert len(raw) < 8192 and "[truncated: the reply was" in raw and "kept]" in raw
        assert messages < 8192 and "byte limit" in error
    if not huge.chunked:
        assert all("52,4" in raw for _, raw, _, _ in rows)


@pytest.mark.slow
def test_ask_survives_a_50_mb_reply(demo_copy, openai_server):
    server = openai_server(queue(HUGE, then=valid_adjustment(change_pct=-5.0)))
    answer = json.loads(trendcast(demo_copy, server.url, "ask", "how will shoe stores trend next month?",
                                  "--as-of", "2020-03-31", "--json").stdout)
    assert answer["adjustment"]["source"] == "llm" and answer["adjustment"]["proposed_pct"] == -5.0
    sizes = [r.size for r in server.requests if r.method == "POST"]
    assert len(sizes) == 2 and sizes[1] < sizes[0] + 4096, sizes  # the re-ask: the prompt and a short note
    assert db_bytes(demo_copy / "llm.sqlite") < 4 * 2**20


def test_a_huge_reply_then_a_valid_one_is_accepted(openai_server, tmp_path):
    server = openai_server(queue(Reply(pad_bytes=5 * 2**20), then=valid_adjustment(change_pct=-4.0)))
    log = CallLog(tmp_path / "llm.sqlite")
    [res] = LLMClient(LLMSettings(url=server.url, model="m", use_cache=False), log).run(
        [adjustment_request(MESSAGES, ["D1", "D2"])])
    assert res.ok and res.attempts == 2 and res.value.change_pct == -4.0
    second = server.chat_bodies[1]["messages"]
    assert len(json.dumps(second)) < 4096 and "your reply was 5,24" in second[-1]["content"]
    invalid, ok = sorted(log.recent(2), key=lambda r: r["id"])
    assert (invalid["status"], ok["status"]) == ("invalid", "ok") and len(invalid["raw_reply"]) < 8192


def test_a_long_reply_under_the_cap_is_not_echoed(openai_server):
    long_reply = json.dumps({"direction": "up", "change_pct": 4.0, "confidence": 0.5, "drivers": [],
                             "rationale": "x" * 200_000})
    server = openai_server(queue(long_reply, then=valid_adjustment(change_pct=4.0)))
    [res] = LLMClient(LLMSettings(url=server.url, model="m", use_cache=False), None).run(
        [adjustment_request(MESSAGES, ["D1", "D2"])])
    assert res.ok and res.attempts == 2
    second = server.chat_bodies[1]["messages"]
    assert len(json.dumps(second)) < 4096 and "characters, is left out" in second[-2]["content"]


def test_the_cap_is_a_setting_with_a_range():
    assert LLMSettings().max_reply_bytes == 1_048_576
    for bad in (10, -1, 2**40):
        with pytest.raises(ValueError, match="max_reply_bytes"):
            LLMSettings(max_reply_bytes=bad)
