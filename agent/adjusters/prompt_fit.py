"""A prompt that fits the model: rendered, measured in tokens, and trimmed until prompt + reply fit the context window.

The budget for the prompt is `llm.context_tokens - llm.max_tokens - MARGIN`. Few-shot examples go first (the last one
first: each carries its own evidence and answer), then evidence items from the least relevant (the last) up. What was
left out is said in one line (`Fitted.trimmed`), which the answer shows. A prompt that still does not fit with nothing
left to drop is sent as it is and said so: the server's refusal then becomes the request's fallback reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from trendcast.prompts import PromptContext

MARGIN = 32  # tokens kept free beyond the reply's max_tokens (template differences, the estimate's error)

Counter = Callable[[list[dict]], tuple[int, str]]


@dataclass
class Fitted:
    messages: list[dict]
    ctx: PromptContext  # the one actually rendered
    tokens: int
    counted_by: str  # "server" | "estimate"
    trimmed: str | None = None  # one line, or None when nothing was left out


def fit_prompt(spec, ctx, count: Counter, context_tokens: int, max_tokens: int) -> Fitted:
    """Render `ctx` with `spec`, dropping examples then evidence until it fits the budget."""
    budget = context_tokens - max_tokens - MARGIN
    n_examples, n_evidence = len(ctx.examples), len(ctx.evidence)
    current = ctx
    messages = spec.render(current)
    tokens, how = count(messages)
    first = tokens
    while tokens > budget and (current.examples or current.evidence):
        if current.examples:
            current = current.model_copy(update={"examples": current.examples[:-1]})
        else:
            current = current.model_copy(update={"evidence": current.evidence[:-1]})
        messages = spec.render(current)
        tokens, how = count(messages)
    trimmed = None
    dropped_ex, dropped_ev = n_examples - len(current.examples), n_evidence - len(current.evidence)
    if dropped_ex or dropped_ev:
        parts = [f"{dropped_ex} of {n_examples} examples"] if dropped_ex else []
        parts += [f"{dropped_ev} of {n_evidence} evidence items"] if dropped_ev else []
        trimmed = (f"prompt trimmed to fit {context_tokens:,} context tokens ({max_tokens:,} kept for the reply): "
                   f"left out {' and '.join(parts)}; {first:,} -> {tokens:,} tokens ({how})")
    if tokens > budget:
        note = (f"the prompt is {tokens:,} tokens ({how}), over the {budget:,} left for it in {context_tokens:,} "
                "context tokens, with nothing left to trim")
        trimmed = f"{trimmed}; {note}" if trimmed else note
    return Fitted(messages, current, tokens, how, trimmed)
