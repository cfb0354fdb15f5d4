"""Issue 12: answers and `trendcast logs` show the LLM's side — the structured-output dialect the server took, the
kind of each rejected reply, what was trimmed from the prompt — and the JSON contract only gains fields."""
from __future__ import annotations

import datetime as dt
import io
import re
from types import SimpleNamespace

import pandas as pd
from rich.console import Console

from trendcast.agent.adjusters.registry import Adjustment
from trendcast.agent.answer.model import Adjustment, Answer
from trendcast.agent.cli.console import llm_line, print_answer
from trendcast.agent.cli.tables import print_logs
from trendcast.agent.settings import Settings


TRIMMED = ("prompt trimmed to fit 2,048 context tokens (800 kept for the reply): left out 2 of 4 examples and 3 of 8 "
           "evidence items; 2,950 -> 1,180 tokens (estimate)")  # agent.prompt_fit's one line


def _situation():
    from trendcast.forecasting.baseline import BaselineForecast
    from trendcast.forecasting.comparisons import Span
    from trendcast.forecasting.periods import Period

    period = Period(dt.date(2020, 4, 1), dt.date(2020, 4, 30))
    steps = pd.DataFrame({"ds": [pd.Timestamp("2020-04-01")], "mean": [100.0], "lo_80": [90.0], "hi_80": [110.0],
                          "lo_95": [80.0], "hi_95": [120.0]})
    baseline = BaselineForecast(model="AutoETS", total=100.0, lo_80=90.0, hi_80=110.0, lo_95=80.0, hi_95=120.0,
                                steps=steps, members={"AutoETS": 100.0}, warnings=[], period=period,
                                as_of=dt.date(2020, 3, 31))
    history = pd.DataFrame({"ds": pd.date_range("2019-01-01", "2020-03-01", freq="MS"), "y": [95.0] * 15})
    span = Span(start=dt.date(2020, 3, 1), end=dt.date(2020, 3, 31), steps=1, total=95.0)
    target = SimpleNamespace(series_id="4482", name="Shoe stores", level="4-digit", resolved_by="name", freq="MS")
    return SimpleNamespace(question="how will shoe stores trend?", target=target, as_of=dt.date(2020, 3, 31),
                           horizon="next-month", period=period, history=history, baseline=baseline, last=span,
                           last_year=None, evidence=[], cases=[], unit=None, warnings=[], timings={},
                           last_period_total=95.0, same_period_last_year=None, misses=None, break_extent=(0.0, 0.0))


def _answer(**adj) -> Answer:
    from trendcast.agent.answer.assemble import assemble

    return assemble(_situation(), Adjustment(**adj), Settings())


def _printed(answer: Answer, width: int = 200) -> str:
    c = Console(file=io.StringIO(), width=width, color_system=None)
    print_answer(answer, console=c)
    return c.file.getvalue()


def test_assemble_carries_dialect_problems_and_trim_into_the_answer():
    a = _answer(source="llm", pct=-4.0, direction="down", model="smollm2", prompt="few-shot@2", attempts=3,
                dialect="json_object", llm_problems=["direction_sign", "copied_example"],
                prompt_trimmed=TRIMMED)
    adj = a.adjustment
    assert adj.dialect == "json_object" and adj.llm_problems == ["direction_sign", "copied_example"]
    assert adj.prompt_trimmed == TRIMMED
    out = " ".join(_printed(a).split())
    assert "LLM: smollm2 · dialect json_object · 2 re-asks (direction_sign, copied_example)" in out
    assert TRIMMED in out


def test_the_json_contract_only_gains_fields():
    a = _answer(source="analog", pct=1.5, direction="up", model="analog(k=8)")
    data = a.model_dump(mode="json")
    assert data["adjustment"]["dialect"] is None and data["adjustment"]["llm_problems"] == []
    assert data["adjustment"]["prompt_trimmed"] is None
    # an answer written before the fields existed still reads
    old = {k: v for k, v in data["adjustment"].items() if k not in ("dialect", "llm_problems", "prompt_trimmed")}
    assert Adjustment.model_validate(old).llm_problems == []
    assert Answer.model_validate({**data, "adjustment": old}).adjustment.dialect is None


def test_the_llm_line_only_where_the_llm_was_involved():
    assert llm_line(Adjustment(source="analog", model="analog(k=8)")) is None
    assert llm_line(Adjustment(source="none")) is None
    assert "LLM" not in _printed(_answer(source="none"))
    ok = Adjustment(source="llm", model="qwen", dialect="json_schema", attempts=1)
    assert llm_line(ok) == "LLM: qwen · dialect json_schema · valid on the first reply"
    cached = Adjustment(source="llm", model="qwen", cached=True)
    assert llm_line(cached) == "LLM: qwen · cached reply"
    one = Adjustment(source="llm", model="qwen", dialect="structured_outputs", attempts=2,
                        llm_problems=["not_json"])
    assert llm_line(one) == "LLM: qwen · dialect structured_outputs · 1 re-ask (not_json)"
    # a fallback after the LLM's replies were all rejected: the analog stands in, the kinds still show
    failed = Adjustment(source="analog", model="analog(k=8)", attempts=3, dialect="json_object",
                           llm_problems=["empty", "whitespace_runaway", "whitespace_runaway"])
    assert llm_line(failed) == ("LLM: not applied, analog stands in · dialect json_object · 3 rejected replies "
                                "(empty, whitespace_runaway, whitespace_runaway)")
    # an unreachable server: asked once, no dialect settled, no reply rejected
    assert llm_line(Adjustment(source="analog", attempts=1)) == "LLM: not applied, analog stands in"


def test_the_llm_line_keeps_brackets_as_text():
    a = _answer(source="llm", model="[bold]m[/]", dialect="json_schema", attempts=1, prompt_trimmed="[/x] evidence")
    out = _printed(a)
    assert "LLM: [bold]m[/] · dialect json_schema" in out and "[/x] evidence" in out


ROWS = [
    {"id": 1234, "time": "2026-12-01T13:20:01.123+00:00", "model": "smollm2-135m-instruct",
     "prompt_id": "few-shot@2", "tag": "4482@2020-03-31", "attempt": 2, "retry": 0, "status": "invalid",
     "latency_s": 1.234, "prompt_tokens": 2345, "completion_tokens": 87, "dialect": "json_object",
     "problem": "direction_sign",
     "error": "direction_sign: 1 validation error for TrendAdjustment: Value error, direction 'up' contradicts "
              "change_pct -4.0 (down beyond the flat band of 1.0 %); set direction to 'down' or change the sign"},
    {"id": 1235, "time": "2026-12-01T13:20:02.456+00:00", "model": "smollm2-135m-instruct",
     "prompt_id": "few-shot@2", "tag": "4481@2020-03-31", "attempt": 1, "retry": 1, "status": "http_error",
     "latency_s": 0.2, "prompt_tokens": None, "completion_tokens": None, "dialect": "json_schema", "problem": None,
     "error": "HTTP 500 from http://127.0.0.1:8000/v1: response_format.type: Input should be 'text' or "
              "'json_object'"},
    {"id": 1236, "time": "2026-12-01T13:20:03.789+00:00", "model": "smollm2-135m-instruct",
     "prompt_id": "few-shot@2", "tag": "448@2020-03-31", "attempt": 1, "retry": 0, "status": "ok",
     "latency_s": 3.5, "prompt_tokens": 2000, "completion_tokens": 60, "dialect": "json_object", "problem": None,
     "error": None},
    # a row from before the dialect/problem columns: the problem kind only in the error text, no dialect
    {"id": 7, "time": "2026-11-30T09:00:00.000+00:00", "model": "smollm2-135m-instruct", "prompt_id": "few-shot@1",
     "tag": "441@2020-02-29", "attempt": 1, "retry": 0, "status": "invalid", "latency_s": 0.5,
     "prompt_tokens": 10, "completion_tokens": 2, "error": "Invalid JSON: EOF while parsing"},
]


def _logs(rows, width: int) -> str:
    c = Console(file=io.StringIO(), width=width, color_system=None)
    print_logs(rows, console=c)
    return c.file.getvalue()


def test_logs_read_at_80_columns():
    out = _logs(ROWS, 80)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    flat = " ".join(out.split())
    # every field whole: time as HH:MM:SS, tags, dialects, tokens as p+c, the model once in the title
    assert "LLM calls, model smollm2-135m-instruct" in flat
    for text in ("13:20:01", "13:20:02", "4482@2020-03-31", "448@2020-03-31", "few-shot@2", "2 invalid",
                 "json_object", "json_schema", "1.23s", "2345+87", "0+0", "1.1 http_error"):
        assert text in flat, text
    # the problem kind leads its error, once, and the error text is all there, wrapped at word boundaries in a
    # column wide enough to read (no word-per-line shrinking)
    start = next(line.index("direction_sign") for line in lines if "direction_sign" in line)
    assert 80 - start >= 28
    column = _column(lines, start)
    assert column[0] == ROWS[0]["error"]
    assert column[1] == ROWS[1]["error"]
    assert flat.count("direction_sign") == 1
    assert column[3] == "Invalid JSON: EOF while parsing"
    error_lines = [line[start:].strip() for line in lines if len(line) > start and line[start:].strip()]
    assert sum(len(x.split()) for x in error_lines) / len(error_lines) > 3


def _column(lines: list[str], start: int) -> list[str]:
    """The text of the column that starts at `start`, one string per table row (rows are separated by a blank
    line, the header by a rule)."""
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("─")) + 1:]
    rows, cur = [], []
    for line in body + [""]:
        if not line.strip():
            if cur:
                rows.append(" ".join(x for x in cur if x))
            cur = []
            continue
        cur.append(line[start:].strip())
    return rows


def test_logs_name_each_rows_model_when_they_differ_and_fit_wide_terminals():
    rows = [dict(ROWS[0]), {**ROWS[1], "model": "Qwen/Qwen2.5-7B-Instruct"}]
    out80 = _logs(rows, 80)
    assert max(len(line) for line in out80.splitlines()) <= 80
    assert "LLM calls, model" not in out80
    assert "smollm2" in out80 and "Qwen" in out80
    wide = _logs(ROWS, 200)
    line = next(x for x in wide.splitlines() if "direction_sign" in x)
    assert re.search(r"direction_sign: 1 validation error for TrendAdjustment: Value error, direction 'up'", line)


def test_logs_of_rows_without_the_new_columns():
    out = " ".join(_logs([ROWS[3]], 80).split())
    assert "Invalid JSON: EOF while parsing" in out and "09:00:00" in out
