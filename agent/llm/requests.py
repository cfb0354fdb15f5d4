"""What goes to the LLM client and what comes back: `ChatRequest` (messages, schema, how to validate the reply),
`LLMResult` (ok or why not), `Ping` (is the server there)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from trendcast.agent.llm.json_schema import inline_refs

Message = dict[str, str]


@dataclass
class ChatRequest:
    """One question for the model, and how to check its reply: either `validate(text)` (returns the parsed value,
    raises ValidationError/ValueError) or `model_cls` validated from JSON under the pydantic `validation_context`.
    A rejection's message is shown to the model on a re-ask. json_schema None: the model_cls's schema, or, without
    model_cls, no structured output."""

    messages: list[Message]
    json_schema: dict | None = None
    schema_name: str | None = None
    validate: Callable[[str], Any] | None = None
    model_cls: type[BaseModel] | None = None
    validation_context: dict | None = None
    prompt_id: str | None = None  # e.g. "few-shot@1"
    tag: str | None = None  # e.g. "4431@2024-03-31" (series id and as-of), shown in the call log
    metadata: dict | None = None  # free JSON-able details for the call log

    def __post_init__(self) -> None:
        if (self.validate is None) == (self.model_cls is None):
            raise TypeError("ChatRequest needs exactly one of validate= or model_cls=")
        if self.model_cls is not None:
            if self.json_schema is None:
                self.json_schema = inline_refs(self.model_cls.model_json_schema())
            self.schema_name = self.schema_name or self.model_cls.__name__

    def parse(self, text: str) -> Any:
        """The validated value of a reply's text, or the exception that rejects it."""
        if self.validate is not None:
            return self.validate(text)
        assert self.model_cls is not None  # __post_init__: exactly one of validate and model_cls
        return self.model_cls.model_validate_json(text, context=self.validation_context)

    def response_format(self) -> dict | None:
        """The schema as the json_schema dialect sends it (also the cache key's part: the same whatever the dialect
        a server takes it in, agent.llm.dialects)."""
        if self.json_schema is None:
            return None
        return {"type": "json_schema", "json_schema": {"name": self.schema_name or "answer",
                                                        "schema": self.json_schema, "strict": True}}


@dataclass
class LLMResult:
    ok: bool
    value: Any = None  # what validate returned (ok only)
    error: str | None = None  # one line (not ok only)
    status: str = "ok"  # ok | cache_hit | invalid | http_error | timeout | unreachable | not_configured | error
    attempts: int = 0  # asks sent (1 + re-asks); 0 for a cache hit
    calls: int = 0  # HTTP calls, transport retries included
    cached: bool = False
    latency_s: float = 0.0  # wall time for the whole request
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    raw: str | None = None  # the last reply's text as the server sent it
    model: str | None = None
    dialect: str | None = None  # the structured-output dialect the request was last sent in (agent.llm.dialects)
    problems: list[str] = field(default_factory=list)  # the kind of each rejected reply, in order (llm.problems)
    switched_from: list[str] = field(default_factory=list)  # dialects the server refused for this request
    server: str | None = None  # the server (URL without credentials) of its last HTTP call
    warnings: list[str] = field(default_factory=list)  # servers out of the rotation during the batch (agent.llm.pool)


@dataclass
class Ping:
    ok: bool
    url: str | None
    models: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    error: str | None = None
    endpoints: list["Ping"] = field(default_factory=list)  # each server's own, when several are configured
