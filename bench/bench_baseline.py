"""How much does `forecast_period` cost on top of calling StatsForecast directly?

On the same real MRTS series (NSA, monthly), the same models, season length, levels, fallback and training window,
times (a) StatsForecast(...).forecast(...) on the windowed history and (b) forecasting.forecast_period(...), one
series at a time (that is how the CLI forecasts), interleaved, several rounds, in wall and process CPU time
(CPU time is not inflated by other processes on a shared machine). Target: ours / direct <= 1.10.
About 1 s per call on an idle core: 20 series x 2 rounds x 2 ≈ 80 s; --max-seconds caps the run.

    python bench/bench_baseline.py --series 20 --repeats 2
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from statsforecast import StatsForecast
from statsforecast.models import SeasonalNaive

from trendcast.forecasting import DEFAULT_MODELS, SalesMapping, forecast_period, read_sales, resolve_period
from trendcast.forecasting.models import MODELS

REPO = Path(__file__).resolve().parents[1]
MRTS = SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                    where={"adjustment": "NSA"}, code_hierarchy=True)


def pick_series(sales: pd.DataFrame, as_of: date, n: int, window: int) -> dict[str, pd.DataFrame]:
    """The first `n` series (by id) with `window` complete months up to as-of and a value after it."""
    out = {}
    for uid, g in sales.groupby("unique_id", sort=True):
        hist = g[["ds", "y"]].reset_index(drop=True)
        upto = hist[hist["ds"] <= pd.Timestamp(as_of)]
        months = pd.date_range(end=upto["ds"].max(), periods=window, freq="MS")
        if upto["ds"].isin(months).sum() == window and hist["ds"].max() > pd.Timestamp(as_of):
            out[uid] = hist
        if len(out) == n:
            break
    return out


def direct(hist: pd.DataFrame, as_of: date, window: int, h: int) -> float:
    """What a user would write with StatsForecast alone, and the same median combination of the point."""
    df = hist[hist["ds"] <= pd.Timestamp(as_of)].tail(window).assign(unique_id="s")
    sf = StatsForecast(models=[MODELS[m](12) for m in DEFAULT_MODELS], freq="MS", n_jobs=1,
                       fallback_model=SeasonalNaive(season_length=12))
    fc = sf.forecast(df=df, h=h, level=[80, 95])
    return float(np.median(fc[list(DEFAULT_MODELS)].to_numpy()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO / "agent" / "data" / "mrts_sales_by_kind_of_business_long.csv.gz")
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2019, 12, 31))
    parser.add_argument("--window", type=int, default=120)
    parser.add_argument("--max-seconds", type=float, default=100.0, help="stop starting new series after this")
    args = parser.parse_args()

    sales, _, _ = read_sales(args.data, MRTS)
    series = pick_series(sales, args.as_of, args.series, args.window)
    period = resolve_period("next-month", args.as_of, "MS")
    console = Console()
    console.print(f"{len(series)} MRTS NSA series, as of {args.as_of}, period {period.label}, "
                  f"models {', '.join(DEFAULT_MODELS)}, window {args.window}, levels 80/95")

    warm = next(iter(series.values()))  # first calls load compiled code: keep them out of the timings
    direct(warm, args.as_of, args.window, 1)
    forecast_period(warm, "MS", period, as_of=args.as_of, train_window=args.window)

    table = Table(title="forecast_period vs StatsForecast direct (seconds summed over series)")
    for col in ("round", "series", "direct wall", "ours wall", "ratio wall", "direct cpu", "ours cpu", "ratio cpu"):
        table.add_column(col, justify="right")
    totals = np.zeros(4)  # direct wall, ours wall, direct cpu, ours cpu
    max_gap, started, out_of_time = 0.0, time.perf_counter(), False
    for round_no in range(1, args.repeats + 1):
        spent, done = np.zeros(4), 0
        for i, hist in enumerate(series.values()):
            if time.perf_counter() - started > args.max_seconds:
                out_of_time = True
                break
            order = ("direct", "ours") if (i + round_no) % 2 else ("ours", "direct")
            for which in order:
                wall, cpu = time.perf_counter(), time.process_time()
                if which == "direct":
                    point = direct(hist, args.as_of, args.window, 1)
                else:
                    ours = forecast_period(hist, "MS", period, as_of=args.as_of, train_window=args.window).total
                k = 0 if which == "direct" else 1
                spent[k] += time.perf_counter() - wall
                spent[k + 2] += time.process_time() - cpu
            max_gap = max(max_gap, abs(ours - point) / abs(point))
            done += 1
        if done:
            totals += spent
            table.add_row(str(round_no), str(done), *_cells(spent))
        if out_of_time:
            break
    table.add_row("all", "", *_cells(totals))
    console.print(table)
    if out_of_time:
        console.print(f"stopped early: the --max-seconds {args.max_seconds:.0f} budget was spent")
    console.print(f"same forecasts: largest relative difference of the point total {max_gap:.2e}")
    console.print("ratio cpu (process CPU time) is the one to read on a shared machine; target <= 1.10")


def _cells(t: np.ndarray) -> list[str]:
    return [f"{t[0]:.2f}", f"{t[1]:.2f}", f"{t[1] / t[0]:.3f}", f"{t[2]:.2f}", f"{t[3]:.2f}", f"{t[3] / t[2]:.3f}"]


if __name__ == "__main__":
    main()
