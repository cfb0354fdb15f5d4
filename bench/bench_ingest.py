"""How long `trendcast ingest sales` takes on the Walmart store x department file (421,570 weekly rows, 45 stores x
3,331 departments, the hierarchy Total / Store / Dept built), in a fresh process on a fresh workspace.

    python bench/bench_ingest.py [--data ../shared/data] [--runs 3]

Rows: the reference, a fresh process that only reads the same gzipped CSV with pandas (what any ingest must do at
least), and `trendcast ingest sales ... --levels Store,Dept`. Wall and CPU time of each process. Target: the ingest
under 60 s on 2 cores (the tests check what it stores: tests/test_forecasting_ingest.py, tests/test_ask_cli.py).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, CPU s) of one fresh process, which must succeed."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (now.ru_utime - used.ru_utime) + (now.ru_stime - used.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    path = args.data / "walmart" / "train.csv.gz"
    if not path.exists():
        raise SystemExit(f"needs {path} (the real data beside the checkout)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("TRENDCAST_HOME", None)
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))

    def ingest() -> tuple[float, float]:
        home = scratch / "home"
        shutil.rmtree(home, ignore_errors=True)  # a fresh workspace each run
        return timed([sys.executable, "-m", "trendcast", "--home", str(home), "ingest", "sales", str(path), "--date",
                      "Date", "--value", "Weekly_Sales", "--levels", "Store,Dept"], env)

    rows = {
        "read the CSV with pandas (reference)": lambda: timed(
            [sys.executable, "-c", "import pandas, sys; pandas.read_csv(sys.argv[1])", str(path)], env),
        "trendcast ingest sales --levels Store,Dept": ingest,
    }
    try:
        results = {name: [fn() for _ in range(args.runs)] for name, fn in rows.items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ref = statistics.median(w for w, _ in results["read the CSV with pandas (reference)"])
    t = Table(title=f"Walmart train.csv.gz (421,570 rows), fresh processes, {args.runs} runs each")
    for col in ("run", "median s", "min s", "max s", "× reference", "CPU median s"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for name, runs in results.items():
        xs = [w for w, _ in runs]
        med = statistics.median(xs)
        t.add_row(name, f"{med:.2f}", f"{min(xs):.2f}", f"{max(xs):.2f}", f"{med / ref:.1f}",
                  f"{statistics.median(c for _, c in runs):.2f}")
    Console(width=120).print(t)
    wall = statistics.median(w for w, _ in results["trendcast ingest sales --levels Store,Dept"])
    print(f"target: ingest < 60 s — {'met' if wall < 60 else 'NOT met'} ({wall:.1f} s)")


if __name__ == "__main__":
    main()
