"""What was wrong with a rejected reply, as one kind from a fixed list (counted per variant by the eval), and the words
that tell the model precisely how to fix it on the re-ask.

Small models fail in a few recurring ways: an empty reply, whitespace running on to the token limit inside the JSON
(grammar-constrained decoding allows it), a reply cut off at max_tokens, free text where the schema was ignored, a
direction contradicting the sign of the change, evidence ids that were never given, numbers copied from a few-shot
example. The kinds of the schema's own checks come from the `PydanticCustomError` types raised in agent.schema.
"""
from __future__ import annotations

import re

from pydantic import ValidationError

KINDS = (
    "empty",               # no content at all
    "whitespace_runaway",  # whitespace ran on until max_tokens
    "length",              # cut off at max_tokens (finish_reason "length")
    "oversize",            # over the reply byte cap: not read
    "not_json",            # not JSON (the schema was ignored, or text around it)
    "direction_sign",      # direction contradicts the sign of change_pct
    "unknown_evidence",    # drivers cite ids that were not given
    "copied_example",      # a number copied from a few-shot example
    "out_of_bounds",       # change_pct outside the allowed range
    "schema",              # any other schema violation (missing field, wrong type, extra field)
)

_SCHEMA_KINDS = {"direction_sign", "unknown_evidence", "copied_example", "out_of_bounds"}
_WHITESPACE_RUN = re.compile(r"\s{64,}")


def classify(exc: BaseException, content: str | None, finish_reason: str | None, truncated: bool = False) -> str:
    """The kind of a rejected reply (one of KINDS)."""
    text = content or ""
    if truncated:
        return "oversize"
    if not text.strip():
        return "empty"
    if finish_reason == "length":
        stripped = len("".join(text.split()))
        return "whitespace_runaway" if _WHITESPACE_RUN.search(text) or stripped < len(text) / 2 else "length"
    if isinstance(exc, ValidationError):
        types = [str(e.get("type")) for e in exc.errors(include_url=False)]
        if "json_invalid" in types:
            return "not_json"
        for kind in types:
            if kind in _SCHEMA_KINDS:
                return kind
        return "schema"
    return "schema"


def problem_text(kind: str, problem: str, content: str | None, max_tokens: int | None) -> str:
    """The problem as the re-ask states it: the validation message, made precise for the kinds it does not explain."""
    if kind == "empty":
        return "your reply was empty; reply with the JSON object"
    if kind == "whitespace_runaway":
        start = len((content or "").rstrip()) if content else 0
        return (f"your reply ran into whitespace until the token limit ({max_tokens}) after {start} characters; "
                "write the whole JSON object on one line, with no runs of spaces or newlines")
    if kind == "not_json":
        return f"{problem}; reply with one JSON object only, no text before or after it"
    return problem
