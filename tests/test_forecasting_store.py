"""The DuckDB sales store: transactions, the situation cache, sharing the file between processes."""
from __future__ import annotations

import subprocess
import sys
import threading

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


@pytest.mark.timeout(120)
def test_readers_share_the_file_and_a_writer_waits_for_them(store, monkeypatch):
    """Another process holds a read-only connection: we can read at the same time; a write waits until it closes.
    The order of events shows the wait: the write is refused the lock (a spy on the store's retry predicate), is
    still running, the reader closes after that (told to by the test), and then the write succeeds."""
    import trendcast.common.stores as stores

    refused = threading.Event()
    real = stores.is_lock_conflict
    monkeypatch.setattr(stores, "is_lock_conflict", lambda exc: real(exc) and (refused.set() or True))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True);"
         " sys.stdin.readline(); c.close(); print('closed', flush=True)", str(store.path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    done: dict = {}

    def write() -> None:
        try:
            done["summary"] = ingest_sales(store, MRTS_FILE, MRTS)
        except BaseException as exc:  # noqa: BLE001 - reported below
            done["error"] = exc

    writer = threading.Thread(target=write, daemon=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert len(store.series()) == 65  # concurrent read-only use
        writer.start()  # write: retries on the lock until the reader is gone (for up to the store's 10 s)
        assert refused.wait(8.0), "the write was never refused the lock"
        assert writer.is_alive() and not done, done  # waiting, not done
    finally:
        holder.stdin.write("close\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "closed"
        holder.wait(timeout=30)
    writer.join(60)
    assert "error" not in done, done["error"]
    assert done["summary"].series == 65
