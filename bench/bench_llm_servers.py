"""Throughput of one LLMClient over 1, 2, 4 OpenAI-compatible servers (agent.llm.pool).

Each server is the real local test server (tests/openai_server.py), in its own process, answering every chat request
with a valid TrendAdjustment after an injected latency (a stand-in for a GPU server's generation time: the client's
cost is what is measured, not a model's). N requests go through `LLMClient.run` with `concurrency` requests in flight
on each server; one row per server count, plus one with a dead server (a port with nothing listening) in the list, and a
control: one server taking as many requests at a time as the most servers do together (on a machine whose CPUs are
the limit, it shows that limit). Replies are checked identical to the one-server run's.

    .venv/bin/python bench/bench_llm_servers.py --requests 96 --latency 0.2 --concurrency 4
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from openai_server import OpenAIServer, adjustment_reply, closed_port_url, sleep_each  # noqa: E402


def requests(n: int) -> list:
    from trendcast.agent.adjusters.llm_request import adjustment_request

    return [adjustment_request([{"role": "user", "content": f"How will series {k} trend? Evidence ids you may "
                                                            "cite: D1"}], ["D1"], min_pct=-50, max_pct=50,
                               flat_band_pct=1.0, prompt_id="bench@1", tag=f"S{k}") for k in range(n)]


def reply(body: dict, i: int) -> str:
    """Deterministic in the request: the change is derived from the prompt's text."""
    return adjustment_reply(body, change_pct=float(len(body["messages"][-1]["content"]) % 11) - 5.0)


def run(urls: list[str], n: int, concurrency: int) -> tuple[float, float, list]:
    from trendcast.agent.llm import LLMClient
    from trendcast.agent.settings import LLMSettings

    client = LLMClient(LLMSettings(url=",".join(urls), model="test-model", concurrency=concurrency,
                                   use_cache=False, timeout_s=30.0, budget_s=120.0, cooldown_s=600.0), None)
    started, cpu = time.perf_counter(), time.process_time()
    results = client.run(requests(n))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    bad = [r.error for r in results if not r.ok]
    if bad:
        raise SystemExit(f"{len(bad)} of {n} requests failed: {bad[0]}")
    return wall, cpu, [r.value.model_dump() for r in results]


def serve(latency: float, conn) -> None:
    """A test server in its own process (as real servers are: the client's threads do not share its interpreter)."""
    server = OpenAIServer(sleep_each(latency, reply)).start()
    conn.send(server.url)
    conn.recv()  # until told to stop
    server.stop()


def start_servers(k: int, latency: float) -> list:
    out = []
    for _ in range(k):
        here, there = mp.Pipe()
        proc = mp.Process(target=serve, args=(latency, there), daemon=True)
        proc.start()
        out.append((proc, here, here.recv()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=96)
    ap.add_argument("--latency", type=float, default=0.2, help="seconds each server takes per request")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight on each server")
    ap.add_argument("--servers", default="1,2,4")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each row; the fastest is shown (a shared machine)")
    args = ap.parse_args()
    counts = [int(x) for x in args.servers.split(",")]
    servers = start_servers(max(counts), args.latency)
    try:
        urls = [url for _, _, url in servers]
        run(urls[:1], args.concurrency, args.concurrency)  # warm-up: imports, first connections
        rows, reference, base = [], None, None
        top, c = max(counts), args.concurrency
        cases = [(k, urls[:k], c, "") for k in counts]
        if top > 1:  # the same number of servers, one of them a port with nothing listening; and, as the control,
            # one server taking as many at a time as all of them together (what the machine itself allows)
            cases += [(top, urls[:top - 1] + [closed_port_url()], c, "1 dead"), (1, urls[:1], c * top, "control")]
        for k, group, conc, note in cases:
            wall, cpu, values = min(run(group, args.requests, conc) for _ in range(args.repeat))
            if reference is None:
                reference = values
            assert values == reference, "replies differ from the one-server run's"
            rate = args.requests / wall
            base = base or rate
            rows.append((f"{k}" + (f" ({note})" if note else ""), conc, args.requests, wall, cpu, rate, rate / base))
    finally:
        for proc, conn, _ in servers:
            conn.send("stop")
            proc.join(5)
    table = Table(title=f"LLMClient over test servers, {args.latency * 1000:.0f} ms a request (best of {args.repeat})",
                  box=box.MARKDOWN)
    for col in ("servers", "concurrency each", "requests", "wall s", "client CPU s", "req/s", "ratio to 1 server"):
        table.add_column(col, justify="right")
    for name, c, n, wall, cpu, rate, ratio in rows:
        table.add_row(name, str(c), str(n), f"{wall:.2f}", f"{cpu:.2f}", f"{rate:.1f}", f"{ratio:.2f}")
    Console(width=120).print(table)
    ideal = 1 / args.latency * args.concurrency
    print(f"ideal: {ideal:.1f} req/s a server ({args.concurrency} in flight / {args.latency:g} s); replies identical "
          "to the one-server run's in every row")


if __name__ == "__main__":
    main()
