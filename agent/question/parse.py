"""Plain-English question → (category text, horizon). Pure string work; no data access."""
from __future__ import annotations

import re
from collections.abc import Callable
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

_NUMBERS = {w: i for i, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                        "eleven", "twelve"], start=1)} | {"a": 1, "an": 1}
_N = r"(\d+|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_PRE = r"(?:(?:over|in|for|during|across|within)\s+)?(?:the\s+)?"
_NEXT = r"(?:next|coming|following|upcoming)"
_YEAR = r"(\d{4})"
_M = rf"({_MONTH_RE})\.?"
_HALF = {"h1": "1", "h2": "2", "first half": "1", "second half": "2"}
_ORDINAL_Q = {"first": 1, "second": 2, "third": 3, "fourth": 4, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def _n(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBERS[text]


def _range(m1: str, y1: str | None, m2: str, y2: str | None) -> str:
    a, b = MONTHS[m1], MONTHS[m2]
    if not (y1 or y2):
        return f"range:--{a:02d}..--{b:02d}"
    if y1:
        first = int(y1)
    else:
        assert y2  # one of the two years is given (no year returned above)
        first = int(y2) - (a > b)  # "from November to February 2021": November 2020
    last = int(y2) if y2 else first + (b < a)
    return f"range:{first:04d}-{a:02d}..{last:04d}-{b:02d}"


def _span(kind: str, year: str | None, part: str) -> str:
    """``quarter:2020-Q3``, or ``quarter:--Q3`` (the next one after as-of) without a year."""
    return f"{kind}:{year}-{part}" if year else f"{kind}:--{part}"


def _months_ahead(n: int) -> str:
    return "next-month" if n == 1 else f"next-{n}-months"


# (pattern, horizon of the match) — the first pattern that matches wins; the matched text leaves the category text.
_Horizon = str | Callable[[re.Match[str]], str]  # a horizon, or one made from the match
_HORIZON_PATTERNS: list[tuple[str, _Horizon]] = [
    (rf"\b(?:between|from)\s+{_M}(?:\s+{_YEAR})?\s+(?:and|to|through|thru|until|till|-|–)\s+{_M}(?:\s+{_YEAR})?\b",
     lambda m: _range(m[1], m[2], m[3], m[4])),
    (rf"\b(?:in|for|during|over)?\s*{_M}\s*(?:-|–|to|through|thru)\s*{_M}\s+{_YEAR}\b",
     lambda m: _range(m[1], None, m[2], m[3])),
    (r"\b(?:between|from)\s+(\d{4})-(\d{2})\s+(?:and|to|through|until|-)\s+(\d{4})-(\d{2})\b|"
     r"\b(\d{4})-(\d{2})\s*(?:\.\.|–|to|through)\s*(\d{4})-(\d{2})\b",
     lambda m: "range:{}-{}..{}-{}".format(*[g for g in m.groups() if g])),
    (rf"\b(?:in|within|after)\s+{_N}\s+months?(?:['’]s?\s+time|\s+time|\s+from now|\s+ahead)?\b",
     lambda m: f"month:+{_n(m[1])}"),
    (rf"\b{_N}\s+months?\s+(?:from now|ahead|out)\b", lambda m: f"month:+{_n(m[1])}"),
    (rf"\b(?:in|within|after)\s+{_N}\s+weeks?(?:['’]s?\s+time|\s+time|\s+from now|\s+ahead)?\b",
     lambda m: f"week:+{_n(m[1])}"),
    (rf"\b{_PRE}{_NEXT}\s+{_N}\s+months?\b", lambda m: _months_ahead(_n(m[1]))),
    (rf"\b{_PRE}{_NEXT}\s+{_N}\s+weeks?\b", lambda m: "next-week" if _n(m[1]) == 1 else f"next-{_n(m[1])}-weeks"),
    (rf"\b{_PRE}{_NEXT}\s+week\b", "next-week"),
    (rf"\b{_PRE}{_NEXT}\s+quarter\b", "next-quarter"),
    (rf"\b{_PRE}{_NEXT}\s+month\b", "next-month"),
    (rf"\b{_PRE}{_NEXT}\s+(?:calendar\s+)?year\b", "next-year"),
    (rf"\b{_PRE}{_YEAR}\s*-?\s*(h[12])\b", lambda m: f"half:{m[1]}-H{_HALF[m[2]]}"),
    (rf"\b{_PRE}(h[12]|first half|second half)(?:\s+of)?(?:\s+{_YEAR}|\s+(?:the\s+)?year)?\b",
     lambda m: _span("half", m[2], f"H{_HALF[m[1]]}")),
    (rf"\b(?:in|for|during|over)?\s*{_M}\s+(?:of\s+)?{_YEAR}\b", lambda m: f"month:{int(m[2]):04d}-{MONTHS[m[1]]:02d}"),
    (r"\b(?:in|for|during)?\s*(\d{4})-(0[1-9]|1[0-2])\b", lambda m: f"month:{m[1]}-{m[2]}"),
    (rf"\b{_PRE}q([1-4])\s*(?:of\s+)?{_YEAR}\b", lambda m: f"quarter:{m[2]}-Q{m[1]}"),
    (rf"\b{_PRE}{_YEAR}[\s-]*q([1-4])\b", lambda m: f"quarter:{m[1]}-Q{m[2]}"),
    (rf"\b{_PRE}(first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+of)?(?:\s+{_YEAR})?\b",
     lambda m: _span("quarter", m[2], f"Q{_ORDINAL_Q[m[1]]}")),
    (rf"\b{_PRE}q([1-4])\b", lambda m: f"quarter:--Q{m[1]}"),
    # a month named without a year: the next one after as-of (periods.resolve_period, ``month:--MM``)
    (rf"\b(?:in|for|during|over|by)\s+{_M}(?!\s*\d)\b", lambda m: f"month:--{MONTHS[m[1]]:02d}"),
    (r"\b(?:in|for|during|over)\s+(?:the\s+)?(?:calendar\s+|fiscal\s+)?(?:year\s+)?(\d{4})\b(?!-)",
     lambda m: f"year:{m[1]}"),
]
_HORIZONS = [(re.compile(p), f) for p, f in _HORIZON_PATTERNS]
# horizons an analyst may say that have no answer: told so and why (exit 2), never silently read as next month
_UNSUPPORTED: list[tuple[re.Pattern, str]] = [(re.compile(p), why) for p, why in [
    (r"\b(?:(?:in|within|after)\s+|(?:the\s+)?(?:next|coming|following|upcoming)\s+)"
     rf"{_N}\s+(?:quarters?|years?)\b", "multi-quarter and multi-year spans are not answered"),
    (rf"\b(?:the\s+)?(?:last|past|previous|prior)\s+(?:{_N}\s+)?(?:months?|weeks?|quarters?|years?)\b",
     "past periods are observed, not forecast"),
    (r"\bthis\s+(?:month|week|quarter|year|half)\b|\b(?:rest|remainder)\s+of\s+the\s+(?:month|quarter|year)\b",
     "part of it is observed by as-of: ask for what follows it (next month/quarter/year, or a range "
     "such as \"from May to December\")"),
    (r"\b(?:by|through|until|till)\s+(?:the\s+)?end\s+of\b|\bytd\b|\byear[- ]to[- ]date\b",
     "ask for the months themselves, e.g. \"from April to December 2020\" or \"next 9 months\""),
    (r"\b(?:next|this|coming)\s+(?:season|holiday season|holidays|christmas|summer|winter|spring|fall|autumn)\b",
     "seasons are not calendar periods: ask for the months, e.g. \"from November to December\""),
    (r"\b(?:between|from)\s+\S+(?:\s+\d{4})?\s+(?:and|to|through|until)\s+\S+",
     "a range is two months, e.g. \"from May to July 2020\""),
]]
SUPPORTED = ("next week/month/quarter/year, \"in 2 months\", \"next 3 months\", \"next 8 weeks\", a month (\"May "
             "2020\", \"2020-05\", \"in December\"), a quarter (\"Q2 2020\"), a half (\"H2 2020\"), a year (\"in "
             "2021\"), a range (\"from May to July 2020\")")

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
# words around a category name, not part of it — unless they are ("Retail sales, total", "... sales excl gasoline")
_NOISE = re.compile(r"\b(?:category|categories|sales|forecast|retail sales|demand for|sales of|the outlook for)\b"
                    r"(?!\s*,?\s*(?:total|excl|and food))")


class QuestionError(UserError, ValueError):
    """The question could not be understood (exit code 2)."""


@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    category: str
    horizon: str  # a forecasting.periods horizon: next-month, month:+2, next-3-months, quarter:2020-Q2, range:…
    horizon_explicit: bool


def parse_question(question: str, default_horizon: str = "next-month") -> ParsedQuestion:
    q = " ".join(question.strip().split())
    if not q:
        raise QuestionError("empty question: ask e.g. \"how will clothing stores trend next month?\"")
    low = q.lower().rstrip("?!. ")
    horizon, explicit = default_horizon, False
    for pattern, make in _HORIZONS:
        m = pattern.search(low)
        if m:
            horizon, explicit = (make if isinstance(make, str) else make(m)), True
            low = low[: m.start()] + " " + low[m.end():]
            break
    for pattern, why in _UNSUPPORTED:
        bad = pattern.search(low)
        if bad:
            raise QuestionError(f"horizon {bad.group(0).strip()!r} is not supported ({why}): ask for {SUPPORTED}, "
                                "or pass --horizon")
    cat = _LEAD.sub("", low, count=1)
    cat = _TAIL.sub("", cat, count=1)
    cat = " ".join(cat.replace("?", " ").split()).strip(" ,.;:")
    cat = re.sub(r"^(?:(?:for|of|at|in|on|about)\s+)+", "", cat)  # "the next six months for department stores"
    stripped = " ".join(_NOISE.sub(" ", cat).split())
    cat = stripped or cat
    if not cat:
        raise QuestionError(f"no category found in {question!r}: name one, e.g. \"how will clothing stores trend next month?\"")
    return ParsedQuestion(text=q, category=cat, horizon=horizon, horizon_explicit=explicit)
