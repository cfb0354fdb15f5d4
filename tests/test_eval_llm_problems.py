"""Issue 12: eval counts the LLM's rejected replies by kind, and the dialect(s) the server took, per variant — from
each cell's Adjustment (fast: a stand-in adjuster, no server; the end-to-end run against a protocol server is
tests/test_eval_llm.py::test_rejected_replies_are_counted_by_kind_per_variant)."""
from __future__ import annotations

import pandas as pd

from trendcast.agent.adjusters.adjustment import Adjustment
from trendcast.agent.settings import Settings
from trendcast.eval.leaderboard import counts_text
from trendcast.eval.report import dialect_counts, problem_counts
from trendcast.eval.suite import Variant
from trendcast.eval.variants import CELL_COLUMNS, OriginContext, run_variant
from tests.test_render_llm import _situation


class _Scripted:
    name = "scripted"

    def __init__(self, results):
        self.results = results

    def adjust_many(self, situations, progress=None):
        return self.results[: len(situations)]


def test_cells_carry_the_dialect_and_the_kinds_of_rejected_replies(monkeypatch):
    from trendcast.agent import engine
    
    results = [
        Adjustment(source="llm", pct=-4.0, direction="down", attempts=3, dialect="json_object",
                         llm_problems=["direction_sign", "copied_example"]),
        Adjustment(source="llm", pct=2.0, direction="up", attempts=1, dialect="json_object"),
        Adjustment(source="analog", pct=1.0, direction="flat", attempts=3, dialect="json_schema",
                         llm_problems=["not_json", "not_json", "direction_sign"]),
        Adjustment(source="analog", pct=0.5, direction="flat", attempts=1),  # an unreachable server
    ]
    monkeypatch.setattr(engine, "get_adjuster", lambda name, settings, **deps: _Scripted(results))
    oc = OriginContext(settings=Settings(), store=None, series=pd.DataFrame(), base=pd.DataFrame(),
                       horizon="next-month", members=[])
    oc.preset({"combined": [_situation() for _ in results]})
    frame, _ = run_variant(oc, Variant(name="llm", adjuster="analog"))
    assert list(frame.columns) == CELL_COLUMNS
    assert frame["dialect"].tolist() == ["json_object", "json_object", "json_schema", ""]
    assert frame["llm_problems"].tolist() == ["direction_sign copied_example", "", "not_json not_json direction_sign",
                                              ""]
    assert problem_counts(frame) == {"direction_sign": 2, "not_json": 2, "copied_example": 1}
    assert dialect_counts(frame) == {"json_object": 2, "json_schema": 1}
    assert counts_text(problem_counts(frame)) == "direction_sign 2, not_json 2, copied_example 1"


def test_counts_of_parts_written_before_the_columns_existed():
    old = pd.DataFrame({"variant": ["llm", "llm"], "source": ["llm", "llm"]})  # a resumed run's older part
    new = pd.DataFrame({"variant": ["llm"], "source": ["llm"], "dialect": ["json_schema"],
                        "llm_problems": ["empty"]})
    both = pd.concat([old, new], ignore_index=True)
    assert problem_counts(both) == {"empty": 1} and dialect_counts(both) == {"json_schema": 1}
    assert problem_counts(old) == {} and dialect_counts(old) == {} and counts_text({}) == ""
