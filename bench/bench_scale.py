"""Bulk baselines at scale: eval's blocked cross_validation (eval.cells.compute_baselines) on the local process pool
and on a distributed engine (forecasting.distributed), on the same machine, plus a paper projection for M5.

    python bench/bench_scale.py [--engines local,dask] [--workers 2] [--mrts-origins 6] [--walmart-origins 2]
                                [--walmart-series 0] [--skip-walmart]

Workloads (real data, sales only, ingested into a temp store):
- MRTS: the mrts-nsa suite's series (3- and 4-digit NAICS, bundled file) x the first N of its monthly origins
  2018-01.., its four models, refit every 6 origins, 120-month window;
- Walmart: every store x department series of ../shared/data/walmart/train.csv.gz (3,331; those with a gap before
  an origin cannot be scored and are left out, counted) x the last N four-weekly origins up to 2012-09-28, next 4
  weeks, the walmart suites' three models (AutoETS, AutoTheta, SeasonalNaive), one fit per series.
Each row: wall time (the engine's start included: a run pays it), CPU time of this process and every process it
started (pool workers reaped by then, engine workers still alive), peak RSS of the whole process tree (sampled
every 0.2 s), and wall time as a ratio to local with the same workers. The M5 projection times the bulk baseline of
the 10 real FOODS_3_819 item x store daily series (../shared/data/m5), one origin, next month, locally, and scales
its CPU per series to 30,490 series over W workers, assuming: cost grows linearly in series (each series is fitted
on its own), the train window (not the history length) bounds a fit, perfect packing over workers, and the engine's
fixed start and shuffle costs measured here are negligible at that size.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
M5_SERIES = 30_490


class Meter:
    """Wall, CPU (self + children) and peak RSS of the process tree over a `with` block."""

    def __init__(self):
        import psutil

        self.me = psutil.Process()
        self.peak, self.cpu_live, self._stop = 0, None, threading.Event()

    def _tree_rss(self) -> int:
        total = 0
        for p in [self.me, *self.me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # a pool worker that just exited
                pass
        return total

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            self._stop.wait(0.2)

    def __enter__(self):
        self.t0, self.times0 = time.perf_counter(), os.times()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def snapshot(self) -> None:
        """Call at the end of the work, while an engine's workers still live: their CPU is counted here."""
        t = os.times()
        live = 0.0
        for p in self.me.children(recursive=True):
            try:
                c = p.cpu_times()
                live += c.user + c.system
            except Exception:
                pass
        self.wall = time.perf_counter() - self.t0
        self.cpu = sum(t[:4]) - sum(self.times0[:4]) + live

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def measure(panel, grid, suite, freq, engine: str, workers: int) -> dict:
    from trendcast.eval.cells import compute_baselines
    from trendcast.forecasting.distributed import engine_session

    suite = suite.model_copy(update={"n_jobs": workers})
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as parts, Meter() as m:
        with engine_session(engine, None, workers) as session:
            base = compute_baselines(panel, grid, suite, freq, Path(parts), session=session)
            m.snapshot()
    assert len(base) == len(grid) and base["combined:total"].notna().all()
    return {"wall": m.wall, "cpu": m.cpu, "peak": m.peak / 2**20, "base": base}


def ingest(store_path: Path, path: Path, mapping) -> "object":
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.store import SalesStore

    store = SalesStore(store_path)
    ingest_sales(store, path, mapping)
    return store


def mrts_workload(tmp: Path, n_origins: int):
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.eval.cells import plan_grid, select_series
    from trendcast.eval.suite import load_suite

    store = ingest(tmp / "mrts.duckdb", REPO / "agent" / "data" / "mrts_sales_by_kind_of_business_long.csv.gz",
                   mrts_mapping())
    suite = load_suite("mrts-nsa")
    series = select_series(store.series(), suite)
    freq = str(series["freq"].iloc[0])
    panel = store.panel(series["unique_id"].tolist())
    origins = suite.origins.dates(freq)[:n_origins]
    grid, excluded = plan_grid(panel, freq, origins, suite.horizon, 25)
    return "MRTS NSA (mrts-nsa)", panel, grid, suite, freq, len(excluded)


def walmart_workload(tmp: Path, n_origins: int, n_series: int):
    from trendcast.eval.cells import plan_grid
    from trendcast.eval.suite import Suite
    from trendcast.forecasting.ingest import SalesMapping

    store = ingest(tmp / "walmart.duckdb", SHARED / "walmart" / "train.csv.gz",
                   SalesMapping(date="Date", value="Weekly_Sales", levels=["Store", "Dept"], dataset="walmart"))
    series = store.series()
    series = series[series["level"] == "Dept"]  # the leaves Store=s/Dept=d (levels Total, Store, Dept)
    ids = series["unique_id"].tolist()
    ids = ids[:n_series] if n_series else ids
    panel = store.panel(ids)
    freq = str(store.series().set_index("unique_id").loc[ids[0], "freq"])
    last = pd.Timestamp("2012-09-28")
    origins = sorted((last - pd.Timedelta(weeks=4 * i)).date() for i in range(n_origins))
    grid, excluded = plan_grid(panel, freq, origins, "next-4-weeks", 2 * 52 + 1)
    suite = Suite.model_validate({
        "name": "bench-walmart", "origins": {"start": origins[0].isoformat(), "end": origins[-1].isoformat(),
                                             "step": 4},
        "horizon": "next-4-weeks", "baseline": {"models": ["AutoETS", "AutoTheta", "SeasonalNaive"],
                                                "refit_every": n_origins}, "variants": [{"name": "combined"}]})
    return f"Walmart store x dept ({len(ids)} series)", panel, grid, suite, freq, len(excluded)


def m5_projection(tmp: Path) -> dict:
    from trendcast.eval.cells import plan_grid
    from trendcast.eval.suite import Suite
    from trendcast.forecasting.ingest import SalesMapping

    store = ingest(tmp / "m5.duckdb", SHARED / "m5" / "m04_sales_data_prepared.csv",
                   SalesMapping(date="ds", value="y", levels=["store_id"], dataset="m5"))
    series = store.series()
    ids = series[series["level"] == "store_id"]["unique_id"].tolist()
    panel = store.panel(ids)
    freq = str(series.set_index("unique_id").loc[ids[0], "freq"])
    origin = dt.date(2016, 3, 31)
    grid, _ = plan_grid(panel, freq, [origin], "next-month", 2 * 7 + 1)
    suite = Suite.model_validate({"name": "bench-m5", "origins": {"start": "2016-03-31", "end": "2016-03-31"},
                                  "baseline": {"models": ["AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"]},
                                  "variants": [{"name": "combined"}], "n_jobs": 1})
    r = measure(panel, grid, suite, freq, "local", 1)
    return {"series": grid["unique_id"].nunique(), "cpu_per_series": r["cpu"] / grid["unique_id"].nunique(),
            "wall": r["wall"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="local,dask")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mrts-origins", type=int, default=6)
    ap.add_argument("--walmart-origins", type=int, default=2)
    ap.add_argument("--walmart-series", type=int, default=0, help="the first N series only (0: all 3,331)")
    ap.add_argument("--skip-walmart", action="store_true")
    ap.add_argument("--project-workers", default="1,2,16,64,256")
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    workloads = [mrts_workload(tmp, args.mrts_origins)]
    if not args.skip_walmart and (SHARED / "walmart" / "train.csv.gz").is_file():
        workloads.append(walmart_workload(tmp, args.walmart_origins, args.walmart_series))
    table = Table(title=f"bulk baselines (eval.cells.compute_baselines), {os.cpu_count()} CPUs, {dt.date.today()}")
    for col in ("workload", "series x origins", "engine", "workers", "wall s", "CPU s", "peak RSS MiB",
                "wall / local"):
        table.add_column(col, justify="right" if col not in ("workload", "engine") else "left")
    for name, panel, grid, suite, freq, left_out in workloads:
        shape = f"{grid['unique_id'].nunique()} x {grid['origin'].nunique()}" + (
            f" ({left_out} left out)" if left_out else "")
        local, first = None, None
        for engine in engines:
            r = measure(panel, grid, suite, freq, engine, args.workers)
            if first is None:
                first = r["base"]
            else:  # the engines agree: same baselines
                key = ["unique_id", "origin"]
                a, b = (x.sort_values(key, ignore_index=True)["combined:total"] for x in (first, r["base"]))
                assert (abs(a - b) <= 1e-6 * abs(a).clip(lower=1)).all(), f"{engine} differs from {engines[0]}"
            local = r["wall"] if engine == "local" else local
            ratio = f"{r['wall'] / local:.2f}" if local else "n/a"
            table.add_row(name, shape, engine, str(args.workers), f"{r['wall']:.1f}", f"{r['cpu']:.1f}",
                          f"{r['peak']:.0f}", ratio)
            Console().print(f"{name} {engine}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU", style="dim")
    Console().print(table)
    if (SHARED / "m5" / "m04_sales_data_prepared.csv").is_file():
        p = m5_projection(tmp)
        proj = Table(title=f"paper projection: {M5_SERIES:,} M5-sized daily series, one origin, next month")
        for col in ("workers", "CPU h", "wall h (perfect packing)"):
            proj.add_column(col, justify="right")
        total = p["cpu_per_series"] * M5_SERIES
        for w in (int(x) for x in args.project_workers.split(",")):
            proj.add_row(str(w), f"{total / 3600:.2f}", f"{total / w / 3600:.2f}")
        Console().print(proj)
        Console().print(f"measured: {p['series']} real M5 item x store daily series (FOODS_3_819), 4 models, one "
                        f"origin (2016-03-31), local, 1 worker: {p['cpu_per_series']:.2f} CPU s per series")


if __name__ == "__main__":
    main()
