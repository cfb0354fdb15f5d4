"""Plain-English question → (category text, horizon). Pure string work; no data access."""
from __future__ import annotations

import re
from dataclasses import dataclass

from trendcast.agent.errors import UserError

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
_QUARTER = re.compile(r"\b(?:in|for|during|over)?\s*(?:the\s+)?q([1-4])\s*(?:of\s+)?(\d{4})\b"
                      r"|\b(?:in|for|during|over)?\s*(\d{4})[\s-]*q([1-4])\b")
# a month named without a year: the next one after as-of (periods.resolve_period, ``month:--MM``)
_BARE_MONTH = re.compile(rf"\b(?:in|for|during|over|by)\s+({_MONTH_RE})\b(?!\s*\d)")
# horizons an analyst may say that have no answer yet: told so (exit 2), never silently read as next month
_UNSUPPORTED = re.compile(
    r"\b(?:in|within|after)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+"
    r"(?:months?|weeks?|quarters?|years?)\b"
    r"|\b(?:the\s+)?(?:next|coming|following|last|past)\s+(?:\d+|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve)\s+(?:months?|weeks?|quarters?|years?)\b"
    r"|\b(?:next|this|coming)\s+(?:year|season|holiday season|half)\b"
    r"|\bthis\s+(?:month|week|quarter)\b|\b(?:h[12]|first half|second half)\b"
    r"|\b(?:between|from)\s+\S+(?:\s+\d{4})?\s+(?:and|to|through|until)\s+\S+"
    r"|\b(?:by|through|until)\s+(?:the\s+)?end\s+of\b")
SUPPORTED = ("next week, the next 4 weeks, next month, next quarter, a month (\"April 2020\", \"2020-04\", "
             "\"in December\"), a quarter (\"Q2 2020\")")

_LEAD = re.compile(
    r"^\s*(?:so\s+|and\s+|please\s+)?(?:"
    r"(?:what(?:'s|’s| is| are| will be)|how(?:'s|’s| is| are| will| would| does| do)?|where(?:'s| is| are| will)?)"
    r"\s+(?:the\s+|our\s+)?(?:(?:sales|demand|spending|business)\s+)?"
    r"(?:outlook|trend|trends|forecast|prospects?|picture|expectation|expectations|view)\s+(?:for|of|on|in|at)\s+"
    r"|(?:outlook|trend|forecast|prospects?)\s+(?:for|of|on)\s+"
    r"|(?:sales|demand|spending|revenue|turnover)\s+(?:of|for|at|in)\s+"
    r"|(?:give me|show me|tell me about|i need|forecast|predict)\s+(?:the\s+)?(?:(?:outlook|trend|forecast)\s+"
    r"(?:for|of|on)\s+)?"
    r"|(?:how|what|where)\s+(?:will|would|is|are|does|do|should|might|about)\s+"
    r")(?:the\s+)?(?:(?:sales|demand|spending|revenue|turnover)\s+(?:of|at|for|in)\s+)?(?:the\s+)?",
)
_TAIL = re.compile(
    r"\s*(?:sales\s+)?(?:trend|do|perform|look|go|move|be|fare|develop|change|sell|doing|going|looking|"
    r"outlook|forecast|prospects?)(?:ing)?\b.*$",
)
_NOISE = re.compile(r"\b(?:category|categories|sales|forecast|retail sales|demand for|sales of|the outlook for)\b")


class QuestionError(UserError, ValueError):
    """The question could not be understood (exit code 2)."""


@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    category: str
    horizon: str  # next-month | next-week | next-quarter | next-4-weeks | month:YYYY-MM | month:--MM | quarter:YYYY-QN
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
            q = _QUARTER.search(low)
            bare = _BARE_MONTH.search(low)
            if m and 1 <= int(m.group(2)) <= 12:
                horizon, explicit = f"month:{m.group(1)}-{m.group(2)}", True
                low = low[: m.start()] + " " + low[m.end():]
            elif q:
                year, n = (q.group(2), q.group(1)) if q.group(1) else (q.group(3), q.group(4))
                horizon, explicit = f"quarter:{year}-Q{n}", True
                low = low[: q.start()] + " " + low[q.end():]
            elif bare:
                horizon, explicit = f"month:--{MONTHS[bare.group(1)]:02d}", True
                low = low[: bare.start()] + " " + low[bare.end():]
    bad = _UNSUPPORTED.search(low)
    if bad:
        raise QuestionError(f"horizon {bad.group(0).strip()!r} is not supported: ask for {SUPPORTED}, or pass "
                            "--horizon")
    cat = _LEAD.sub("", low, count=1)
    cat = _TAIL.sub("", cat, count=1)
    cat = " ".join(cat.replace("?", " ").split()).strip(" ,.;:")
    stripped = " ".join(_NOISE.sub(" ", cat).split())
    cat = stripped or cat
    if not cat:
        raise QuestionError(f"no category found in {question!r}: name one, e.g. \"how will clothing stores trend next month?\"")
    return ParsedQuestion(text=q, category=cat, horizon=horizon, horizon_explicit=explicit)
