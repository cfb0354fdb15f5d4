"""An adjuster's record in a real workspace (agent.record, agent.answers_log): past answers join it once their
period is observed, eval runs' cells join it, and nothing after the as-of does."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from trendcast.agent import engine
from trendcast.agent.settings import Settings


def _ask(home, as_of: dt.date):
    return engine.answer(Settings(home=home), "how will clothing stores trend next month?", as_of=as_of,
                         adjuster="carry")


@pytest.mark.slow
def test_a_past_answer_joins_the_record_once_its_month_is_observed(demo_copy):
    first = _ask(demo_copy, dt.date(2020, 1, 31))  # about February 2020
    assert first.adjustment.record["n"] == 0 and first.adjustment.trust == 1.0  # the prior: no record yet
    assert first.adjustment.proposed_pct == pytest.approx(first.adjustment.pct)
    again = _ask(demo_copy, dt.date(2020, 1, 31))  # the same question again replaces its row
    assert again.adjustment.record["n"] == 0  # February is not observed at 2020-01-31
    later = _ask(demo_copy, dt.date(2020, 2, 29))
    assert later.adjustment.record["n"] == 1  # the February answer, now with its outcome
    rec = engine.workspace_record(Settings(home=demo_copy), "carry", "MS", dt.date(2020, 2, 29))
    assert len(rec) == 1
    row = rec.iloc[0]
    store = engine.workspace.sales_store(Settings(home=demo_copy))
    feb = store.history("4481").set_index("ds").loc[pd.Timestamp("2020-02-01"), "y"]
    assert row["actual"] == feb and row["baseline"] == pytest.approx(first.baseline.total)
    assert row["pct"] == pytest.approx(first.adjustment.proposed_pct)
    # read as of a date before February ended, the same row is not in the record
    assert engine.workspace_record(Settings(home=demo_copy), "carry", "MS", dt.date(2020, 2, 28)).empty


@pytest.mark.slow
def test_an_eval_run_is_a_record_and_answers_weigh_by_it(demo_copy):
    """A finished eval run's carry cells are carry's record: an answer after them reports their count and the trust
    learned from them; a run's `+trust` variants are not counted twice."""
    from trendcast.eval.harness import run_suite
    from trendcast.eval.suite import load_suite

    settings = Settings(home=demo_copy)
    assert not (demo_copy / "record.sqlite").exists()  # no past answers yet: the record is the run's cells alone
    suite = load_suite("mrts-smoke-llm").select(skip=["llm", "analog"])
    run = run_suite(suite, settings, demo_copy / "runs" / "smoke")
    cells = pd.read_parquet(run / "cells.parquet")
    raw = cells[cells["variant"] == "carry"]
    assert (raw["key"] == "carry").all() and (cells["variant"] == "carry+trust").any()
    as_of = dt.date(2020, 4, 30)  # every cell's month (Feb..Apr 2020) observed
    rec = engine.workspace_record(settings, "carry", "MS", as_of)
    assert len(rec) == len(raw) == 9
    learned = engine.learn_trust(rec, "carry")
    a = engine.answer(settings, "how will gasoline stations trend next month?", as_of=as_of, adjuster="carry")
    assert a.adjustment.record["n"] == 9  # no past answers in this workspace yet
    assert a.adjustment.record["trust_down"] == round(learned.down, 4)
    assert a.adjustment.record["trust_up"] == round(learned.up, 4)
    # the record as of 2020-02-29 holds only the cells about February
    early = engine.workspace_record(settings, "carry", "MS", dt.date(2020, 2, 29))
    assert len(early) == 3 and (pd.to_datetime(early["period_end"]) <= "2020-02-29").all()
