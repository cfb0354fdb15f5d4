"""Why eval computes baselines in bulk: per-cell `forecast_period` (what `ask --as-of` does) against eval's blocked
cross-validation, on the same MRTS NSA cells, as a ratio measured in one run.

    python bench/bench_eval.py [--series 6] [--origins 12] [--refit-every 6]

Rows: seconds per (series, origin) cell for each way, and the ratio. A workspace is built in a temp folder from the
bundled data (sales only; no documents needed). Both use the suite's four models and a 120-month window; the
blocked run is single-process (n_jobs=1) so that the ratio is about the method, not the cores.
"""
from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MODELS = ["AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=6)
    ap.add_argument("--origins", type=int, default=12)
    ap.add_argument("--refit-every", type=int, default=6)
    args = ap.parse_args()

    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.eval.cells import compute_baselines, plan_grid
    from trendcast.eval.suite import Suite
    from trendcast.forecasting.baseline import forecast_period
    from trendcast.forecasting.ingest import ingest_sales
    from trendcast.forecasting.periods import resolve_period
    from trendcast.forecasting.store import SalesStore

    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    store = SalesStore(tmp / "sales.duckdb")
    ingest_sales(store, REPO / "agent" / "data" / "mrts_sales_by_kind_of_business_long.csv.gz", mrts_mapping())
    series = store.series()
    ids = series[series["level"] == "3-digit"]["unique_id"].head(args.series).tolist()
    origins = [(pd.Timestamp("2018-12-31") + pd.offsets.MonthEnd(i)).date() for i in range(args.origins)]
    panel = store.panel(ids)

    t0 = time.perf_counter()
    for uid in ids:
        history = store.history(uid)
        for o in origins:
            forecast_period(history, "MS", resolve_period("next-month", o, "MS"), as_of=o, models=MODELS,
                            train_window=120)
    per_cell = (time.perf_counter() - t0) / (len(ids) * len(origins))

    suite = Suite.model_validate({
        "name": "bench", "origins": {"start": origins[0].isoformat(), "end": origins[-1].isoformat()},
        "baseline": {"models": MODELS, "refit_every": args.refit_every, "train_window": 120}, "n_jobs": 1,
        "variants": [{"name": "combined"}]})
    t0 = time.perf_counter()
    grid, _ = plan_grid(panel, "MS", origins, "next-month", 25)
    compute_baselines(panel, grid, suite, "MS", tmp / "parts")
    bulk = (time.perf_counter() - t0) / len(grid)

    table = Table(title=f"{len(ids)} series x {len(origins)} origins, {dt.date.today()}")
    for col in ("way", "s / cell", "ratio"):
        table.add_column(col)
    table.add_row("forecast_period per cell", f"{per_cell:.3f}", "1.00")
    table.add_row(f"blocked cross_validation (refit every {args.refit_every})", f"{bulk:.3f}",
                  f"{bulk / per_cell:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
