"""The adjustment: what an adjuster proposes for a situation and, once its record's trust weighed it, what the
answer applies — one model from the adjuster to the `adjustment` object of `trendcast ask --json`.

An adjuster fills the proposal (source, pct, direction, rationale, ...); agent.trust.record.apply_trust then keeps
the proposal in `proposed_pct`, sets `pct` to the change applied and `learned` to the record that weighed it; the
answer (agent.answer.assemble) adds `trust` and `record` from it. `learned`, `warnings` and `withheld` are the
pipeline's own and are not part of the JSON contract.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from trendcast.agent.warning_codes import WarningOut


class Adjustment(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: str  # the adjuster that made it: llm | carry | analog | none, or a plug-in's name
    model: str | None = None  # LLM model name, or a description of the rule (carry, analog(k=8))
    prompt: str | None = None  # name@version
    pct: float = 0.0  # the change: proposed by the adjuster; after apply_trust, the change applied
    direction: Literal["up", "flat", "down"] = "flat"
    confidence: float | None = None
    rationale: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    drivers: list[dict] = Field(default_factory=list)
    attempts: int = 0
    cached: bool = False
    # the LLM path (llm answers, and fallbacks after a failed LLM request): the structured-output dialect the server
    # accepted (agent.llm.dialects), the kind of each reply rejected on the way (agent.llm.problems.KINDS, in order),
    # and what was left out of the prompt to fit the model's context window (None: nothing)
    dialect: str | None = None
    llm_problems: list[str] = Field(default_factory=list)
    prompt_trimmed: str | None = None
    # trust from the adjuster's record (agent.trust): the change it proposed, the weight applied (pct = the trusted
    # proposal) and the record behind it; None where nothing was weighed (adjuster none)
    proposed_pct: float | None = None
    trust: float | None = None
    record: dict | None = None
    # not in the contract: warnings for the answer, a valid LLM proposal that was not applied (its numbers and the
    # reason, agent.evidence.injection.withhold_reason), and the agent.trust.learn.Learned that weighed the proposal
    warnings: list[WarningOut] = Field(default_factory=list, exclude=True)
    withheld: dict | None = Field(None, exclude=True)
    learned: SkipJsonSchema[Any] = Field(None, exclude=True, repr=False)
