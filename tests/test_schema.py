"""TrendAdjustment business rules and the JSON schema the LLM is constrained to."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from trendcast.agent.adjusters.schema import TrendAdjustment, adjustment_json_schema, direction_for, validation_context


def answer(**overrides) -> dict:
    base = {"direction": "up", "change_pct": 4.0, "confidence": 0.6,
            "drivers": [{"evidence_id": "D1", "effect": "up", "note": "promo season"}], "rationale": "Promotions."}
    return {**base, **overrides}


def check(data: dict, **ctx) -> TrendAdjustment:
    return TrendAdjustment.model_validate_json(json.dumps(data), context=validation_context(**ctx) if ctx else None)


def error_text(data: dict, **ctx) -> str:
    with pytest.raises(ValidationError) as info:
        check(data, **ctx)
    return str(info.value)


def test_valid_answer_parses_and_gives_factor():
    adj = check(answer(change_pct=-20.0, direction="down", drivers=[]), evidence_ids=["D1"])
    assert adj.factor == pytest.approx(0.8)


def test_defaults_without_context():
    assert check(answer(change_pct=199.0)).change_pct == 199.0
    assert "between -90 and 200" in error_text(answer(change_pct=250.0))
    assert check(answer(drivers=[{"evidence_id": "anything", "effect": "up", "note": ""}]))  # no id check


def test_bounds_come_from_context():
    msg = error_text(answer(change_pct=40.0), min_pct=-30, max_pct=30)
    assert "change_pct must be between -30 and 30 (percent), got 40" in msg


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_rejected(value):
    raw = json.dumps(answer()).replace('"change_pct": 4.0', f'"change_pct": {value}')
    with pytest.raises(ValidationError, match="finite"):
        TrendAdjustment.model_validate_json(raw)


def test_confidence_is_a_probability():
    assert "confidence" in error_text(answer(confidence=1.5))


@pytest.mark.parametrize(("direction", "change"), [("up", 0.5), ("flat", 3.0), ("down", 2.0), ("up", -2.0),
                                                  ("flat", -1.01)])
def test_direction_must_agree_with_sign(direction, change):
    msg = error_text(answer(direction=direction, change_pct=change), flat_band_pct=1.0)
    assert f"direction '{direction}' contradicts change_pct" in msg
    assert f"(here: '{direction_for(change, 1.0)}')" in msg


def test_flat_band_edges_are_flat():
    for change in (1.0, -1.0, 0.0):
        assert check(answer(direction="flat", change_pct=change), flat_band_pct=1.0).direction == "flat"
    assert check(answer(direction="flat", change_pct=2.5), flat_band_pct=3.0).direction == "flat"


def test_cited_ids_must_be_given():
    msg = error_text(answer(drivers=[{"evidence_id": "D9", "effect": "up", "note": "x"}]), evidence_ids={"D1", "D2"})
    assert "drivers cite evidence ids that were not given: D9; cite only these ids: D1, D2" in msg
    msg = error_text(answer(), evidence_ids=set())
    assert "none were given, so drivers must be empty" in msg


def test_extra_fields_and_long_rationale_rejected():
    assert "extra" in error_text(answer(mood="sunny")).lower()
    assert "600" in error_text(answer(rationale="x" * 601))


@given(st.floats(min_value=-90, max_value=200, allow_nan=False), st.floats(min_value=0, max_value=10))
def test_direction_for_always_validates(change, band):
    direction = direction_for(change, band)
    adj = check(answer(direction=direction, change_pct=change, drivers=[]), flat_band_pct=band)
    assert adj.direction == direction
    assert (direction == "flat") == (abs(change) <= band)


def test_json_schema_is_inline_strict_and_bounded():
    schema = adjustment_json_schema(-50, 60)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text and '"title"' not in text
    assert schema["properties"]["change_pct"]["minimum"] == -50.0
    assert schema["properties"]["change_pct"]["maximum"] == 60.0
    assert (schema["properties"]["confidence"]["minimum"], schema["properties"]["confidence"]["maximum"]) == (0, 1)
    objects = [schema, schema["properties"]["drivers"]["items"]]
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert schema["properties"]["direction"]["enum"] == ["up", "flat", "down"]


def test_json_schema_rejects_inverted_bounds():
    with pytest.raises(ValueError):
        adjustment_json_schema(10, -10)


def test_schema_bounds_match_validation():
    schema = adjustment_json_schema(-30, 30)
    lo, hi = schema["properties"]["change_pct"]["minimum"], schema["properties"]["change_pct"]["maximum"]
    assert check(answer(change_pct=hi, drivers=[]), min_pct=lo, max_pct=hi).change_pct == hi
    with pytest.raises(ValidationError):
        check(answer(change_pct=hi + 0.1, drivers=[]), min_pct=lo, max_pct=hi)
