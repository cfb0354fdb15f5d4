"""Ingest of real sales files into the DuckDB store: MRTS (codes), Walmart (store → dept), and every bad input."""
from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trendcast.forecasting import InputError, SalesMapping, SalesStore, ingest_sales, read_sales
from conftest import MRTS_FILE

MRTS = SalesMapping(
    date="month", value="sales_musd", id="naics_code", name="kind_of_business",
    where={"adjustment": "NSA"}, code_hierarchy=True,
)
MRTS_COLUMNS = "month, adjustment, naics_code, kind_of_business, sales_musd, flag, preliminary"


@pytest.fixture
def mrts_rows() -> pd.DataFrame:
    """The real MRTS file as text, every column a string (empty cells stay empty)."""
    return pd.read_csv(MRTS_FILE, dtype=str, keep_default_na=False)


@pytest.fixture
def store(home) -> SalesStore:
    return SalesStore(home / "sales.duckdb")


def snapshot(store: SalesStore) -> tuple:
    """What a failed ingest must leave untouched."""
    return (
        store.series().to_dict("list"),
        len(store.panel()),
        store.datasets()[["name", "file_hash", "n_rows"]].to_dict("list"),
    )


def test_mrts_nsa_ingest(store):
    summary = ingest_sales(store, MRTS_FILE, MRTS)
    series = store.series().set_index("unique_id")
    assert summary.series == len(series) == 65
    assert summary.freq == "MS" and (series["freq"] == "MS").all()
    assert series.loc["4481", "name"] == "Clothing stores"
    assert series.loc["4481", "parent_id"] == "448"
    assert series.loc["4481", "level"] == "4-digit" and series.loc["4481", "depth"] == 1
    assert series.loc["44812", "parent_id"] == "4481" and series.loc["44812", "depth"] == 2
    assert series.loc["448", "parent_id"] is None
    # list codes are series of their own, under the longest code that prefixes every listed code
    assert series.loc["4411,4412", "level"] == "other" and series.loc["4411,4412", "parent_id"] == "441"
    assert series.loc["722513, 722514, 722515", "parent_id"] == "7225"
    # aggregate lines without a code: id = slug of the name
    assert series.loc["retail-sales-total", "name"] == "Retail sales, total"
    assert series.loc["retail-sales-total", "level"] == "aggregate"
    # suppressed cells (empty values) are dropped and counted, not errors: 23,205 NSA rows, 648 empty
    assert (summary.source_rows, summary.missing, summary.rows) == (23205, 648, 22557)
    history = store.history("4481")
    assert list(history.columns) == ["ds", "y"] and history["ds"].is_monotonic_increasing
    jan = history[history["ds"] == pd.Timestamp("2020-01-01")]["y"]
    assert jan.tolist() == [12287.0]
    assert summary.start.isoformat() == "1992-01-01" and summary.end.isoformat() == "2021-09-01"
    # NSA 3-digit codes 441..454 add up exactly to "Retail sales, total" (published identity)
    panel = store.panel(end="2019-12-01")
    three = panel[panel["unique_id"].str.fullmatch(r"4[45]\d")].groupby("ds")["y"].sum()
    total = panel[panel["unique_id"] == "retail-sales-total"].set_index("ds")["y"]
    assert (three - total).abs().max() < 1e-6


def test_reingest_is_idempotent(store):
    first = ingest_sales(store, MRTS_FILE, MRTS)
    before = snapshot(store)
    second = ingest_sales(store, MRTS_FILE, MRTS)
    assert (first.rows, first.series) == (second.rows, second.series)
    assert snapshot(store) == before
    assert len(store.datasets()) == 1


def test_read_only_use_creates_nothing(home):
    store = SalesStore(home / "deep" / "sales.duckdb")
    assert store.series().empty and list(store.series().columns)[:2] == ["unique_id", "name"]
    assert store.history("4481").empty and store.panel().empty
    assert not (home / "deep").exists()


def test_parquet_gives_the_same_series(tmp_path, mrts_rows):
    path = tmp_path / "mrts.parquet"
    mrts_rows.to_parquet(path)
    sales, series, freq = read_sales(path, MRTS)
    csv_sales, csv_series, _ = read_sales(MRTS_FILE, MRTS)
    assert freq == "MS" and len(series) == 65
    pd.testing.assert_frame_equal(sales, csv_sales)
    assert series["unique_id"].tolist() == csv_series["unique_id"].tolist()


def test_empty_cells_are_missing_values_not_errors(tmp_path, mrts_rows):
    rows = mrts_rows[(mrts_rows.naics_code == "4481") & (mrts_rows.adjustment == "NSA")].head(30).copy()
    rows.iloc[4, rows.columns.get_loc("sales_musd")] = ""
    rows.to_csv(tmp_path / "clothing.csv", index=False)
    sales, series, _ = read_sales(tmp_path / "clothing.csv", MRTS)
    assert len(sales) == 29 and series["n_obs"].tolist() == [29]


def test_weekly_frequency_is_inferred_with_its_weekday(tmp_path, shared_data):
    # the first 500 rows of Walmart train.csv: Store 1, departments 1-4, Friday weeks
    with gzip.open(shared_data / "walmart" / "train.csv.gz", "rt") as fh:
        head = [next(fh) for _ in range(501)]
    (tmp_path / "walmart.csv").write_text("".join(head))
    sales, series, freq = read_sales(tmp_path / "walmart.csv", SalesMapping(date="Date", value="Weekly_Sales", id="Dept"))
    assert freq == "W-FRI"
    assert (sales["ds"].dt.dayofweek == 4).all()
    assert sales.loc[sales["unique_id"] == "1", "y"].iloc[0] == 24924.5  # the file's first row


@pytest.mark.slow
def test_walmart_store_dept_hierarchy(store, shared_data):
    mapping = SalesMapping(date="Date", value="Weekly_Sales", levels=["Store", "Dept"], dataset="walmart")
    summary = ingest_sales(store, shared_data / "walmart" / "train.csv.gz", mapping)  # timed by bench/bench_ingest.py
    assert summary.freq == "W-FRI"
    assert summary.levels == {"Total": 1, "Store": 45, "Dept": 3331}
    assert summary.series == 1 + 45 + 3331 and summary.source_rows == 421570
    series = store.series().set_index("unique_id")
    assert series.loc["Store=1/Dept=1", "name"] == "Store 1 / Dept 1"
    assert series.loc["Store=1/Dept=1", "parent_id"] == "Store=1"
    assert series.loc["Store=1", "parent_id"] == "Total" and series.loc["Total", "depth"] == 0
    assert series.loc["Store=1/Dept=1", "depth"] == 2 and series.loc["Store=1/Dept=1", "level"] == "Dept"
    total = store.history("Total")
    assert len(total) == 143
    assert round(float(total.loc[total["ds"] == pd.Timestamp("2010-12-24"), "y"].iloc[0]), 2) == 80931415.60
    first = store.history("Store=1/Dept=1").iloc[0]
    assert (first["ds"], first["y"]) == (pd.Timestamp("2010-02-05"), 24924.5)


def test_ids_must_not_clash_across_datasets(store, tmp_path, mrts_rows):
    ingest_sales(store, MRTS_FILE, MRTS)
    before = snapshot(store)
    mrts_rows[mrts_rows.adjustment == "SA"].to_csv(tmp_path / "sa.csv", index=False)
    with pytest.raises(InputError, match=r"^data set 'sa': series id '[^']+' already belongs to data set 'mrts_sales_by_kind_of_business_long'; ingest with --namespace"):
        ingest_sales(store, tmp_path / "sa.csv", SalesMapping(date="month", value="sales_musd", id="naics_code",
                                                              name="kind_of_business", code_hierarchy=True))
    assert snapshot(store) == before


# -- bad input: one line naming file, column and first bad row; the store is left as it was ------------------


def _clothing(mrts_rows) -> pd.DataFrame:
    return mrts_rows[(mrts_rows.naics_code == "4481") & (mrts_rows.adjustment == "NSA")].head(40).reset_index(drop=True)


def _edit(rows: pd.DataFrame, row: int, column: str, value: str) -> pd.DataFrame:
    rows = rows.copy()
    rows.loc[row - 1, column] = value  # `row` is 1-based, as in the messages
    return rows


BAD_CASES = {
    "missing column": (
        lambda r: r, SalesMapping(date="month", value="sales", id="naics_code"),
        [r"^bad\.csv: column 'sales': not found", "did you mean 'sales_musd'", f"available columns: {MRTS_COLUMNS}"],
    ),
    "misnamed column": (
        lambda r: r.rename(columns={"sales_musd": "Sales_MUSD"}), MRTS,
        [r"^bad\.csv: column 'sales_musd': not found", "did you mean 'Sales_MUSD'", "available columns: month, "],
    ),
    "unparseable date": (
        lambda r: _edit(r, 17, "month", "2019-13"), MRTS,
        [r"^bad\.csv: column 'month', row 17 \(line 18 counting the header\): '2019-13' is not a date$"],
    ),
    "non-numeric value": (
        lambda r: _edit(r, 17, "sales_musd", "abc"), MRTS,
        [r"^bad\.csv: column 'sales_musd', row 17 \(line 18 counting the header\): 'abc' is not a number$"],
    ),
    "duplicate row": (
        lambda r: _edit(r, 5, "month", r.loc[1, "month"]), MRTS,
        [r"^bad\.csv: column 'month', row 5 \(line 6 counting the header\): duplicate row for series '4481' "
         r"on 1992-02-01 \(same series and period as row 2\); a transaction log .*--aggregate sum"],
    ),
    "no rows after filter": (
        lambda r: r, SalesMapping(date="month", value="sales_musd", id="naics_code", where={"adjustment": "XSA"}),
        [r"^bad\.csv: no rows left after filters adjustment='XSA' \('adjustment' has: NSA\)$"],
    ),
    "empty series key": (
        lambda r: _edit(r, 3, "naics_code", ""), SalesMapping(date="month", value="sales_musd", id="naics_code"),
        [r"^bad\.csv: column 'naics_code', row 3 \(line 4 counting the header\): empty series key$"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_reported_and_changes_nothing(case, store, tmp_path, mrts_rows):
    ingest_sales(store, MRTS_FILE, MRTS)
    before = snapshot(store)
    make, mapping, patterns = BAD_CASES[case]
    make(_clothing(mrts_rows)).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError) as info:
        ingest_sales(store, tmp_path / "bad.csv", mapping)
    message = str(info.value)
    assert "\n" not in message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    assert snapshot(store) == before


def test_bad_value_deep_in_a_large_file(store, tmp_path, mrts_rows):
    """Past the CSV reader's first block (type inference): still the exact row, and nothing written."""
    rows = mrts_rows.copy()
    rows.loc[29999, "sales_musd"] = "12,5"
    rows.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(InputError, match=r"^big\.csv: column 'sales_musd', row 30000 \(line 30001 counting the "
                                         r"header\): '12,5' is not a number$"):
        ingest_sales(store, tmp_path / "big.csv", SalesMapping(date="month", value="sales_musd", id="naics_code",
                                                               name="kind_of_business", code_hierarchy=True))
    assert not store.path.exists()


@pytest.mark.parametrize(
    "name, content, pattern",
    [
        ("empty.csv", b"", r"^empty\.csv: the file is empty \(no header line\)$"),
        ("header.csv", b"month,adjustment,naics_code,kind_of_business,sales_musd\n", r"^header\.csv: no data rows"),
        ("empty.csv.gz", gzip.compress(b""), r"^empty\.csv\.gz: the file is empty"),
        ("sales.xlsx", b"PK\x03\x04", r"^sales\.xlsx: unknown format '\.xlsx'; expected \.csv, \.csv\.gz or \.parquet$"),
    ],
)
def test_empty_and_unknown_files(name, content, pattern, store, tmp_path):
    ingest_sales(store, MRTS_FILE, MRTS)
    before = snapshot(store)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match=pattern):
        ingest_sales(store, tmp_path / name, MRTS)
    assert snapshot(store) == before


def test_file_not_found(store, tmp_path):
    with pytest.raises(InputError, match=r"^nope\.csv: file not found \(.*nope\.csv\)$"):
        ingest_sales(store, tmp_path / "nope.csv", MRTS)
    assert not store.path.exists()


def test_mapping_needs_exactly_one_of_id_and_levels():
    with pytest.raises(InputError, match="exactly one of id"):
        SalesMapping(date="d", value="v")
    with pytest.raises(InputError, match="exactly one of id"):
        SalesMapping(date="d", value="v", id="i", levels=["a"])
    with pytest.raises(InputError, match="unknown frequency 'fortnightly'"):
        SalesMapping(date="d", value="v", id="i", freq="fortnightly")
    assert SalesMapping(date="d", value="v", id="i", freq="weekly").freq == "W"
    assert SalesMapping(date="d", value="v", id="i", freq="monthly").freq == "MS"


def test_gzip_copy_reads_like_the_original(tmp_path):
    plain = tmp_path / "mrts.csv"
    with gzip.open(MRTS_FILE, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert read_sales(plain, MRTS)[0].equals(read_sales(MRTS_FILE, MRTS)[0])
    assert Path(plain).stat().st_size > 1_000_000


def test_duplicate_in_a_level_hierarchy_names_the_levels(store, tmp_path, shared_data):
    with gzip.open(shared_data / "walmart" / "train.csv.gz", "rt") as fh:
        head = [next(fh) for _ in range(21)]
    head[9] = head[2]  # data row 9 repeats data row 2 (Store 1, Dept 1, 2010-02-12)
    (tmp_path / "walmart.csv").write_text("".join(head))
    with pytest.raises(InputError, match=r"^walmart\.csv: column 'Date', row 9 \(line 10 counting the header\): "
                                         r"duplicate row for Store='1', Dept='1' on 2010-02-12 \(same series and "
                                         r"period as row 2\); a transaction log"):
        ingest_sales(store, tmp_path / "walmart.csv", SalesMapping(date="Date", value="Weekly_Sales",
                                                                   levels=["Store", "Dept"]))
    assert not store.path.exists()


def test_daily_files_single_series_and_state_store_levels(shared_data):
    total, series, freq = read_sales(shared_data / "m5" / "aggregates" / "total_daily_sales.csv",
                                     SalesMapping(date="date", value="sales", levels=[]))
    assert freq == "D" and series["unique_id"].tolist() == ["Total"] and len(total) == 1913
    assert (total["ds"].iloc[0], total["y"].iloc[0]) == (pd.Timestamp("2011-01-29"), 32631.0)  # d_1
    sales, series, freq = read_sales(shared_data / "m5" / "m04_sales_data_prepared.csv",
                                     SalesMapping(date="ds", value="y", levels=["state_id", "store_id"]))
    assert freq == "D"
    assert series.groupby("level").size().to_dict() == {"Total": 1, "state_id": 3, "store_id": 10}
    row = series.set_index("unique_id").loc["state_id=CA/store_id=CA_1"]
    assert (row["name"], row["parent_id"], row["depth"]) == ("state_id CA / store_id CA_1", "state_id=CA", 2)
    by_day = sales[sales["unique_id"].str.count("=") == 2].groupby("ds")["y"].sum()
    assert (sales[sales["unique_id"] == "Total"].set_index("ds")["y"] == by_day).all()
