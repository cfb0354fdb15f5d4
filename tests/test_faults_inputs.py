"""Bad input files and values (issue 25), through the real CLI: a value of 1e300 (ingested, then every answer of
its series crashed), a -500 among values near 100, a truncated .csv.gz, a folder given as the file, a Latin-1 file.
Each is one line naming the file (and column, row, line) and what to do, or a note at ingest; nothing is stored
when the ingest is refused.
"""
from __future__ import annotations

import gzip
import json
import math

import duckdb
import pytest
from fault_workspace import (AS_OF, one_line_error, sales_csv, small_copy, small_workspace,  # noqa: F401
                             snapshot, trendcast)

SALES_ARGS = ("--date", "month", "--value", "value", "--id", "id", "--name", "name")


# --- values ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["1e300", "-1e300", "1e17", "9.1e15"])
def test_an_absurd_magnitude_is_refused_at_ingest(cell, tmp_path):
    """The value rule: |value| <= 2^53 (about 9.0e15, the largest a float holds to the unit), else refused with
    file, column and row; nothing is stored."""
    csv = sales_csv(tmp_path / "sales.csv", {("A", "2019-06"): cell})
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(csv), *SALES_ARGS, ok=False))
    assert "sales.csv: column 'value', row 90 (line 91 counting the header)" in line, line
    assert "beyond ±9.01e+15" in line and "unit or parsing error" in line, line
    assert not (tmp_path / "home" / "sales.duckdb").exists()


def test_the_value_rule_holds_for_a_product_of_columns(tmp_path):
    csv = tmp_path / "log.csv"
    csv.write_text("day,id,qty,price\n2020-01-01,A,1e8,2\n2020-01-02,A,1e9,1e8\n")
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(csv), "--date", "day",
                                    "--value", "qty*price", "--id", "id", "--aggregate", "sum", "--freq", "D",
                                    ok=False))
    assert "column 'qty*price', row 2" in line and "1e+17 is beyond" in line, line


@pytest.mark.slow
def test_a_value_at_the_limit_never_crashes_an_answer(tmp_path):
    """9.0e15 (admitted) among noisy values near 100: before, conformal bounds raised OverflowError (math.exp) and
    the series could never be answered; now its bounds are capped (and said to be)."""
    import numpy as np

    rng, lines = np.random.default_rng(0), ["month,id,value"]
    months = [f"{2015 + i // 12}-{i % 12 + 1:02d}" for i in range(62)]  # 2015-01 .. 2020-02
    for sid, base in (("A", 100.0), ("B", 1000.0)):
        y = base * (1 + 0.1 * np.sin(np.arange(62) / 12 * 2 * np.pi)) + rng.normal(0, base * 0.02, 62)
        lines += [f"{m},{sid},{'9000000000000000' if (sid, m) == ('A', '2019-06') else v}" for m, v in zip(months, y)]
    csv = tmp_path / "sales.csv"
    csv.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    trendcast(home, "ingest", "sales", str(csv), "--date", "month", "--value", "value", "--id", "id")
    answer = json.loads(trendcast(home, "ask", "how will A trend next month?", "--series", "A", "--as-of", AS_OF,
                                  "--json").out)
    f = answer["forecast"]
    assert all(math.isfinite(f[k]) for k in ("total", "lo_80", "hi_80", "lo_95", "hi_95")), f
    assert any(w["code"] == "interval_clipped" for w in answer["warnings"])


@pytest.mark.slow
def test_a_value_stored_before_the_rule_is_one_line(small_copy):
    """A workspace ingested before the value rule may hold 1e300: its answers are one line naming the value and
    the way out, not a traceback."""
    with duckdb.connect(str(small_copy / "sales.duckdb")) as con:
        con.execute("UPDATE sales SET y = 1e300 WHERE unique_id = 'A' AND ds = '2019-06-01'")
    line = one_line_error(trendcast(small_copy, "ask", "how will shoe stores trend next month?", "--as-of", AS_OF,
                                    ok=False))
    assert "the history holds 1e+300" in line and "ingest its data set again" in line, line


def test_conformal_bounds_never_overflow():
    from trendcast.forecasting.conformal import bounds

    for sigma, total in ((4e14, 100.0), (1e308, 1e300), (800.0, -5.0), (0.1, 1e308)):
        out = bounds(total, sigma, 0.0, {80: None, 95: None})
        assert all(not math.isnan(v) for v in out.values()), (sigma, total, out)
    assert bounds(100.0, 0.1, 0.0, {80: None, 95: None})["hi_80"] == pytest.approx(100 * math.exp(1.2815515655 * 0.1))


def test_a_lone_negative_value_is_noted_at_ingest(tmp_path):
    csv = sales_csv(tmp_path / "sales.csv", {("A", "2019-06"): "-500"})
    done = trendcast(tmp_path / "home", "ingest", "sales", str(csv), *SALES_ARGS)
    [note] = [ln for ln in done.out.splitlines() if "negative" in ln]
    assert note.strip().startswith("note: 1 negative value in 1 series otherwise never negative"), note
    assert "-500 for series 'A' on 2019-06-01, row 90 (line 91)" in note and "sign error" in note, note
    # a series that is often negative is not a sign error; nor is one with no negative value
    csv = sales_csv(tmp_path / "other.csv", {("A", f"2019-{m:02d}"): "-50" for m in range(1, 13)})
    assert "negative" not in trendcast(tmp_path / "home2", "ingest", "sales", str(csv), *SALES_ARGS).out


# --- files ----------------------------------------------------------------------------------------------------------

def test_a_truncated_csv_gz_is_one_line(tmp_path):
    plain = sales_csv(tmp_path / "sales.csv").read_bytes()
    packed = gzip.compress(plain)
    cut = tmp_path / "sales.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(cut), *SALES_ARGS, ok=False))
    assert line.startswith("Error: sales.csv.gz: cannot read the file") and "truncated or damaged" in line, line
    assert not (tmp_path / "home" / "sales.duckdb").exists()


def test_a_folder_given_as_the_file_is_said_to_be_one(tmp_path):
    folder = tmp_path / "sales.csv"
    folder.mkdir()
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(folder), *SALES_ARGS, ok=False))
    assert "a folder, not a file" in line and "not found" not in line, line
    for kind in ("docs", "calendar"):
        extra = ("--date", "date") if kind == "docs" else ("--event", "name")
        line = one_line_error(trendcast(tmp_path / "home", "ingest", kind, str(folder), *extra, ok=False))
        assert "is a folder, not a file" in line and "no such file" not in line, line


def test_a_latin1_file_says_how_to_read_it(tmp_path):
    text = sales_csv(tmp_path / "utf8.csv").read_text().replace("Shoe stores", "Chaussures élégantes")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(latin), *SALES_ARGS, ok=False))
    assert "latin.csv: not UTF-8 text (byte 0xe9 on line 2 is not UTF-8)" in line, line
    assert "--encoding cp1252" in line, line
    trendcast(tmp_path / "home", "ingest", "sales", str(latin), *SALES_ARGS, "--encoding", "cp1252")
    names = {s["name"] for s in json.loads(trendcast(tmp_path / "home", "series", "--json").out)}
    assert "Chaussures élégantes" in names
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "sales", str(latin), *SALES_ARGS, "--encoding",
                                    "klingon", ok=False))
    assert "unknown encoding 'klingon'" in line, line
    # documents: the same message and option
    docs = tmp_path / "docs.csv"
    docs.write_bytes("date,headline\n2020-01-02,Soldes d'hiver: les chaussures à -50 %\n".encode("latin-1"))
    line = one_line_error(trendcast(tmp_path / "home", "ingest", "docs", str(docs), "--text", "headline",
                                    "--date", "date", ok=False))
    assert "not UTF-8 text (byte 0xe0 on line 2 is not UTF-8)" in line and "--encoding cp1252" in line, line
    done = trendcast(tmp_path / "home", "ingest", "docs", str(docs), "--text", "headline", "--date", "date",
                     "--encoding", "latin-1")
    assert "ingested 1 new documents" in done.out
