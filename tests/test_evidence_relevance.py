"""Evidence about the category, said staleness, distinct closest cases and the direction note — `trendcast ask` on
the demo workspace (real MRTS sales, 20,560 real headlines, real embeddings, real FAISS).

As of 2020-03-31 the same generic UK shop headlines ("UK bicycle shops and repairers see a surge in business") used
to be cited for clothing, electronics, gasoline and e-commerce; now each category's evidence is about it, or there
is none and the answer says so."""
from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from rapidfuzz import fuzz

from trendcast.agent.cli.main import cli
from trendcast.agent.cli.demo import bundled_data_dir
from trendcast.retrieval.relevance import DUPLICATE_RATIO, MIN_RELEVANCE, region_of, terms

FOUR = ("clothing stores", "electronics stores", "gasoline stations", "electronic shopping and mail-order houses")
GENERIC = "UK bicycle shops and repairers see a surge in business"



@pytest.fixture(scope="module")
def evidence_home(demo_workspace, tmp_path_factory):
    """One writable copy of the demo workspace for this module: answers log themselves (the record), and the
    session's demo workspace must stay as built (tests/test_record.py counts what is in it)."""
    import shutil

    h = tmp_path_factory.mktemp("evidence") / "home"
    shutil.copytree(demo_workspace, h)
    return h

def ask(home, category: str, *args: str, human: bool = False) -> dict | str:
    r = CliRunner().invoke(cli, ["--home", str(home), "ask", f"how will {category} trend next month?", *args,
                                 *([] if human else ["--json"])], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output if human else json.loads(r.stdout)


def codes(a: dict) -> list[str]:
    return [w["code"] for w in a["warnings"]]


# --- fast: the words and regions relevance reads ------------------------------------------------------------------

def test_category_terms_and_regions_of_real_headlines():
    assert terms("Clothing stores") == {"clothing"}
    assert terms("Electronic shopping and mail-order houses") == {"electronic", "mail-order"}
    assert terms("Gasoline stations") == {"gasoline", "station"}
    with gzip.open(bundled_data_dir() / "headlines_dated.csv.gz", "rt") as f:
        news = pd.read_csv(f, usecols=["source", "headline"])
    said = {h: region_of(h, s) for h, s in zip(news["headline"], news["source"])}
    assert said[GENERIC] == ("GB", True)
    assert said["'We aren't making it': America's neighborhood stores face uncertain futures"] == ("US", True)
    assert said["Macy's to be replaced on S&P 500 by Carrier Global"] == ("US", False)  # CNBC: its source's home
    # "us" the pronoun is not the US
    assert region_of("Let us know what you think", None) == (None, False)


# --- the demo workspace -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_four_categories_cite_evidence_about_themselves(evidence_home):
    answers = {c: ask(evidence_home, c, "--as-of", "2020-03-31") for c in FOUR}
    lists = {c: [e["id"] for e in a["evidence"]] for c, a in answers.items()}
    for c, a in answers.items():
        print(c, [(e["score"], e["text"][:60]) for e in a["evidence"]])
        assert all(e["text"] != GENERIC for e in a["evidence"]), c
        assert all(e["date"] <= "2020-03-31" and e["score"] >= MIN_RELEVANCE for e in a["evidence"]), c
        assert set(a["adjustment"]["evidence_ids"]) <= set(lists[c])
        if not a["evidence"]:  # none specific enough: said, nothing cited
            assert "no_specific_evidence" in codes(a) and a["adjustment"]["evidence_ids"] == []
        else:
            assert "no_specific_evidence" not in codes(a)
        for x, y in itertools.combinations(a["evidence"], 2):  # no near-duplicates
            assert fuzz.token_set_ratio(x["text"].lower(), y["text"].lower()) < DUPLICATE_RATIO, (x, y)
    # the lists differ: no document is cited for two of the four
    for x, y in itertools.combinations(FOUR, 2):
        assert not set(lists[x]) & set(lists[y]), (x, y)
    # and they are about the category
    clothing = " ".join(e["text"].lower() for e in answers["clothing stores"]["evidence"])
    assert re.search(r"fashion|garment|clothing", clothing), clothing
    gasoline = " ".join(e["text"].lower() for e in answers["gasoline stations"]["evidence"])
    assert re.search(r"petrol|oil|fuel|gas", gasoline), gasoline
    online = " ".join(e["text"].lower() for e in answers["electronic shopping and mail-order houses"]["evidence"])
    assert re.search(r"online|deliver|digital", online), online


@pytest.mark.slow
def test_a_category_with_nothing_specific_says_so(evidence_home):
    a = ask(evidence_home, "furniture stores", "--as-of", "2020-03-31")
    assert a["evidence"] == [] and a["adjustment"]["evidence_ids"] == []
    [w] = [w for w in a["warnings"] if w["code"] == "no_specific_evidence"]
    assert w["message"].startswith("no specific evidence: nothing in the index dated by 2020-03-31 is about "
                                   "Furniture stores")


@pytest.mark.slow
def test_staleness_is_said(evidence_home):
    late = ask(evidence_home, "clothing stores", "--as-of", "2025-01-31")
    assert "stale_as_of" in codes(late) and "stale_evidence" in codes(late)
    [w] = [w for w in late["warnings"] if w["code"] == "stale_as_of"]
    assert w["message"].startswith("as-of 2025-01-31 is 40 months after the data ends (2021-09)")
    for part in ("baseline", "forecast"):  # sales are never negative, nor are their bounds
        assert all(late[part][k] >= 0 for k in ("total", "lo_80", "hi_80", "lo_95", "hi_95")), late[part]
    [clip] = [w for w in late["warnings"] if w["code"] == "interval_clipped"]
    assert "95 % lower bound clipped at 0" in clip["message"]

    stopped = ask(evidence_home, "drinking places", "--as-of", "2020-03-31")
    assert stopped["target"]["series_id"] == "7224" and "series_stopped" in codes(stopped)

    now = ask(evidence_home, "clothing stores")  # the default as-of, 2021-09-30: the headlines end 2020-07
    assert now["as_of"] == "2021-09-30"
    assert codes(now).count("stale_evidence") == 1 and "stale_as_of" not in codes(now)
    assert now["evidence"] and all(e["date"] < "2021-09-01" for e in now["evidence"])

    current = ask(evidence_home, "clothing stores", "--as-of", "2020-03-31")
    assert not {"stale_as_of", "series_stopped", "stale_evidence", "interval_clipped"} & set(codes(current))


@pytest.mark.slow
def test_closest_past_cases_are_distinct_months_and_directions_are_explained(evidence_home):
    for adjuster, marker in (("analog", "Closest: "), ("carry", "Closest past situations by news climate: ")):
        a = ask(evidence_home, "clothing stores", "--as-of", "2020-03-31", "--adjuster", adjuster)
        shown = a["adjustment"]["rationale"].split(marker)[1]
        months = re.findall(r" (\d{4}-\d{2}) \(", shown)
        assert len(months) == 3 and len(set(months)) == 3, shown
    # carry cuts April 2020 by ~48 %, yet April is up on the collapsed March: the answer says why, in one line
    assert a["adjustment"]["direction"] == "down" and a["forecast"]["direction"] == "up"
    note = a["direction_note"]
    assert note.startswith("forecast is up vs March (+") and "the baseline puts April +" in note, note
    assert re.search(r"the adjustment \(down\) lowers it by \d+\.\d %$", note), note
    human = " ".join(ask(evidence_home, "clothing stores", "--as-of", "2020-03-31", "--adjuster", "carry",
                         human=True).split())
    assert note in human


def test_direction_note_only_when_the_directions_differ():
    from trendcast.agent.answer.model import ForecastOut
    from trendcast.agent.answer.direction_note import direction_note
    from trendcast.forecasting.comparisons import Span
    from trendcast.forecasting.periods import Period

    march = Span(start=dt.date(2020, 3, 1), end=dt.date(2020, 3, 31), steps=1, total=3000.0)
    april = Period(dt.date(2020, 4, 1), dt.date(2020, 4, 30))

    def note(adj_dir, pct, total, baseline, last=march):
        f = ForecastOut(total=total, lo_80=total, hi_80=total, lo_95=total, hi_95=total,
                        change_vs_last_period_pct=100 * (total / 3000 - 1), change_vs_last_year_pct=None,
                        direction="up" if total > 3030 else "down" if total < 2970 else "flat")
        return direction_note(adjustment_direction=adj_dir, applied_pct=pct, forecast=f, baseline_total=baseline,
                              last_total=3000.0, last_span=last, period=april)

    assert note("flat", 0.0, 3900.0, 3900.0) == ("forecast is up vs March (+30.0 %) because the baseline puts April "
                                                 "+30.0 % against March (its season and trend); the adjustment (flat) "
                                                 "leaves it unchanged")
    assert note("down", -10.0, 3510.0, 3900.0).endswith("the adjustment (down) lowers it by 10.0 %")
    assert note("down", -20.0, 2400.0, 3000.0) is None  # both down
    assert note("flat", 0.0, 3000.0, 3000.0) is None  # both flat
    assert note("down", -10.0, 3510.0, 3900.0, last=None) is None  # no last period: no direction to explain


@pytest.mark.slow
def test_relevant_evidence_dated_after_as_of_never_reaches_the_answer(demo_copy, tmp_path):
    """Tamper: two headlines squarely about clothing stores, one dated on as-of, one the day after. The first is
    cited (relevance lets it in), the second never — in the answer nor in the evidence list."""
    docs = tmp_path / "planted.csv"
    pd.DataFrame([{"date": "2020-03-31", "source": "wire", "headline": "US clothing stores shut as fashion chains "
                   "close every shop"},
                  {"date": "2020-04-01", "source": "wire", "headline": "US clothing stores sales collapse 90 % as "
                   "fashion chains stay shut"}]).to_csv(docs, index=False)
    for args in (["ingest", "docs", str(docs), "--text", "headline", "--date", "date", "--source", "source"],
                 ["index"]):
        r = CliRunner().invoke(cli, ["--home", str(demo_copy), *args], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    a = ask(demo_copy, "clothing stores", "--as-of", "2020-03-31")
    texts = [e["text"] for e in a["evidence"]]
    assert texts and texts[0].startswith("US clothing stores shut"), texts
    assert not any("collapse 90 %" in t for t in texts) and "collapse 90" not in json.dumps(a)
    assert all(dt.date.fromisoformat(e["date"]) <= dt.date(2020, 3, 31) for e in a["evidence"])
    later = ask(demo_copy, "clothing stores", "--as-of", "2020-04-01")  # a day later it is news
    assert any("collapse 90 %" in e["text"] for e in later["evidence"])
