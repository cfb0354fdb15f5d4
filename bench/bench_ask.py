"""How long `trendcast ask` takes in a fresh process, LLM excluded (analog adjuster), on the demo workspace.

    python bench/bench_ask.py [--home .trendcast-demo] [--runs 5]

Rows: the reference (a fresh `python -c pass`, then `trendcast --help`), `ask` with the baseline cache warm (the
steady state: a workspace whose questions were asked before or whose report ran), and `ask` with the baseline cache
cleared first (fits StatsForecast, imports statsmodels). Target: warm ask median < 2 s.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

QUESTION = "how will clothing stores trend next month?"


def timed(cmd: list[str], env: dict, before=None) -> float:
    if before:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path(".trendcast-demo"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRENDCAST_HOME": str(args.home)}
    env.pop("TRENDCAST_LLM_URL", None)
    exe = [sys.executable, "-m", "trendcast"]
    if not (args.home / "index" / "manifest.json").exists():
        print(f"building the demo workspace in {args.home} (once) ...")
        subprocess.run(exe + ["demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    ask = exe + ["ask", QUESTION, "--as-of", "2020-03-31", "--adjuster", "analog", "--json"]
    cache = args.home / "baselines.sqlite"
    rows = {
        "python -c pass": lambda: timed([sys.executable, "-c", "pass"], env),
        "trendcast --help": lambda: timed(exe + ["--help"], env),
        "ask (baseline cache warm)": lambda: timed(ask, env),
        "ask (baseline cache cleared)": lambda: timed(ask, env, before=lambda: cache.unlink(missing_ok=True)),
    }
    timed(ask, env)  # warm the OS file cache and the baseline cache once
    results = {name: [fn() for _ in range(args.runs)] for name, fn in rows.items()}
    ref = statistics.median(results["trendcast --help"])
    t = Table(title=f"fresh-process wall time, {args.runs} runs each (LLM excluded)")
    for col in ("command", "median s", "min s", "max s", "× trendcast --help"):
        t.add_column(col, justify="left" if col == "command" else "right")
    for name, xs in results.items():
        med = statistics.median(xs)
        t.add_row(name, f"{med:.2f}", f"{min(xs):.2f}", f"{max(xs):.2f}", f"{med / ref:.1f}")
    Console().print(t)
    warm = statistics.median(results["ask (baseline cache warm)"])
    print(f"target: warm ask median < 2 s — {'met' if warm < 2 else 'NOT met'} ({warm:.2f} s)")


if __name__ == "__main__":
    main()
