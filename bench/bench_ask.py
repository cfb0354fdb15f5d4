"""How long `trendcast ask` takes in a fresh process, LLM excluded (analog adjuster), on the demo workspace.

    python bench/bench_ask.py [--home .trendcast-demo] [--runs 5]

Rows: the reference (a fresh `python -c pass`, then `trendcast --help`), `ask` with the baseline cache warm (the
steady state: a workspace whose questions were asked before or whose report ran), `ask` with the baseline cache
cleared first (fits StatsForecast, imports statsmodels), and `ask` for a category the workspace does not hold (exit
2 with the closest categories: resolution is lexical, the embedding model is never loaded; tests/test_question_suite.py
checks that it is not imported). Wall and CPU time of each process; CPU moves less with the machine's load. Targets:
warm ask median < 2 s; the unresolvable ask about as cheap as `trendcast --help` (under 4 s of CPU).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

QUESTION = "how will clothing stores trend next month?"
UNRESOLVABLE = "how will zeppelin dealers trend next month?"  # no category shares a word: exit 2, closest listed


def timed(cmd: list[str], env: dict, before=None, code: int = 0) -> tuple[float, float]:
    """(wall s, CPU s) of one fresh process, which must exit with `code`."""
    if before:
        before()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = time.perf_counter() - t0
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != code:
        raise SystemExit(f"{' '.join(cmd)} exited {rc}, not {code}")
    return wall, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


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
    unresolvable = exe + ["ask", UNRESOLVABLE, "--as-of", "2020-03-31"]
    cache = args.home / "baselines.sqlite"
    rows = {
        "python -c pass": lambda: timed([sys.executable, "-c", "pass"], env),
        "trendcast --help": lambda: timed(exe + ["--help"], env),
        "ask (baseline cache warm)": lambda: timed(ask, env),
        "ask (baseline cache cleared)": lambda: timed(ask, env, before=lambda: cache.unlink(missing_ok=True)),
        "ask, no such category (exit 2)": lambda: timed(unresolvable, env, code=2),
    }
    timed(ask, env)  # warm the OS file cache and the baseline cache once
    results = {name: [fn() for _ in range(args.runs)] for name, fn in rows.items()}
    ref = statistics.median(w for w, _ in results["trendcast --help"])
    ref_cpu = statistics.median(c for _, c in results["trendcast --help"])
    t = Table(title=f"fresh-process wall and CPU time, {args.runs} runs each (LLM excluded)")
    for col in ("command", "median s", "min s", "max s", "× trendcast --help", "CPU median s", "CPU × --help"):
        t.add_column(col, justify="left" if col == "command" else "right")
    for name, runs in results.items():
        xs, cpu = [w for w, _ in runs], statistics.median(c for _, c in runs)
        med = statistics.median(xs)
        t.add_row(name, f"{med:.2f}", f"{min(xs):.2f}", f"{max(xs):.2f}", f"{med / ref:.1f}", f"{cpu:.2f}",
                  f"{cpu / ref_cpu:.1f}")
    Console().print(t)
    warm = statistics.median(w for w, _ in results["ask (baseline cache warm)"])
    print(f"target: warm ask median < 2 s — {'met' if warm < 2 else 'NOT met'} ({warm:.2f} s)")
    cpu = statistics.median(c for _, c in results["ask, no such category (exit 2)"])
    print(f"target: unresolvable ask < 4 s of CPU — {'met' if cpu < 4 else 'NOT met'} ({cpu:.2f} s, "
          f"{cpu / ref_cpu:.1f}× trendcast --help)")


if __name__ == "__main__":
    main()
