"""The sales store: one DuckDB file with the tables `series`, `sales`, `datasets` and `situations`.

Nothing is held between calls, so that several processes can share the file: each call attaches the file for that
one operation to a per-process in-memory DuckDB (about 1 ms, where a fresh `duckdb.connect` costs 15) — read-only for
reads (many readers at once), read-write for one transaction for writes. While another process holds a conflicting
lock the call retries for up to `lock_timeout_s` seconds, then raises StoreBusyError (one line, exit 2). Read-only
use of a store whose file does not exist creates nothing and sees empty tables.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import duckdb
import pandas as pd

from trendcast.common.stores import attached, make_folder
from trendcast.forecasting.errors import InputError

# what to do about a damaged sales.duckdb (common.stores.StoreError)
SALES_FIX = ("move it aside and ingest the sales files again (`trendcast ingest sales FILE`; `trendcast demo` "
             "rebuilds the demo workspace)")

SERIES_COLUMNS = ["unique_id", "name", "code", "level", "depth", "parent_id", "freq", "dataset", "start", "end", "n_obs"]
SITUATION_COLUMNS = ["unique_id", "origin", "period_start", "period_end", "baseline", "actual"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    unique_id VARCHAR PRIMARY KEY, name VARCHAR, code VARCHAR, level VARCHAR, depth INTEGER, parent_id VARCHAR,
    freq VARCHAR, dataset VARCHAR, start DATE, "end" DATE, n_obs INTEGER);
CREATE TABLE IF NOT EXISTS sales (unique_id VARCHAR NOT NULL, ds DATE NOT NULL, y DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY, file VARCHAR, file_hash VARCHAR, mapping_json VARCHAR, ingested_at TIMESTAMP,
    n_rows BIGINT);
CREATE TABLE IF NOT EXISTS situations (
    unique_id VARCHAR, origin DATE, horizon VARCHAR, model VARCHAR, data_hash VARCHAR, period_start DATE,
    period_end DATE, baseline DOUBLE, actual DOUBLE, PRIMARY KEY (unique_id, origin, horizon, model, data_hash));
"""
_DATE_COLUMNS = ("ds", "start", "end", "origin", "period_start", "period_end", "ingested_at")



class SalesStore:
    """Sales series in `path` (a DuckDB file, created with its folders on the first write)."""

    def __init__(self, path: str | Path, lock_timeout_s: float = 10.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    # -- connections -------------------------------------------------------------------------------------------
    def _query(self, sql: str, params: list | None = None, empty_columns: list[str] | None = None) -> pd.DataFrame:
        """Run one read query on a read-only attachment; an absent file or table reads as an empty frame."""
        if not self.path.exists():
            return _typed(pd.DataFrame(columns=empty_columns or []))
        with attached(self.path, True, self.lock_timeout_s, "sales", SALES_FIX) as con:
            try:
                return _typed(con.execute(sql, params or []).df())
            except duckdb.CatalogException:
                return _typed(pd.DataFrame(columns=empty_columns or []))

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        make_folder(self.path, SALES_FIX)
        with attached(self.path, False, self.lock_timeout_s, "sales", SALES_FIX) as con:
            con.execute(_SCHEMA)
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # a COMMIT that failed (its log could not be written) has rolled back
                    pass
                raise

    # -- reads -------------------------------------------------------------------------------------------------
    def series(self) -> pd.DataFrame:
        """One row per series: SERIES_COLUMNS (start/end as Timestamps)."""
        cols = ", ".join(f'"{c}"' for c in SERIES_COLUMNS)
        return self._query(f"SELECT {cols} FROM series ORDER BY dataset, depth, unique_id", empty_columns=SERIES_COLUMNS)

    def datasets(self) -> pd.DataFrame:
        cols = ["name", "file", "file_hash", "mapping_json", "ingested_at", "n_rows"]
        return self._query("SELECT * FROM datasets ORDER BY name", empty_columns=cols)

    def history(self, unique_id: str, end=None) -> pd.DataFrame:
        """``ds, y`` of one series sorted by ds (period starts as Timestamps); `end` keeps ``ds <= end``."""
        sql = "SELECT ds, y FROM sales WHERE unique_id = ? AND (?::DATE IS NULL OR ds <= ?::DATE) ORDER BY ds"
        end = None if end is None else pd.Timestamp(end).date()
        return self._query(sql, [unique_id, end, end], empty_columns=["ds", "y"])

    def panel(self, ids: list[str] | None = None, end=None) -> pd.DataFrame:
        """Long ``unique_id, ds, y`` for `ids` (all series when None), sorted; `end` keeps ``ds <= end``."""
        end = None if end is None else pd.Timestamp(end).date()
        sql = (
            "SELECT unique_id, ds, y FROM sales WHERE (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], unique_id))"
            " AND (?::DATE IS NULL OR ds <= ?::DATE) ORDER BY unique_id, ds"
        )
        ids = None if ids is None else [str(i) for i in ids]
        return self._query(sql, [ids, ids, end, end], empty_columns=["unique_id", "ds", "y"])

    # -- writes ------------------------------------------------------------------------------------------------
    def replace_dataset(self, name: str, sales: pd.DataFrame, series: pd.DataFrame, meta: Mapping) -> None:
        """Replace data set `name` (its series, sales rows and cached situations) in one transaction.

        All or nothing: on any error nothing changes. InputError when a series id already belongs to another
        data set.
        """
        series = series.assign(dataset=name)[SERIES_COLUMNS]
        with self._transaction() as con:
            con.register("new_series", series)
            con.register("new_sales", sales[["unique_id", "ds", "y"]])
            clash = con.execute(
                "SELECT s.unique_id, s.dataset FROM series s JOIN new_series n USING (unique_id) "
                "WHERE s.dataset <> ? LIMIT 1",
                [name],
            ).fetchone()
            if clash:
                raise InputError(
                    f"data set {name!r}: series id {clash[0]!r} already belongs to data set {clash[1]!r}; ingest "
                    f"with --namespace to prefix its ids with '{name}:'"
                )
            old = "(SELECT unique_id FROM series WHERE dataset = ?)"
            con.execute(f"DELETE FROM sales WHERE unique_id IN {old}", [name])
            con.execute(f"DELETE FROM situations WHERE unique_id IN {old}", [name])
            con.execute("DELETE FROM series WHERE dataset = ?", [name])
            con.execute("DELETE FROM datasets WHERE name = ?", [name])
            con.execute(
                "INSERT INTO series SELECT unique_id, name, code, level, depth, parent_id, freq, dataset, "
                'start::DATE, "end"::DATE, n_obs FROM new_series'
            )
            con.execute("INSERT INTO sales SELECT unique_id, ds::DATE, y FROM new_sales")
            con.execute(
                "INSERT INTO datasets VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)",
                [name, meta.get("file"), meta.get("file_hash"), meta.get("mapping_json"), int(meta.get("n_rows", len(sales)))],
            )

    # -- situation cache (backtest_situations) -----------------------------------------------------------------
    def get_situations(self, horizon: str, model: str, hashes: Mapping[str, str]) -> pd.DataFrame:
        """Cached situations of these series whose data hash still matches: SITUATION_COLUMNS."""
        if not hashes:
            return _typed(pd.DataFrame(columns=SITUATION_COLUMNS))
        sql = (
            "SELECT unique_id, origin, period_start, period_end, baseline, actual FROM situations "
            "WHERE horizon = ? AND model = ? AND list_contains(?::VARCHAR[], unique_id || '|' || data_hash) "
            "ORDER BY unique_id, origin"
        )
        keys = [f"{uid}|{h}" for uid, h in hashes.items()]
        return self._query(sql, [horizon, model, keys], empty_columns=SITUATION_COLUMNS)

    def put_situations(self, rows: pd.DataFrame, horizon: str, model: str, hashes: Mapping[str, str]) -> None:
        """Store computed situations (SITUATION_COLUMNS) under (unique_id, origin, horizon, model, data hash)."""
        if rows.empty:
            return
        new = rows[SITUATION_COLUMNS].assign(horizon=horizon, model=model, data_hash=rows["unique_id"].map(hashes))
        with self._transaction() as con:
            con.register("new_situations", new)
            con.execute(
                "INSERT OR REPLACE INTO situations SELECT unique_id, origin::DATE, horizon, model, data_hash, "
                "period_start::DATE, period_end::DATE, baseline, actual FROM new_situations"
            )


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Date columns as datetime64[ns] (DuckDB hands back microseconds), whatever the row count."""
    for col in _DATE_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    return df
