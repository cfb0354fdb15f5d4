"""The DuckDB sales store: transactions, the situation cache, sharing the file between processes."""
from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pandas as pd
import pytest

from conftest import MRTS_FILE
from trendcast.forecasting import SalesMapping, SalesStore, ingest_sales, read_sales

MRTS = SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                    where={"adjustment": "NSA"}, code_hierarchy=True)


@pytest.fixture
def store(home) -> SalesStore:
    store = SalesStore(home / "sales.duckdb")
    ingest_sales(store, MRTS_FILE, MRTS)
    return store


def test_failed_replace_rolls_back_everything(store):
    sales, series, _ = read_sales(MRTS_FILE, MRTS)
    before = (len(store.panel()), len(store.series()), store.datasets()["ingested_at"].tolist())
    broken = sales.copy()
    broken.loc[len(broken) - 1, "y"] = None  # violates NOT NULL on the last row: after the deletes ran
    with pytest.raises(duckdb.ConstraintException):
        store.replace_dataset("mrts_sales_by_kind_of_business_long", broken, series, {"n_rows": len(broken)})
    assert (len(store.panel()), len(store.series()), store.datasets()["ingested_at"].tolist()) == before


def test_history_and_panel_filters(store):
    hist = store.history("4481", end="2019-12-31")
    assert hist["ds"].iloc[-1] == pd.Timestamp("2019-12-01") and hist["ds"].dtype == "datetime64[ns]"
    panel = store.panel(["4481", "448"], end=pd.Timestamp("2000-01-01"))
    assert sorted(panel["unique_id"].unique()) == ["448", "4481"]
    assert panel["ds"].max() == pd.Timestamp("2000-01-01") and len(panel) == 2 * 97
    assert store.history("no-such-series").empty


def test_situation_cache_round_trip(store):
    rows = pd.DataFrame({
        "unique_id": ["4481", "4481"],
        "origin": pd.to_datetime(["2019-11-30", "2019-12-31"]),
        "period_start": pd.to_datetime(["2019-12-01", "2020-01-01"]),
        "period_end": pd.to_datetime(["2019-12-31", "2020-01-31"]),
        "baseline": [23875.3, 12140.3],
        "actual": [24357.0, 12287.0],
    })
    store.put_situations(rows, "next-month", "AutoETS", {"4481": "h1"})
    store.put_situations(rows, "next-month", "AutoETS", {"4481": "h1"})  # replaces, no duplicates
    got = store.get_situations("next-month", "AutoETS", {"4481": "h1"})
    pd.testing.assert_frame_equal(got, rows)
    assert store.get_situations("next-month", "AutoETS", {"4481": "other-data"}).empty
    assert store.get_situations("next-quarter", "AutoETS", {"4481": "h1"}).empty


def test_readers_share_the_file_and_a_writer_waits_for_them(store):
    """Another process holds a read-only connection: we can read at the same time; a write waits until it closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True);"
         " time.sleep(2.0); c.close()", str(store.path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert len(store.series()) == 65  # concurrent read-only use
        started = time.monotonic()
        summary = ingest_sales(store, MRTS_FILE, MRTS)  # write: retries on the lock until the reader is gone
        assert summary.series == 65 and time.monotonic() - started > 0.5
    finally:
        holder.wait(timeout=30)
