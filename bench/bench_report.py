"""Wall time of `trendcast report` over the MRTS 3- and 4-digit NSA categories as of 2020-03-31 (issue target: a cold
workspace with a zero-latency LLM server completes in < 60 s on 2 cores).

    python bench/bench_report.py [--demo-home .trendcast-demo]

Each row runs in a fresh copy of the demo workspace (built once if missing), so "cold" means no baseline, backtest
or LLM cache. The reference row is one cold `ask` for a single category in the same run; the ratio shows what the
batch costs per category relative to asking one by one. Two more rows run in the workspace of the cold LLM row (its
statistics cached) against new servers (no cached reply: the server's URL is part of the cache key), one answering
at once and one after 1 s per request, both at --concurrency 16: their difference is what the LLM's latency adds
(n requests one at a time would add n seconds; tests/test_report_e2e.py checks that 16 are in flight at once).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from openai_server import OpenAIServer, sleep_each, valid_adjustment  # noqa: E402  (the real local OpenAI server)

ARGS = ["--as-of", "2020-03-31", "--level", "3-digit,4-digit", "--quiet"]


def fresh_copy(src: Path) -> Path:
    dst = Path(tempfile.mkdtemp(prefix="bench-report-")) / "home"
    shutil.copytree(src, dst)
    return dst


def run(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo-home", type=Path, default=Path(".trendcast-demo"))
    args = ap.parse_args()
    base_env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for var in ("TRENDCAST_LLM_URL", "TRENDCAST_LLM_MODEL", "TRENDCAST_HOME"):
        base_env.pop(var, None)
    exe = [sys.executable, "-m", "trendcast"]
    if not (args.demo_home / "index" / "manifest.json").exists():
        print(f"building the demo workspace in {args.demo_home} (once) ...")
        subprocess.run(exe + ["--home", str(args.demo_home), "demo"], env=base_env, check=True,
                       stdout=subprocess.DEVNULL)
    rows = []
    home = fresh_copy(args.demo_home)
    rows.append(("ask, 1 category, cold (reference)", 1, run(exe + ["--home", str(home), "ask", "furniture stores",
                                                                   "--as-of", "2020-03-31", "--json"], base_env)))
    with OpenAIServer(valid_adjustment(change_pct=-5.0)) as server:
        env = {**base_env, "TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": server.model}
        home = fresh_copy(args.demo_home)
        out = home.parent / "reports"
        cold = run(exe + ["--home", str(home), "report", "--out", str(out), "--adjuster", "llm", *ARGS], env)
        n = len(server.chat_bodies)
        rows.append(("report, llm (zero-latency server), cold", n, cold))
        rows.append(("report, same inputs again (all cached)", n,
                     run(exe + ["--home", str(home), "report", "--out", str(out), "--adjuster", "llm", *ARGS], env)))
    latency = {}
    for name, responder in (("zero-latency", valid_adjustment(change_pct=-5.0)),
                            ("1 s per request", sleep_each(1.0, valid_adjustment(change_pct=-5.0)))):
        with OpenAIServer(responder) as server:
            env = {**base_env, "TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": server.model}
            latency[name] = run(exe + ["--home", str(home), "report", "--out", str(home.parent / name), "--adjuster",
                                       "llm", "--concurrency", "16", *ARGS], env)
            assert len(server.chat_bodies) == n, (name, len(server.chat_bodies), n)
        rows.append((f"report, statistics cached, {name} LLM, concurrency 16", n, latency[name]))
    home = fresh_copy(args.demo_home)
    rows.append(("report, analog, cold", n, run(exe + ["--home", str(home), "report", "--out",
                                                       str(home.parent / "r2"), "--adjuster", "analog", *ARGS],
                                                 base_env)))
    ref = rows[0][2]
    t = Table(title="trendcast report, MRTS 3/4-digit NSA as of 2020-03-31 (fresh processes)")
    for col in ("run", "categories", "wall s", "s / category", "× reference"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for name, k, wall in rows:
        t.add_row(name, str(k), f"{wall:.1f}", f"{wall / k:.2f}", f"{wall / ref:.1f}")
    Console().print(t)
    print(f"target: cold report with the LLM server < 60 s — {'met' if cold < 60 else 'NOT met'} ({cold:.1f} s)")
    added = latency["1 s per request"] - latency["zero-latency"]
    print(f"1 s per LLM request added {added:.1f} s for {n} requests at concurrency 16 ({n} s one at a time; "
          f"ideal {-(-n // 16)} s)")


if __name__ == "__main__":
    main()
