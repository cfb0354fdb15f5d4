"""Real files in the shapes analysts get: totals already in the file, day-first dates, transaction logs, filters,
week labels, one-series files, clashing ids — nothing ingests silently wrong."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli
from trendcast.forecasting import InputError, SalesMapping, SalesStore, ingest_sales, read_sales
from conftest import MRTS_FILE

PUBLISHED_TOTAL_DEC_2019 = 521_467.0  # MRTS "Retail sales, total", NSA, December 2019 ($M)


@pytest.fixture
def store(home) -> SalesStore:
    return SalesStore(home / "sales.duckdb")


@pytest.fixture
def sectors(tmp_path) -> pd.DataFrame:
    """MRTS NSA: the 12 three-digit retail sectors plus the published "Retail sales, total" as one more sector."""
    d = pd.read_csv(MRTS_FILE, dtype=str, keep_default_na=False)
    d = d[d["adjustment"] == "NSA"]
    keep = d["naics_code"].str.fullmatch(r"4\d\d") | (d["kind_of_business"] == "Retail sales, total")
    return d[keep].rename(columns={"kind_of_business": "sector"})[["month", "sector", "sales_musd"]]


def _total(sales: pd.DataFrame, month: str) -> float:
    return float(sales[(sales["unique_id"] == "Total") & (sales["ds"] == month)]["y"].iloc[0])


def test_a_total_row_in_the_file_is_used_not_summed_again(sectors, tmp_path, store):
    path = tmp_path / "sectors.csv"
    sectors.to_csv(path, index=False)
    mapping = SalesMapping(date="month", value="sales_musd", levels=["sector"])
    summary = ingest_sales(store, path, mapping)
    sales = store.panel()
    assert _total(sales, "2019-12-01") == PUBLISHED_TOTAL_DEC_2019
    assert summary.levels == {"Total": 1, "sector": 12}  # the total row is not a 13th sector
    assert any("'Retail sales, total'" in n and "used as the aggregates" in n for n in summary.notes)
    # found by adding up, not only by its name
    renamed = sectors.replace({"Retail sales, total": "Everything"})
    renamed.to_csv(path, index=False)
    sales, series, _ = read_sales(path, mapping)
    assert _total(sales, "2019-12-01") == PUBLISHED_TOTAL_DEC_2019 and len(series) == 13
    # the user can say there are none (then it is an ordinary sector, and the total is 2x)
    sales, series, _ = read_sales(path, SalesMapping(date="month", value="sales_musd", levels=["sector"],
                                                     totals="none"))
    assert _total(sales, "2019-12-01") == 2 * PUBLISHED_TOTAL_DEC_2019 and len(series) == 14


def test_a_store_by_department_file_with_totals_at_both_levels(shared_data, tmp_path):
    w = pd.read_csv(shared_data / "walmart" / "train.csv.gz", usecols=["Store", "Dept", "Date", "Weekly_Sales"])
    w = w[w["Store"] <= 4].astype({"Store": str, "Dept": str})
    stores = w.groupby(["Store", "Date"], as_index=False)["Weekly_Sales"].sum().assign(Dept="Total")
    depts = w.groupby(["Dept", "Date"], as_index=False)["Weekly_Sales"].sum().assign(Store="Total")
    grand = w.groupby("Date", as_index=False)["Weekly_Sales"].sum().assign(Store="Total", Dept="Total")
    path = tmp_path / "with_totals.csv"
    pd.concat([w, stores, depts, grand]).sample(frac=1, random_state=0).to_csv(path, index=False)
    sales, series, _ = read_sales(path, SalesMapping(date="Date", value="Weekly_Sales", levels=["Store", "Dept"]))
    plain, plain_series, _ = read_sales(_plain(w, tmp_path), SalesMapping(date="Date", value="Weekly_Sales",
                                                                        levels=["Store", "Dept"]))
    assert sorted(series["unique_id"]) == sorted(plain_series["unique_id"])
    merged = sales.merge(plain, on=["unique_id", "ds"], suffixes=("", "_plain"))
    assert len(merged) == len(plain) == len(sales)
    assert np.allclose(merged["y"], merged["y_plain"], rtol=1e-9)  # not 4x at the top, not 2x per store


def _plain(w: pd.DataFrame, tmp_path):
    path = tmp_path / "plain.csv"
    w.to_csv(path, index=False)
    return path


def test_a_value_named_total_that_does_not_add_up_is_kept_and_reported(sectors, tmp_path):
    path = tmp_path / "sectors.csv"
    sectors.replace({"Retail sales, total": "Sales total (sample)"}).assign(
        sales_musd=lambda d: np.where(d["sector"] == "Sales total (sample)", "1", d["sales_musd"])
    ).to_csv(path, index=False)
    loaded_series = read_sales(path, SalesMapping(date="month", value="sales_musd", levels=["sector"]))[1]
    assert len(loaded_series) == 14
    from trendcast.forecasting.ingest import _load

    notes = _load(path, SalesMapping(date="month", value="sales_musd", levels=["sector"])).notes
    assert any("'Sales total (sample)' has 'total' in its name but is not the sum" in n for n in notes)


def _daily(shared_data, days: int, fmt: str) -> pd.DataFrame:
    d = pd.read_csv(shared_data / "m5" / "m04_sales_data_prepared.csv", parse_dates=["ds"])
    d = d[d["ds"] < d["ds"].min() + pd.Timedelta(days=days)]
    return d.assign(date=d["ds"].dt.strftime(fmt))[["date", "store_id", "y"]]


def test_the_first_12_days_written_day_first_are_never_a_monthly_year(shared_data, tmp_path):
    path = tmp_path / "daily12.csv"
    _daily(shared_data, 12, "%d-%m-%Y").to_csv(path, index=False)
    with pytest.raises(InputError, match=r"^daily12\.csv: column 'date': dates like '02-01-2014' read both "
                                         r"day-first \(2014-01-02\) and month-first \(2014-02-01\).*--dayfirst"):
        read_sales(path, SalesMapping(date="date", value="y", id="store_id"))
    for mapping in (SalesMapping(date="date", value="y", id="store_id", dayfirst=True),
                    SalesMapping(date="date", value="y", id="store_id", date_format="%d-%m-%Y")):
        sales, _, freq = read_sales(path, mapping)
        assert freq == "D" and sales["ds"].nunique() == 12
        assert sales["ds"].min() == pd.Timestamp("2014-01-01") and sales["ds"].max() == pd.Timestamp("2014-01-12")
    path60 = tmp_path / "daily60.csv"  # past the 12th, only one reading parses: detected
    _daily(shared_data, 60, "%d/%m/%Y").to_csv(path60, index=False)
    sales, _, freq = read_sales(path60, SalesMapping(date="date", value="y", id="store_id"))
    assert freq == "D" and sales["ds"].nunique() == 60
    with pytest.raises(InputError, match=r"column 'date', row 1 .*'01/01/2014' is not a date \(does not match "
                                         r"--date-format '%Y-%m-%d'\)"):
        read_sales(path60, SalesMapping(date="date", value="y", id="store_id", date_format="%Y-%m-%d"))


def _transactions(shared_data, tmp_path) -> tuple:
    """M5 item × store days (real unit sales) expanded into one line per sale: timestamp, store, item, quantity,
    unit price; plus one return line per store."""
    d = pd.read_csv(shared_data / "m5" / "m04_sales_data_prepared.csv", parse_dates=["ds"])
    d = d[(d["ds"] >= "2015-01-01") & (d["ds"] <= "2015-03-10")]  # the log stops on March 10
    rng = np.random.default_rng(0)
    lines = d.loc[d.index.repeat(d["y"].astype(int))].copy()
    lines["quantity"] = 1
    lines["unit_price"] = 4.25
    lines["ts"] = lines["ds"] + pd.to_timedelta(rng.integers(8 * 3600, 21 * 3600, len(lines)), unit="s")
    returns = d.drop_duplicates("store_id").assign(quantity=-1, unit_price=4.25,
                                                  ts=pd.Timestamp("2015-01-20 12:00"))
    log = pd.concat([lines, returns]).sample(frac=1, random_state=1)
    log = log.assign(timestamp=log["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"), item="FOODS_3_090")
    path = tmp_path / "lines.csv"
    log[["timestamp", "store_id", "item", "quantity", "unit_price"]].to_csv(path, index=False)
    return path, d


def test_a_transaction_log_becomes_weekly_and_monthly_series_in_one_ingest(shared_data, tmp_path, store):
    path, days = _transactions(shared_data, tmp_path)
    with pytest.raises(InputError, match=r"duplicate row for series '\w+'.*--aggregate sum or count with --freq"):
        read_sales(path, SalesMapping(date="timestamp", value="quantity", id="store_id"))
    monthly = SalesMapping(date="timestamp", value="quantity*unit_price", id="store_id", aggregate="sum", freq="M")
    summary = ingest_sales(store, path, monthly)
    sales = store.panel()
    assert summary.freq == "MS" and summary.series == 10
    assert sorted(sales["ds"].unique()) == [pd.Timestamp("2015-01-01"), pd.Timestamp("2015-02-01")]  # March partial
    assert any("incomplete last period (from 2015-03-01)" in k for k in summary.dropped)
    jan = days[(days["ds"] < "2015-02-01") & (days["store_id"] == "TX_2")]["y"].sum()
    got = sales[(sales["unique_id"] == "TX_2") & (sales["ds"] == "2015-01-01")]["y"].iloc[0]
    assert got == pytest.approx((jan - 1) * 4.25)  # net of the return
    weekly, _, freq = read_sales(path, SalesMapping(date="timestamp", value="quantity", id="store_id",
                                                    aggregate="sum", freq="W", negatives="drop"))
    assert freq == "W-MON" and (weekly["ds"].dt.weekday == 0).all()
    week = days[(days["ds"] >= "2015-01-05") & (days["ds"] <= "2015-01-11") & (days["store_id"] == "CA_3")]
    assert weekly[(weekly["unique_id"] == "CA_3") & (weekly["ds"] == "2015-01-05")]["y"].iloc[0] == week["y"].sum()
    assert weekly["ds"].max() == pd.Timestamp("2015-03-02")  # the week of March 9 ends after the log
    counts, _, _ = read_sales(path, SalesMapping(date="timestamp", value="quantity", id="store_id",
                                                 aggregate="count", freq="D", complete_through="2015-03-10"))
    assert counts["ds"].max() == pd.Timestamp("2015-03-10")
    zero_days = days[(days["y"] == 0) & (days["store_id"] == "WI_1")]["ds"]
    wi = counts[counts["unique_id"] == "WI_1"].set_index("ds")["y"]
    assert (wi.loc[zero_days[zero_days.isin(wi.index)]] == 0).all() and len(wi) == 69  # zeros, not gaps


def test_filters_repeat_negate_and_list(sectors, tmp_path):
    path = tmp_path / "sectors.csv"
    sectors.to_csv(path, index=False)
    base = dict(date="month", value="sales_musd", levels=["sector"], totals="none")
    two = ["Gasoline stations", "Nonstore retailers"]
    _, series, _ = read_sales(path, SalesMapping(**base, where={"sector": two}))
    assert sorted(series["name"].str.removeprefix("sector ")) == ["Gasoline stations", "Nonstore retailers", "Total"]
    _, series, _ = read_sales(path, SalesMapping(**base, where_not={"sector": ["Retail sales, total"]}))
    assert len(series) == 13
    from trendcast.forecasting.filters import parse_where

    assert parse_where(["sector=Gasoline stations", "sector=Nonstore retailers"]) == ({"sector": two}, {})
    assert parse_where(["sector not in A, B", "x!=1"]) == ({}, {"sector": ["A", "B"], "x": ["1"]})
    with pytest.raises(ValueError, match="expected COLUMN=VALUE"):
        parse_where(["sector"])


def test_week_labels_one_series_files_and_namespaces(shared_data, tmp_path, home):
    runner = CliRunner()
    w = pd.read_csv(shared_data / "walmart" / "weekly_sales_by_dept_all_stores.csv")
    one = tmp_path / "one.csv"
    first = w.columns[0]
    w.groupby(first, as_index=False)[w.columns[-1]].sum().to_csv(one, index=False)
    base = ["--home", str(home), "ingest", "sales", str(one), "--date", first, "--value", w.columns[-1]]
    got = runner.invoke(cli, base)
    assert got.exit_code == 0, got.output
    ends = runner.invoke(cli, [*base, "--week-label", "end", "--dataset", "ends", "--namespace"])
    assert ends.exit_code == 0, ends.output
    series = SalesStore(home / "sales.duckdb").series().set_index("unique_id")
    assert set(series.index) == {"Total", "ends:Total"}
    start, end = series.loc["Total", "start"], series.loc["ends:Total", "start"]
    assert pd.Timestamp(start) - pd.Timestamp(end) == pd.Timedelta(days=6)
    clash = runner.invoke(cli, [*base, "--dataset", "again"])
    assert clash.exit_code == 2 and "--namespace" in clash.output


def test_a_level_id_category_matches_documents_tagged_with_its_value():
    from trendcast.retrieval.eligibility import tag_forms

    assert tag_forms("state=Cotopaxi") == {"state=Cotopaxi", "Cotopaxi"}
    assert tag_forms("state=Cotopaxi/store=12") >= {"state=Cotopaxi", "Cotopaxi", "12"}
    assert tag_forms("448") == {"448"}
