"""Events known ahead reach the forecast: calendars and dated announcements are scheduled evidence for the period
they fall in, only once known, and the default adjuster uses what the same events did before."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli
from trendcast.forecasting.holidays import us_retail_holidays

from conftest import MRTS_FILE


def run(*args, code=0):
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == code, r.output
    return r


def ask(*args) -> dict:
    return json.loads(run("ask", *args, "--json").stdout)


def test_the_computed_holiday_calendar():
    days = us_retail_holidays(2019, 2020).set_index("event")["date"]
    assert days["Black Friday"].tolist() == ["2019-11-29", "2020-11-27"]  # the day after Thanksgiving
    assert days["Easter Sunday"].tolist() == ["2019-04-21", "2020-04-12"]
    assert "2019-12-25" in days["Christmas Day"].tolist()


def test_a_week_with_thanksgiving_shows_it_from_the_m5_calendar(home, shared_data):
    run("ingest", "sales", str(shared_data / "walmart" / "weekly_sales_by_dept_all_stores.csv"), "--date", "Date",
        "--value", "Weekly_Sales_sum", "--levels", "Dept")
    out = run("ingest", "calendar", str(shared_data / "m5" / "calendar.csv"), "--date", "date",
              "--event", "event_name_1", "--event", "event_name_2", "--scheduled").output
    assert "ingested 167 new documents" in out and "rows without text left out" in out
    assert "known ahead: 167 of 167 events (--scheduled)" in out
    # as of Thu 2011-11-17 the next data week is the one dated Fri 2011-11-18: it holds Thanksgiving (Nov 24)
    a = ask("how will Dept 7 trend next week?", "--as-of", "2011-11-17", "--adjuster", "none")
    assert (a["period"]["start"], a["period"]["end"]) == ("2011-11-18", "2011-11-24")
    assert [(e["text"], e["event_date"], e["known"]) for e in a["scheduled"]] == [
        ("Thanksgiving", "2011-11-24", None)]
    # a week without events has none; events never come back as searched evidence
    b = ask("how will Dept 7 trend next week?", "--as-of", "2011-09-22", "--adjuster", "none")
    assert b["scheduled"] == [] and all(e["kind"] != "event" for e in a["evidence"] + b["evidence"])


@pytest.mark.slow
def test_an_announcement_counts_only_once_published(demo_copy, tmp_path):
    note = tmp_path / "promo.csv"
    pd.DataFrame({"published": ["2019-10-20", "2019-11-15"],
                  "text": ["Clothing retailers announce early Black Friday doorbusters",
                           "Clothing chains add a second Black Friday weekend sale"],
                  "event": ["2019-11-29", "2019-11-30"], "tags": ["448", "448"]}).to_csv(note, index=False)
    run("ingest", "docs", str(note), "--kind", "note", "--date", "published", "--event-date", "event",
        "--categories", "tags")
    early = ask("how will clothing stores trend next month?", "--as-of", "2019-10-31")
    texts = [e["text"] for e in early["scheduled"]]
    assert "Clothing retailers announce early Black Friday doorbusters" in texts
    assert "Clothing chains add a second Black Friday weekend sale" not in texts  # published after as-of
    assert {"Thanksgiving Day", "Black Friday", "Veterans Day"} <= set(texts)  # the demo's holiday calendar
    other = ask("how will gasoline stations trend next month?", "--as-of", "2019-10-31")
    assert not any("doorbusters" in e["text"] for e in other["scheduled"])  # tagged for clothing (448) only


@pytest.mark.slow
def test_a_month_lists_its_holidays_but_adds_no_event_effect(demo_copy):
    """Easter moves between March and April, but a holiday is one day in thirty of a month: on MRTS every monthly
    event effect tried made ordinary months worse (agent.events), so the carry adjuster lists it and adds nothing."""
    a = ask("how will clothing stores trend next month?", "--as-of", "2019-03-31")
    assert [e["text"] for e in a["scheduled"]] == ["Easter Sunday"]
    rationale = a["adjustment"]["rationale"]
    assert "Scheduled in the period: Easter Sunday (2019-04-21); no effect added" in rationale
    from trendcast.agent.settings import Settings
    from trendcast.agent import workspace
    
    docs = workspace.doc_store(Settings(home=demo_copy))
    past = docs.occurrences(["Easter Sunday"], pd.Timestamp("2019-04-01").date(), pd.Timestamp("2019-03-31").date())
    assert past and all(p["event_date"] < pd.Timestamp("2019-04-01").date() for p in past)


@pytest.mark.slow
def test_a_week_with_thanksgiving_gets_its_past_effect_from_the_record(home, shared_data):
    """M5 total units (daily), the week 2015-11-20..26 as of 2015-11-19: the past Thanksgiving weeks 2011-2014
    against the other weeks near ISO week 47, from backtests known at as-of (measured: -1.4 %, shrunk -0.9 %)."""
    run("ingest", "sales", str(shared_data / "m5" / "aggregates" / "total_daily_sales.csv"), "--date", "date",
        "--value", "sales")
    run("ingest", "calendar", str(shared_data / "m5" / "calendar.csv"), "--event", "event_name_1",
        "--event", "event_name_2", "--scheduled")
    a = ask("how will total trend next week?", "--as-of", "2015-11-19")
    assert (a["period"]["start"], a["period"]["end"]) == ("2015-11-20", "2015-11-26")
    rationale = a["adjustment"]["rationale"]
    assert "Scheduled in the period: Thanksgiving (2015-11-26). In 4 past periods of this season with them" in rationale
    added = float(rationale.split("shrunk: ")[1].split(" %")[0])
    assert added != 0 and abs(added) < 5
    assert a["forecast"]["total"] == pytest.approx(a["baseline"]["total"] * (1 + a["adjustment"]["pct"] / 100),
                                                   rel=1e-6)


# --- one clock for calendar rows ---------------------------------------------------------------------------------
# Rows as in Favorita's holidays_events.csv (Corporación Favorita, Kaggle 2017): national holidays of Ecuador beside
# one-off "Event" rows such as the 2016 earthquake, which nobody knew of before it happened.
FAVORITA_ROWS = [
    ("2016-01-01", "Holiday", "Primer dia del ano"),
    ("2016-03-25", "Holiday", "Viernes Santo"),
    ("2016-04-16", "Event", "Terremoto Manabi"),
    ("2016-04-17", "Event", "Terremoto Manabi+1"),
    ("2016-05-01", "Holiday", "Dia del Trabajo"),
    ("2016-05-01", "Event", "Terremoto Manabi+15"),
    ("2016-05-08", "Event", "Dia de la Madre"),
    ("2016-05-24", "Holiday", "Batalla de Pichincha"),
    ("2016-12-25", "Holiday", "Navidad"),
]
DAY = pd.Timestamp


def favorita_calendar(path, rows=FAVORITA_ROWS, dayfirst=False, known=None):
    frame = pd.DataFrame(rows, columns=["date", "type", "description"])
    if dayfirst:
        frame["date"] = [DAY(d).strftime("%d/%m/%Y") for d in frame["date"]]
    if known is not None:
        frame["announced"] = [known.get(t, "") for t in frame["description"]]
    frame.to_csv(path, index=False)
    return path


def listed(home, start, end, as_of) -> list[str]:
    """The event names `scheduled` lists for an untagged series (what answers, prompts and daily regressors read)."""
    from trendcast.agent import workspace
    from trendcast.agent.settings import Settings
    from trendcast.agent.situation import events

    docs = workspace.doc_store(Settings(home=home))
    found = events.scheduled(docs, {"x"}, DAY(start).date(), DAY(end).date(), DAY(as_of).date())
    return [e.text for e in found]


def test_an_unscheduled_event_counts_only_from_its_own_day(home, tmp_path):
    run("ingest", "calendar", str(favorita_calendar(tmp_path / "holidays_events.csv")), "--event", "description")
    assert listed(home, "2016-04-01", "2016-04-30", "2016-03-31") == []  # the earthquake is not known in March
    assert listed(home, "2016-04-01", "2016-04-30", "2016-04-16") == ["Terremoto Manabi"]  # on its day it is
    assert listed(home, "2016-05-01", "2016-05-31", "2016-04-30") == []  # nothing declared: holidays too
    from trendcast.agent import workspace
    from trendcast.agent.settings import Settings

    docs = workspace.doc_store(Settings(home=home))
    assert docs.occurrences(["Terremoto Manabi"], DAY("2017-01-01").date(), DAY("2016-04-15").date()) == []


def test_the_holidays_library_knows_a_countrys_holidays_ahead(home, tmp_path):
    """--country EC: rows the `holidays` library names on their day are known ahead, the earthquake's aftermath and
    Mother's Day (not a public holiday) only from their own day; day-first dates are detected as for sales."""
    out = run("ingest", "calendar", str(favorita_calendar(tmp_path / "hol.csv", dayfirst=True)),
              "--event", "description", "--country", "EC").output
    assert "known ahead: 5 of 9 events (holidays of EC" in out
    assert listed(home, "2016-05-01", "2016-05-31", "2016-04-30") == ["Dia del Trabajo", "Batalla de Pichincha"]
    assert listed(home, "2016-05-01", "2016-05-31", "2016-05-08") == [
        "Dia del Trabajo", "Terremoto Manabi+15", "Dia de la Madre", "Batalla de Pichincha"]
    assert listed(home, "2016-12-01", "2016-12-31", "2015-12-31") == ["Navidad"]  # a year ahead


def test_a_scheduled_file_or_a_known_column_says_when_rows_were_known(home, tmp_path):
    run("ingest", "calendar", str(favorita_calendar(tmp_path / "a.csv", known={"Dia de la Madre": "2016-04-01"})),
        "--event", "description", "--known", "announced")
    assert listed(home, "2016-05-01", "2016-05-31", "2016-04-30") == ["Dia de la Madre"]
    black_friday = [("2016-11-25", "Event", "Black Friday")]
    run("ingest", "calendar", str(favorita_calendar(tmp_path / "b.csv", rows=black_friday)), "--event", "description",
        "--scheduled")
    assert listed(home, "2016-11-01", "2016-11-30", "2016-01-31") == ["Black Friday"]


def test_the_demos_computed_holidays_are_known_ahead(home):
    from trendcast.agent.cli.demo import ingest_holidays
    from trendcast.agent.settings import Settings

    s = ingest_holidays(Settings(home=home), 2019, 2020)
    assert s.added == s.known_ahead == len(us_retail_holidays(2019, 2020))
    assert listed(home, "2020-11-01", "2020-11-30", "2019-12-31") == [
        "Veterans Day", "Thanksgiving Day", "Black Friday", "Cyber Monday"]


def test_calendar_dates_that_read_both_ways_stop_and_name_date_format(home, tmp_path):
    path = tmp_path / "ambiguous.csv"
    pd.DataFrame({"date": ["01/05/2016", "10/08/2016"], "event": ["Dia del Trabajo", "Primer Grito"]}).to_csv(
        path, index=False)
    out = run("ingest", "calendar", str(path), "--event", "event", code=2).output
    assert "'01/05/2016' read both day-first (2016-05-01) and month-first (2016-01-05)" in out
    assert "--date-format" in out
    run("ingest", "calendar", str(path), "--event", "event", "--dayfirst")
    assert listed(home, "2016-05-01", "2016-05-31", "2016-05-01") == ["Dia del Trabajo"]
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"date": ["2016-05-01", "May 35"], "event": ["a", "b"]}).to_csv(bad, index=False)
    out = run("ingest", "calendar", str(bad), "--event", "event", code=2).output
    assert "row 2" in out and "'May 35' is not a date" in out and "--date-format" in out


@pytest.mark.slow
def test_tamper_a_future_unscheduled_event_reaches_no_prompt_answer_or_list(home, tmp_path):
    """The tamper oracle for events: as of 2016-04-30, adding events dated in May that nobody declared known
    (the earthquake's aftermath, Mother's Day, a strike) changes nothing the LLM is sent or the answer says; the
    holidays of Ecuador the library knows are listed and sent."""
    from openai_server import OpenAIServer, adjustment_reply

    run("ingest", "sales", str(MRTS_FILE), "--date", "month", "--value", "sales_musd", "--id", "naics_code",
        "--name", "kind_of_business", "--where", "adjustment=NSA", "--code-hierarchy")
    past = [r for r in FAVORITA_ROWS if r[0] <= "2016-04-30" or r[1] == "Holiday"]
    run("ingest", "calendar", str(favorita_calendar(tmp_path / "known.csv", rows=past)), "--event", "description",
        "--country", "EC")

    def ask_llm() -> tuple[dict, list]:
        with OpenAIServer(lambda body, i: adjustment_reply(body, cite="")) as server:
            env = {"TRENDCAST_LLM_URL": server.url, "TRENDCAST_LLM_MODEL": server.model}
            r = CliRunner().invoke(cli, ["ask", "how will clothing stores trend next month?", "--as-of",
                                         "2016-04-30", "--adjuster", "llm", "--json"], env=env)
            assert r.exit_code == 0, r.output
            (body,) = server.chat_bodies
        answer = json.loads(r.stdout)
        answer.pop("timings", None)
        return answer, body["messages"]

    before, prompt = ask_llm()
    assert [e["text"] for e in before["scheduled"]] == ["Dia del Trabajo", "Batalla de Pichincha"]
    assert "Dia del Trabajo" in json.dumps(prompt)
    future = FAVORITA_ROWS + [("2016-05-20", "Event", "Paro nacional")]
    run("ingest", "calendar", str(favorita_calendar(tmp_path / "all.csv", rows=future)), "--event", "description",
        "--country", "EC")
    after, prompt_after = ask_llm()
    assert "Terremoto" not in json.dumps(prompt_after) and "Paro" not in json.dumps(prompt_after)
    assert prompt_after == prompt
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)


def test_an_event_document_without_a_publication_date_counts_from_its_event_day(home, tmp_path):
    path = tmp_path / "events.csv"
    pd.DataFrame({"day": ["2016-04-16"], "text": ["Earthquake in Manabi closes stores"]}).to_csv(path, index=False)
    run("ingest", "docs", str(path), "--kind", "event", "--event-date", "day")
    assert listed(home, "2016-04-01", "2016-04-30", "2016-03-31") == []
    assert listed(home, "2016-04-01", "2016-04-30", "2016-04-16") == ["Earthquake in Manabi closes stores"]
