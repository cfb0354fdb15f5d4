"""Turning a model's reply into something to validate, and a rejection into words the model can act on."""
from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)\n?```$", re.DOTALL)
_THINK = re.compile(r"^<think>.*?</think>", re.DOTALL)


def clean_reply(text: str | None) -> str:
    """The JSON a reply carries: whitespace, a leading <think>…</think> block and ``` fences removed."""
    text = (text or "").strip()
    text = _THINK.sub("", text, count=1).strip()
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def describe_problem(exc: BaseException) -> str:
    """One line naming each thing wrong with a reply, fit to paste back to the model."""
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False):
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            if err.get("type") == "json_invalid":
                parts.append(f"the reply is not valid JSON ({msg})")
                continue
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {msg}" if loc else msg)
        text = "; ".join(parts) or str(exc)
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def reask_message(problem: str, finish_reason: str | None = None, max_tokens: int | None = None) -> str:
    """The user turn that follows a rejected reply."""
    cut = ""
    if finish_reason == "length":
        cut = f"Your reply was cut off at the token limit ({max_tokens}); keep every text field short. "
    return (
        f"{cut}Your previous reply was rejected: {problem}\n"
        "Reply again with only the corrected JSON object, matching the schema, and nothing else."
    )


ECHO_MIN_CHARS = 16_384  # a rejected reply up to max(this, 8 x max_tokens) characters is shown back to the model


def oversize_problem(size: int | None, cap: int) -> str:
    """The problem with a reply over the byte cap (it was not read, so it cannot be told more precisely)."""
    said = f"was {size:,} bytes, over" if size is not None else "went over"
    return (f"your reply {said} the {cap:,}-byte limit, so it was not read; answer with the JSON object only, every "
            "text field short")


def reask_turns(content: str | None, problem: str, finish_reason: str | None = None, max_tokens: int | None = None,
                *, truncated: bool = False, size: int | None = None) -> list[dict[str, str]]:
    """The assistant turn (the rejected reply) and the user turn (the re-ask) that follow a rejected reply. A reply
    over the byte cap (`truncated`, of `size` bytes when known) or longer than the echo limit is not repeated: the
    assistant turn only says how long it was, so a huge reply never travels back to the server."""
    content = content or ""
    if truncated:
        echoed = f"[my previous reply, {f'{size:,} bytes' if size is not None else 'too long to read'}, is left out]"
    elif len(content) > max(ECHO_MIN_CHARS, 8 * (max_tokens or 0)):
        echoed = f"[my previous reply, {len(content):,} characters, is left out]"
        problem = f"your reply was {len(content):,} characters, far longer than the answer needs; {problem}"
    else:
        echoed = content
    return [{"role": "assistant", "content": echoed},
            {"role": "user", "content": reask_message(problem, finish_reason, max_tokens)}]


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def dump_value(value: Any) -> str | None:
    """A validated reply as JSON for the call log (None when it is not JSON-able)."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
