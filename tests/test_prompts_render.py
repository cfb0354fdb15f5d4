"""Prompt templates: loading by name and version, strictness, rendering (JSON verbatim), blinding."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from types import SimpleNamespace

import pytest

from trendcast.agent.adjusters.schema import TrendAdjustment, validation_context
from trendcast.forecasting.adjust import direction
from trendcast.prompts import (PromptContext, PromptError, PromptSpec, blind_context, list_prompts, load_prompt,
                     outcome_answer_json, shift_years)

ANSWER = '{"direction": "up", "change_pct": 3.3, "confidence": 0.7, "drivers": [{"evidence_id": "D7", ' \
         '"effect": "up", "note": "tax {rebate}"}], "rationale": "Rebates {x} lifted 2023 sales."}'


def _dir(change_pct: float) -> str:
    return direction(change_pct, 1.0)


def context(**overrides) -> PromptContext:
    data = dict(
        series_name="Clothing stores", level="subsector", unit="millions of USD", freq="MS", as_of="2024-02-29",
        period_start="2024-03-01", period_end="2024-03-31",
        history=[(f"2023-{m:02d}-01", 20000 + 100 * m) for m in range(1, 13)],
        baseline_model="AutoETS", baseline_total=21000.5, lo_80=20000, hi_80=22000, lo_95=19500, hi_95=22500,
        last_period_total=20500.0, same_period_last_year=20100.0,
        evidence=[{"id": "D1", "date": "2024-02-10", "source": "Reuters",
                   "text": "Clothing stores report a strong 2024 start {not a variable}"},
                  {"id": "D2", "date": "undated", "source": None, "text": "Storm warnings"}],
        examples=[{"series_name": "Shoe stores", "origin": "2023-02-28", "period_label": "March 2023",
                   "baseline_total": 3000, "evidence": [{"id": "D7", "date": "2023-02-01", "text": "Tax rebates"}],
                   "answer_json": ANSWER}],
        min_pct=-50, max_pct=80, flat_band_pct=1.5,
    )
    return PromptContext(**{**data, **overrides})


def test_builtin_prompts_are_listed_and_versioned():
    ids = [spec.id for spec in list_prompts()]
    assert {"zero-shot@1", "few-shot@1"} <= set(ids)
    assert load_prompt("few-shot@1").id == "few-shot@1"
    assert load_prompt("few-shot").version == max(s.version for s in list_prompts() if s.name == "few-shot")
    assert load_prompt("few-shot").few_shot and not load_prompt("zero-shot").few_shot


@pytest.mark.parametrize("ref", ["few-shot@99", "nope", "few-shot@x"])
def test_unknown_prompt_names_what_exists(ref):
    with pytest.raises(PromptError, match="available: .*few-shot@1"):
        load_prompt(ref)


def test_few_shot_render_keeps_json_verbatim():
    messages = load_prompt("few-shot@1").render(context())
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert ANSWER in user  # byte for byte, braces included
    assert "{not a variable}" in user
    assert "Evidence ids you may cite: D1, D2" in user
    assert "[D1] 2024-02-10 (Reuters): Clothing stores report" in user and "[D2] undated: Storm warnings" in user
    assert "March 2024 (2024-03-01 to 2024-03-31)" in user and "2023-12-01  21,200.0" in user
    assert "Baseline (AutoETS): 21,000.5; 80% interval 20,000.0 to 22,000.0" in user
    assert "+2.4% vs the last period" in user
    system = messages[0]["content"]
    assert "between -50 and 80" in system and "<= 1.5" in system
    assert "{" not in system  # every variable filled


def test_zero_shot_ignores_examples():
    user = load_prompt("zero-shot").render(context())[1]["content"]
    assert ANSWER not in user and "Shoe stores" not in user


def test_missing_numbers_read_as_not_available():
    ctx = context(level=None, unit=None, last_period_total=None, same_period_last_year=float("nan"), lo_80=None)
    user = load_prompt("zero-shot").render(ctx)[1]["content"]
    assert "Last period: n/a. Same period last year: n/a." in user and "80% interval n/a" in user
    assert "vs the last period and n/a vs the same period" in user


def test_few_shot_without_examples_says_so():
    assert "(no past examples available)" in load_prompt("few-shot").render(context(examples=[]))[1]["content"]


def test_templates_name_no_category():
    for spec in list_prompts():
        text = (spec.system + spec.user + (spec.example or "")).lower()
        assert "clothing" not in text and "{series_name}" in spec.user


def test_evidence_from_objects_with_attributes():
    hit = SimpleNamespace(id="D5", date=dt.date(2024, 1, 5), source="AP", text="t", kind="news", score=0.9)
    ctx = context(evidence=[hit])
    assert ctx.evidence[0].id == "D5"
    assert "[D5] 2024-01-05 (AP): t" in load_prompt("zero-shot@1").render(ctx)[1]["content"]
    assert '{"id": "D5", "date": "2024-01-05", "source": "AP", "text": "t"}' in \
        load_prompt("zero-shot").render(ctx)[1]["content"]


def write(folder, name, text):
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_user_templates_with_include_and_versions(tmp_path):
    write(tmp_path, "few-shot.v9.yaml", """\
        name: few-shot
        version: 9
        include: few-shot@1
        description: shorter instructions
        system: "Forecast carefully. Bounds {min_pct}..{max_pct}."
        """)
    spec = load_prompt("few-shot", extra_dir=tmp_path)
    assert spec.id == "few-shot@9" and spec.user == load_prompt("few-shot@1").user
    assert spec.render(context())[0]["content"] == "Forecast carefully. Bounds -50..80."
    assert load_prompt("few-shot@1", extra_dir=tmp_path).version == 1


@pytest.mark.parametrize(("text", "error"), [
    ("name: x\nversion: 1\nsystem: s\nuser: u\ncolour: red\n", "colour: Extra inputs are not permitted"),
    ("name: x\nversion: 1\nsystem: s\nuser: 'Hi {customer}'\n", "unknown template variables ['customer']"),
    ("name: x\nversion: 1\nsystem: s\nuser: 'Hi {series_name'\n", "does not parse"),
    ("name: x\nversion: 1\nsystem: s\nuser: '{examples}'\n", "has no `example` template"),
    ("name: x\nversion: 0\nsystem: s\nuser: u\n", "version"),
    ("- just a list\n", "YAML mapping"),
    ("name: zero-shot\nversion: 1\nsystem: s\nuser: u\n", "already defined"),
    ("name: x\nversion: 1\ninclude: y@1\n", "include 'y@1' is not a known prompt"),
])
def test_bad_templates_are_refused_with_the_file_named(tmp_path, text, error):
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PromptError) as info:
        list_prompts(extra_dir=tmp_path)
    assert "bad.yaml" in str(info.value) and error in str(info.value)


def test_spec_is_strict_in_python_too():
    with pytest.raises(ValueError):
        PromptSpec(name="x", version=1, system="s", user="u", extra="no")


def test_outcome_answer_is_a_valid_adjustment():
    raw = outcome_answer_json(2000.0, 1600.0, direction_of=_dir, drivers=[{"evidence_id": "D3", "effect": "down",
                                                                             "note": "closures"}])
    adj = TrendAdjustment.model_validate_json(raw, context=validation_context({"D3"}))
    assert (adj.direction, adj.change_pct) == ("down", -20.0)
    flat = json.loads(outcome_answer_json(1000.0, 1005.0, direction_of=_dir))
    assert (flat["direction"], flat["change_pct"]) == ("flat", 0.5)
    assert json.loads(outcome_answer_json(100.0, 1000.0, direction_of=_dir, max_pct=200.0))["change_pct"] == 200.0


def test_blind_context_masks_names_and_shifts_years():
    ctx = context(examples=[{"series_name": "Shoe stores", "origin": "2020-02-29", "period_label": "March 2020",
                             "baseline_total": 3000, "answer_json": ANSWER},
                            {"series_name": "Clothing stores", "origin": "2023-02-28", "period_label": "March 2023",
                             "baseline_total": 3000, "answer_json": ANSWER}])
    blind = blind_context(ctx, 7)
    assert blind.blind and blind.series_name == "Category A"
    assert [ex.series_name for ex in blind.examples] == ["Category B", "Category A"]
    assert blind.as_of == dt.date(2031, 2, 28) and blind.examples[0].origin == dt.date(2027, 2, 28)
    assert blind.history[0][0] == dt.date(2030, 1, 1) and blind.period_start == dt.date(2031, 3, 1)
    assert blind.evidence[0].text == "Category A report a strong 2031 start {not a variable}"
    assert blind.evidence[0].date == dt.date(2031, 2, 10) and blind.evidence[1].date is None
    assert json.loads(blind.examples[0].answer_json)["rationale"] == "Rebates {x} lifted 2030 sales."
    for spec in list_prompts():
        messages = spec.render(blind)
        text = "\n".join(m["content"] for m in messages)
        assert "Clothing" not in text and "Shoe" not in text and "2024" not in text and "2023" not in text
        assert "years are shifted" in messages[0]["content"]
    assert ctx.series_name == "Clothing stores"  # the original is untouched


def test_shift_years_leaves_other_numbers_alone():
    assert shift_years("In 2019 sales hit 2,019 units; id 12019; FY2020.", 3) == "In 2022 sales hit 2,019 units; " \
                                                                              "id 12019; FY2023."
