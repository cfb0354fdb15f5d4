"""Plain-English question → (category text, horizon). Pure string work; no data access."""
from __future__ import annotations

import re
from dataclasses import dataclass

from agent.errors import UserError

MONTHS = {
    m: i
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))

# (pattern, horizon) — the first match wins; the matched text is removed from the category text.
_HORIZONS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"\b(?:over |in |for )?the next (?:4|four) weeks\b"), "next-4-weeks"),
    (re.compile(r"\b(?:over |in |for )?(?:the )?next week\b"), "next-week"),
    (re.compile(r"\b(?:over |in |for )?(?:the )?next quarter\b"), "next-quarter"),
    (re.compile(r"\b(?:over |in |for )?(?:the )?next month\b"), "next-month"),
]
_EXPLICIT = re.compile(rf"\b(?:in|for|during|over)?\s*({_MONTH_RE})\.?\s+(\d{{4}})\b")
_ISO_MONTH = re.compile(r"\b(?:in|for|during)?\s*(\d{4})-(\d{2})\b")

_LEAD = re.compile(
    r"^\s*(?:so\s+|and\s+)?(?:how|what|where)\s+(?:will|would|is|are|does|do|should|might|about)\s+"
    r"(?:the\s+)?(?:sales\s+(?:of|at|for|in)\s+)?(?:the\s+)?",
)
_TAIL = re.compile(
    r"\s*(?:sales\s+)?(?:trend|do|perform|look|go|move|be|fare|develop|change|sell)(?:ing)?\b.*$",
)
_NOISE = re.compile(r"\b(?:category|categories|sales|forecast|retail sales)\b")


class QuestionError(UserError, ValueError):
    """The question could not be understood (exit code 2)."""


@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    category: str
    horizon: str  # next-month | next-week | next-quarter | next-4-weeks | month:YYYY-MM
    horizon_explicit: bool


def parse_question(question: str, default_horizon: str = "next-month") -> ParsedQuestion:
    q = " ".join(question.strip().split())
    if not q:
        raise QuestionError("empty question: ask e.g. \"how will clothing stores trend next month?\"")
    low = q.lower().rstrip("?!. ")
    horizon, explicit = default_horizon, False
    for pattern, name in _HORIZONS:
        m = pattern.search(low)
        if m:
            horizon, explicit = name, True
            low = low[: m.start()] + " " + low[m.end():]
            break
    else:
        m = _EXPLICIT.search(low)
        if m:
            horizon, explicit = f"month:{int(m.group(2)):04d}-{MONTHS[m.group(1)]:02d}", True
            low = low[: m.start()] + " " + low[m.end():]
        else:
            m = _ISO_MONTH.search(low)
            if m and 1 <= int(m.group(2)) <= 12:
                horizon, explicit = f"month:{m.group(1)}-{m.group(2)}", True
                low = low[: m.start()] + " " + low[m.end():]
    cat = _LEAD.sub("", low, count=1)
    cat = _TAIL.sub("", cat, count=1)
    cat = " ".join(cat.replace("?", " ").split()).strip(" ,.;:")
    stripped = " ".join(_NOISE.sub(" ", cat).split())
    cat = stripped or cat
    if not cat:
        raise QuestionError(f"no category found in {question!r}: name one, e.g. \"how will clothing stores trend next month?\"")
    return ParsedQuestion(text=q, category=cat, horizon=horizon, horizon_explicit=explicit)
