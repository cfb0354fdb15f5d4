"""Issue 3 acceptance through the CLI: ingest real sales, ask, JSON contract, bad input → exit 2."""
from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli
from conftest import MRTS_FILE

MRTS_ARGS = ["ingest", "sales", str(MRTS_FILE), "--date", "month", "--value", "sales_musd", "--id", "naics_code",
             "--name", "kind_of_business", "--where", "adjustment=NSA", "--code-hierarchy"]
CONTRACT = {
    "question": None, "target": {"series_id", "name", "level", "resolved_by"}, "as_of": None,
    "period": {"start", "end"}, "history": {"last_period_total", "same_period_last_year"},
    "baseline": {"model", "total", "lo_80", "hi_80", "lo_95", "hi_95"},
    "adjustment": {"source", "model", "prompt", "pct", "direction", "confidence", "rationale", "evidence_ids"},
    "forecast": {"total", "lo_80", "hi_80", "lo_95", "hi_95", "change_vs_last_period_pct", "change_vs_last_year_pct",
                 "direction"},
    "evidence": None, "warnings": None,
}


def run(*args, code=0):
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == code, r.output
    return r


@pytest.fixture
def mrts_home(home):
    run(*MRTS_ARGS)
    return home


def published(code: str, month: str) -> float:
    df = pd.read_csv(MRTS_FILE, dtype=str)
    row = df[(df.adjustment == "NSA") & (df.naics_code == code) & (df.month == month)]
    return float(row.sales_musd.iloc[0])


def test_clothing_january_2020_within_10pct_and_inside_80(mrts_home):
    r = run("ask", "how will clothing stores trend next month?", "--as-of", "2019-12-31", "--adjuster", "none",
            "--json")
    a = json.loads(r.stdout)
    for key, fields in CONTRACT.items():
        assert key in a
        if fields:
            assert fields <= set(a[key]), key
    assert a["target"] == {"series_id": "4481", "name": "Clothing stores", "level": "4-digit", "resolved_by": "exact"}
    assert a["period"] == {"start": "2020-01-01", "end": "2020-01-31"} and a["as_of"] == "2019-12-31"
    actual = published("4481", "2020-01")
    b = a["baseline"]
    assert abs(b["total"] / actual - 1) < 0.10
    assert b["lo_80"] <= actual <= b["hi_80"]
    assert b["lo_95"] <= b["lo_80"] <= b["total"] <= b["hi_80"] <= b["hi_95"]
    assert a["adjustment"]["source"] == "none" and a["forecast"]["total"] == b["total"]
    assert a["history"]["last_period_total"] == published("4481", "2019-12")
    assert a["history"]["same_period_last_year"] == published("4481", "2019-01")
    assert a["forecast"]["change_vs_last_year_pct"] == pytest.approx(
        100 * (b["total"] / published("4481", "2019-01") - 1), abs=1e-6)


def test_human_output_has_table_sparkline_and_changes(mrts_home):
    r = run("ask", "how will shoe stores trend next month?", "--as-of", "2019-06-30", "--adjuster", "none")
    assert "Shoe stores" in r.output and "2019-07-01 .. 2019-07-31" in r.output
    assert any(ch in r.output for ch in "▁▂▃▄▅▆▇█")
    assert "vs last period" in r.output and "vs same period last year" in r.output


def test_ambiguous_category_exits_2_with_candidates(mrts_home):
    r = run("ask", "how will clothing trend next month?", code=2)
    assert "Clothing stores [4481]" in r.output and "\n" not in r.output.strip()


def test_unknown_category_exits_2(mrts_home):
    r = run("ask", "how will quantum teleporters trend next month?", code=2)
    assert "no category matches" in r.output


def test_explicit_month_and_quarter(mrts_home):
    a = json.loads(run("ask", "how will furniture stores trend in March 2020?", "--as-of", "2019-12-31",
                       "--adjuster", "none", "--json").stdout)
    assert a["period"] == {"start": "2020-03-01", "end": "2020-03-31"} and a["target"]["series_id"] == "4421"
    q = json.loads(run("ask", "how will furniture stores trend next quarter?", "--as-of", "2019-12-31",
                       "--adjuster", "none", "--json").stdout)
    assert q["period"] == {"start": "2020-01-01", "end": "2020-03-31"}
    assert q["baseline"]["total"] > 2.5 * a["baseline"]["total"]
    d = json.loads(run("ask", "what's the outlook for furniture stores in December?", "--as-of", "2019-10-31",
                       "--adjuster", "none", "--json").stdout)
    assert d["period"] == {"start": "2019-12-01", "end": "2019-12-31"} and d["target"]["series_id"] == "4421"
    q2 = json.loads(run("ask", "furniture stores in Q2 2020", "--as-of", "2019-12-31", "--adjuster", "none",
                        "--json").stdout)
    assert q2["period"] == {"start": "2020-04-01", "end": "2020-06-30"}
    in2 = json.loads(run("ask", "how will furniture stores trend in 2 months?", "--as-of", "2019-12-31",
                         "--adjuster", "none", "--json").stdout)
    assert in2["period"] == {"start": "2020-02-01", "end": "2020-02-29"} and in2["horizon"] == "month:+2"
    (step,) = in2["steps"]  # a one-step period: its step is the period itself
    assert [step[k] for k in ("forecast", "lo_80", "hi_95")] == pytest.approx(
        [in2["forecast"][k] for k in ("total", "lo_80", "hi_95")])
    bad = run("ask", "how will furniture stores trend this month?", "--as-of", "2019-12-31", code=2)
    assert "horizon 'this month' is not supported (part of it is observed by as-of" in bad.output


def test_multi_month_period_answers_its_total_and_each_step(mrts_home):
    """"next 3 months": one period, its total and its three steps, in the JSON and on the console; the steps add
    up to the totals stated, and each month's baseline is close to what the Census published."""
    a = json.loads(run("ask", "what's the outlook for furniture stores over the next 3 months?", "--as-of",
                       "2019-12-31", "--adjuster", "none", "--json").stdout)
    assert a["period"] == {"start": "2020-01-01", "end": "2020-03-31"} and a["horizon"] == "next-3-months"
    steps = a["steps"]
    assert [s["start"] for s in steps] == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert sum(s["forecast"] for s in steps) == pytest.approx(a["forecast"]["total"])
    assert sum(s["baseline"] for s in steps) == pytest.approx(a["baseline"]["total"])
    assert all(s["lo_95"] <= s["lo_80"] <= s["forecast"] <= s["hi_80"] <= s["hi_95"] for s in steps)
    assert sum(s["lo_80"] for s in steps) == pytest.approx(a["forecast"]["lo_80"])
    for s, month in zip(steps[:2], ("2020-01", "2020-02")):  # March 2020 is the pandemic's first month
        assert abs(s["baseline"] / published("4421", month) - 1) < 0.10
    out = run("ask", "furniture stores from January to March 2020", "--as-of", "2019-12-31", "--adjuster", "none").output
    assert "3 steps" in out and "2020-02-01" in out and "2020-01-01 .. 2020-03-31" in out


def test_reingest_is_idempotent(mrts_home):
    before = json.loads(run("series", "--json").stdout)
    run(*MRTS_ARGS)
    assert json.loads(run("series", "--json").stdout) == before and len(before) == 65


@pytest.mark.parametrize("content, needle", [
    ("month,sales\n2020-01,1\n", "'value'"),
    ("month,value,id\n2020-01,1,a\n2020-13,2,a\n", "row 2"),
    ("month,value,id\n2020-01,1,a\n2020-02,abc,a\n", "'abc'"),
    ("month,value,id\n2020-01,1,a\n2020-02,1,a\n2020-03,1,a\n2020-02,2,a\n", "duplicate"),
    ("month,value,id\n", "no data rows"),
])
def test_bad_sales_file_exits_2_with_one_line(home, tmp_path, content, needle):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    r = run("ingest", "sales", str(f), "--date", "month", "--value", "value", "--id", "id", code=2)
    msg = r.output.strip()
    assert "bad.csv" in msg and needle.lower() in msg.lower() and "\n" not in msg and "Traceback" not in msg
    assert json.loads(run("series", "--json").stdout) == []


@pytest.mark.slow
def test_walmart_store_department_weekly(home, shared_data):
    # how long this ingest takes is measured by bench/bench_ingest.py
    r = run("ingest", "sales", str(shared_data / "walmart" / "train.csv.gz"), "--date", "Date", "--value",
            "Weekly_Sales", "--levels", "Store,Dept")
    assert "421,570 rows" in r.output and "3,377 series (Total: 1, Store: 45, Dept: 3,331; W-FRI" in r.output
    a = json.loads(run("ask", "how will store 1 / dept 92 trend next month?", "--as-of", "2012-08-31",
                       "--adjuster", "none", "--json").stdout)
    assert a["target"]["series_id"].startswith("Store=1/Dept=92")
    assert a["period"] == {"start": "2012-09-01", "end": "2012-09-30"}
    with gzip.open(shared_data / "walmart" / "train.csv.gz", "rt") as fh:
        df = pd.read_csv(fh)
    sept = df[(df.Store == 1) & (df.Dept == 92) & (df.Date >= "2012-09-01") & (df.Date <= "2012-09-30")]
    assert len(sept) == 4  # four Fridays dated in September 2012
    assert abs(a["baseline"]["total"] / sept.Weekly_Sales.sum() - 1) < 0.15
