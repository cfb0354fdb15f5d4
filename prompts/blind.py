"""Blinding a prompt context for evaluation: category names masked, every year shifted.

An LLM may remember what actually happened to "clothing stores in April 2020". `blind_context` replaces each series
name by "Category A", "Category B", … (the same name always gets the same letter, in evidence texts too) and shifts
every year — in dates, labels, evidence texts and few-shot answers — by the same number of years, so that the model
has to reason from the evidence rather than recall the outcome.
"""
from __future__ import annotations

import json
import re
import string
from datetime import date
from typing import Any

from trendcast.prompts.context import Evidence, PromptContext

_YEAR = re.compile(r"(?<![\d.,])(1[89]\d{2}|20\d{2})(?![\d])")


def blind_context(ctx: PromptContext, year_shift: int, names=()) -> PromptContext:
    """A copy of ctx with series names masked and all years moved by year_shift; blind=True. `names`: other category
    names to mask wherever they appear (e.g. every series of the workspace, so evidence cannot name them)."""
    masks = _masks([ctx.series_name, *(ex.series_name for ex in ctx.examples), *names])

    longest_first = sorted(masks.items(), key=lambda item: -len(item[0]))

    def text(value: str) -> str:
        for name, mask in longest_first:
            value = re.sub(re.escape(name), mask, value, flags=re.IGNORECASE)
        return shift_years(value, year_shift)

    def evidence(items: list[Evidence]) -> list[Evidence]:
        return [e.model_copy(update={"date": shift_date(e.date, year_shift) if e.date else None,
                                     "text": text(e.text)}) for e in items]

    examples = [
        ex.model_copy(update={
            "series_name": masks[ex.series_name], "origin": shift_date(ex.origin, year_shift),
            "period_label": text(ex.period_label), "evidence": evidence(ex.evidence),
            "answer_json": _map_json_strings(ex.answer_json, text),
        })
        for ex in ctx.examples
    ]
    return ctx.model_copy(update={
        "series_name": masks[ctx.series_name], "as_of": shift_date(ctx.as_of, year_shift),
        "period_start": shift_date(ctx.period_start, year_shift), "period_end": shift_date(ctx.period_end, year_shift),
        "period_label": text(ctx.period_label),
        "history": [(shift_date(d, year_shift), v) for d, v in ctx.history],
        "evidence": evidence(ctx.evidence), "examples": examples, "blind": True,
    })


def shift_date(value: date, years: int) -> date:
    """value moved by whole years (29 February becomes the 28th in a non-leap year)."""
    try:
        return value.replace(year=value.year + years)
    except ValueError:
        return value.replace(year=value.year + years, day=28)


def shift_years(text: str, years: int) -> str:
    """Every four-digit year 1800-2099 in text moved by `years` (numbers like 2,019 or 12019 are left alone)."""
    return _YEAR.sub(lambda m: str(int(m.group(1)) + years), text)


def _masks(names: list[str]) -> dict[str, str]:
    masks: dict[str, str] = {}
    for name in names:
        if name not in masks:
            masks[name] = f"Category {_letters(len(masks))}"
    return masks


def _letters(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = string.ascii_uppercase[r] + letters
    return letters


def _map_json_strings(raw: str, fn) -> str:
    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return fn(node)
        if isinstance(node, list):
            return [walk(x) for x in node]
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        return node

    return json.dumps(walk(json.loads(raw)), ensure_ascii=False)
