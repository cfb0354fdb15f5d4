"""The structured adjustment an LLM (or any adjuster) returns, and the JSON schema the LLM is constrained to.

Business rules live in the validators (instructor-style), so that one `model_validate_json(..., context=...)` both
parses and checks a reply, and its error messages can be pasted back to the model as they are. The validation
context is `{"evidence_ids": set[str], "min_pct": float, "max_pct": float, "flat_band_pct": float, "examples":
[{"label", "pct", "numbers"}], "own_numbers": [float]}`; every key is optional (defaults below; no evidence-id check
without `evidence_ids`, no copy check without `examples`). Each business rule fails with its own error type
(`out_of_bounds`, `unknown_evidence`, `direction_sign`, `copied_example`: agent.llm.problems counts them).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import re

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from trendcast.agent.llm.json_schema import inline_refs

DEFAULT_MIN_PCT = -90.0
DEFAULT_MAX_PCT = 200.0
DEFAULT_FLAT_BAND_PCT = 1.0
MAX_RATIONALE_CHARS = 600
MAX_NOTE_CHARS = 200
MAX_DRIVERS = 10


class Driver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence_id: str = Field(min_length=1, max_length=40, description="id of one evidence item, exactly as given")
    effect: Literal["up", "down", "neutral"] = Field(description="which way this evidence pushes the period's total")
    note: str = Field(max_length=MAX_NOTE_CHARS, description="why, in a few words")


class TrendAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["up", "flat", "down"] = Field(description="sign of change_pct; flat inside the flat band")
    change_pct: float = Field(description="percent change to apply to the baseline total, e.g. -20.0 means x0.8")
    confidence: float = Field(ge=0.0, le=1.0, description="0..1, how sure you are that the adjustment helps")
    drivers: list[Driver] = Field(max_length=MAX_DRIVERS, description="evidence items that move the estimate")
    rationale: str = Field(max_length=MAX_RATIONALE_CHARS, description="two or three sentences")

    @field_validator("change_pct", "confidence")
    @classmethod
    def _finite(cls, value: float, info: ValidationInfo) -> float:
        if not math.isfinite(value):
            raise ValueError(f"{info.field_name} must be a finite number, got {value}")
        return value

    @field_validator("change_pct")
    @classmethod
    def _within_bounds(cls, value: float, info: ValidationInfo) -> float:
        lo, hi = _bounds(info.context)
        if not lo <= value <= hi:
            raise _error("out_of_bounds", f"change_pct must be between {lo:g} and {hi:g} (percent), got {value:g}")
        return value

    @field_validator("drivers")
    @classmethod
    def _known_evidence(cls, drivers: list[Driver], info: ValidationInfo) -> list[Driver]:
        allowed = (info.context or {}).get("evidence_ids")
        if allowed is None:
            return drivers
        allowed = set(allowed)
        unknown = [d.evidence_id for d in drivers if d.evidence_id not in allowed]
        if unknown:
            given = ", ".join(sorted(allowed)) if allowed else "none were given, so drivers must be empty"
            raise _error("unknown_evidence", f"drivers cite evidence ids that were not given: {', '.join(unknown)}; "
                         f"cite only these ids: {given}")
        return drivers

    @model_validator(mode="after")
    def _direction_matches_sign(self, info: ValidationInfo) -> "TrendAdjustment":
        band = float((info.context or {}).get("flat_band_pct", DEFAULT_FLAT_BAND_PCT))
        expected = direction_for(self.change_pct, band)
        if self.direction != expected:
            raise _error(
                "direction_sign",
                f"direction '{self.direction}' contradicts change_pct {self.change_pct:g}: with a flat band of "
                f"±{band:g}%, direction must be 'flat' when |change_pct| <= {band:g}, 'up' when change_pct > "
                f"{band:g}, 'down' when change_pct < -{band:g} (here: '{expected}')"
            )
        return self

    @model_validator(mode="after")
    def _not_copied(self, info: ValidationInfo) -> "TrendAdjustment":
        """A change equal to a few-shot example's, or a rationale quoting an example's numbers that are not this
        situation's own, is a copy (small models do it), not an estimate."""
        ctx = info.context or {}
        examples = ctx.get("examples") or ()
        band = float(ctx.get("flat_band_pct", DEFAULT_FLAT_BAND_PCT))
        for ex in examples:
            if abs(self.change_pct) > band and abs(self.change_pct - float(ex["pct"])) < 0.05:
                raise _error("copied_example", f"change_pct {self.change_pct:g} is the change of the past example "
                             f"{ex['label']}, not an estimate for this period; estimate this period's change from its "
                             "own history, baseline and evidence")
        own = {round(float(v), 1) for v in ctx.get("own_numbers") or ()}
        quoted = {round(v, 1) for v in numbers_in(self.rationale)} - own
        for ex in examples:
            copied = sorted(quoted & {round(float(v), 1) for v in ex.get("numbers", ())})
            if copied:
                raise _error("copied_example", f"the rationale quotes {copied[0]:,g} from the past example "
                             f"{ex['label']}; describe this period with its own numbers")
        return self

    @property
    def factor(self) -> float:
        """Multiplier for the baseline total: 1 + change_pct / 100."""
        return 1.0 + self.change_pct / 100.0


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, "{message}", {"message": message})


_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> list[float]:
    """The numbers a text quotes (thousands separators allowed), years and one-digit counts left out."""
    out = []
    for token in _NUMBER.findall(text or ""):
        try:
            value = float(token.replace(",", ""))
        except ValueError:
            continue
        if abs(value) < 10 or (value.is_integer() and 1900 <= value <= 2100 and "," not in token):
            continue
        out.append(value)
    return out


def direction_for(change_pct: float, flat_band_pct: float = DEFAULT_FLAT_BAND_PCT) -> str:
    """The direction a change in percent implies (forecasting.adjust.direction: the product's one rule)."""
    from trendcast.forecasting.adjust import direction

    return direction(change_pct, flat_band_pct)


def validation_context(
    evidence_ids: Iterable[str] | None = None,
    min_pct: float = DEFAULT_MIN_PCT,
    max_pct: float = DEFAULT_MAX_PCT,
    flat_band_pct: float = DEFAULT_FLAT_BAND_PCT,
    examples: Iterable[dict] | None = None,
    own_numbers: Iterable[float] | None = None,
) -> dict[str, Any]:
    """The pydantic validation context for TrendAdjustment (evidence_ids None: ids are not checked; examples: the
    few-shot examples' {label, pct, numbers}, for the copy check, with `own_numbers` the situation's own)."""
    ctx: dict[str, Any] = {"min_pct": float(min_pct), "max_pct": float(max_pct), "flat_band_pct": float(flat_band_pct)}
    if evidence_ids is not None:
        ctx["evidence_ids"] = set(evidence_ids)
    if examples:
        ctx["examples"] = list(examples)
        ctx["own_numbers"] = list(own_numbers or ())
    return ctx


def _bounds(context: dict | None) -> tuple[float, float]:
    context = context or {}
    return float(context.get("min_pct", DEFAULT_MIN_PCT)), float(context.get("max_pct", DEFAULT_MAX_PCT))


def adjustment_json_schema(min_pct: float = DEFAULT_MIN_PCT, max_pct: float = DEFAULT_MAX_PCT,
                           evidence_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """JSON schema for structured output: TrendAdjustment with change_pct bounded, no `$ref`, no titles; with
    `evidence_ids`, a driver's evidence_id is one of them (an enum, so a constrained decoder cannot invent one; none
    given: no drivers at all).

    Every object lists all its properties in `required` and forbids additional ones (what OpenAI strict mode,
    vLLM/xgrammar and llguidance all accept).
    """
    if not min_pct < max_pct:
        raise ValueError(f"min_pct ({min_pct}) must be below max_pct ({max_pct})")
    schema = inline_refs(TrendAdjustment.model_json_schema())
    change = schema["properties"]["change_pct"]
    change["minimum"], change["maximum"] = float(min_pct), float(max_pct)
    if evidence_ids is not None:
        ids = sorted(set(evidence_ids))
        drivers = schema["properties"]["drivers"]
        if ids:
            drivers["items"]["properties"]["evidence_id"]["enum"] = ids
        else:
            drivers["maxItems"] = 0
    return schema
