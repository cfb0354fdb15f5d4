"""The ChatRequest for a TrendAdjustment: its schema bounded by the settings, its reply checked against the evidence."""
from __future__ import annotations

from collections.abc import Iterable

from trendcast.agent.llm.requests import ChatRequest, Message
from trendcast.agent.adjusters.schema import (DEFAULT_FLAT_BAND_PCT, DEFAULT_MAX_PCT, DEFAULT_MIN_PCT, TrendAdjustment,
                          adjustment_json_schema, validation_context)

SCHEMA_NAME = "trend_adjustment"


def adjustment_request(
    messages: list[Message],
    evidence_ids: Iterable[str],
    *,
    min_pct: float = DEFAULT_MIN_PCT,
    max_pct: float = DEFAULT_MAX_PCT,
    flat_band_pct: float = DEFAULT_FLAT_BAND_PCT,
    prompt_id: str | None = None,
    tag: str | None = None,
    metadata: dict | None = None,
    examples: Iterable[dict] | None = None,
    own_numbers: Iterable[float] | None = None,
) -> ChatRequest:
    """A request whose reply must be a TrendAdjustment citing only `evidence_ids`, within [min_pct, max_pct], and
    copying no few-shot example's numbers (`examples`: {label, pct, numbers}; `own_numbers`: the situation's own)."""
    evidence_ids = list(evidence_ids)
    return ChatRequest(
        messages=messages, json_schema=adjustment_json_schema(min_pct, max_pct, evidence_ids), schema_name=SCHEMA_NAME,
        model_cls=TrendAdjustment, validation_context=validation_context(evidence_ids, min_pct, max_pct, flat_band_pct,
                                                             examples, own_numbers),
        prompt_id=prompt_id, tag=tag, metadata=metadata,
    )
