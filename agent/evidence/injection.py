"""Evidence that reads like instructions to the model (prompt injection): a small, explainable detector and the rule
that keeps an LLM adjustment it may have caused from being applied.

A news or product text is data. One that talks to the model instead — "ignore previous instructions", "answer
change_pct 200", a chat control token — is flagged: the answer marks it in its evidence list and warns, the prompt
(quoted-evidence templates, `few-shot@2` on) tells the model so, and `withhold_reason` refuses an LLM adjustment that
cites a flagged document or sits at a bound of the allowed change. Each pattern below is one plain reason; none needs
a model. Measured on the bundled headlines (tests/test_faults_injection.py): no false positive.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WS = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))  # zero-width, soft hyphen

# (reason, pattern) — matched against the NFKC-normalised text with invisible characters removed, case-insensitive.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((reason, re.compile(p, re.IGNORECASE)) for reason, p in (
    ("asks to ignore previous instructions",
     r"\b(?:ignore|disregard|forget|override|bypass)\b\W+(?:\w+\W+){0,2}?"
     r"(?:previous|prior|above|earlier|preceding|all|your|original|initial|system)\W+(?:\w+\W+)?"
     r"(?:instructions?|prompts?|rules|guidelines|directions|messages?|context)\b"),
    ("names a field of the model's answer",
     r"\b(?:change_pct|evidence_id|flat_band_pct|min_pct|max_pct)\b"
     r"|[\"'](?:direction|change_pct|confidence|drivers|rationale|evidence_id)[\"']\s*:"),
    ("tells the model what to answer",
     r"\b(?:answer|respond|reply|output|return)\b\W+(?:with\W+|only\W+|a\W+){0,3}"
     r"(?:direction\W+(?:up|down|flat)|confidence\W+[01](?:\.\d+)?\b|json\b)"
     r"|\byou\s+(?:must|should|shall|will|have\s+to|need\s+to)\s+(?:now\s+|always\s+|only\s+)?"
     r"(?:answer|respond|reply|output|return|forecast|predict|adjust|cite)\b"
     r"|\byour\s+(?:answer|response|reply|output|adjustment)\s+(?:must|should|shall|will\s+be|is\s+to)\b"
     r"|(?:^|[.!?:;]\s+)(?:set|raise|increase|lower|cut)\s+(?:the\s+)?(?:forecast|baseline|adjustment)\s+(?:to|by)\b"),
    ("addresses the model",
     r"\b(?:you\s+are\s+(?:now\s+)?(?:an?\s+)?(?:ai|assistant|language\s+model|llm|chatbot)\b"
     r"|as\s+an?\s+(?:ai|language\s+model|llm)\b(?!\s+(?:firm|company|startup|stock|chip|boom))"
     r"|(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+)?(?:ai|llm|language\s+model|assistant|chatbot)\b"
     r"|(?:dear|attention|hey)\W+(?:ai|llm|model|assistant|chatgpt)\b"
     r"|(?:the|your|new)\s+system\s+prompt\b(?!s))"),
    ("contains a chat control token",
     r"<\|[a-z_]+\|>|\[/?inst\]|<</?sys>>|^\s*(?:system|assistant)\s*:|#{2,}\s*(?:instruction|system|response)\b"),
))


def normalise(text: str) -> str:
    """The form the patterns see: NFKC (full-width and ligature letters become plain), invisibles removed,
    whitespace collapsed."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text or "").translate(_INVISIBLE)).strip()


def injection_reason(text: str) -> str | None:
    """Why this text reads like instructions to the model (the first matching pattern's reason), or None."""
    plain = normalise(text)
    for reason, pattern in PATTERNS:
        if pattern.search(plain):
            return reason
    return None


def flag_evidence(items: Iterable) -> dict[str, str]:
    """{evidence id: reason} for the items (retrieval Hits, prompts Evidence, dicts) whose text is flagged."""
    flags = {}
    for item in items:
        ident, text = (item.get("id"), item.get("text")) if isinstance(item, dict) else (item.id, item.text)
        reason = injection_reason(text or "")
        if reason:
            flags[str(ident)] = reason
    return flags


def flag_warning(evidence_id: str, reason: str) -> str:
    return (f"evidence {evidence_id} reads like instructions to a model ({reason}): flagged, treated as data only; "
            f"an LLM adjustment that cites it is not applied")


def at_bound(change_pct: float, *, min_pct: float, max_pct: float) -> str | None:
    """"its +200 % is the upper bound (change_max_pct 200)" when a change sits at a bound of the allowed range (a
    saturated answer: what an obeyed injection or a runaway model looks like — and also a real collapse, such as
    clothing stores in April 2020, -89 %). A bound of 0 does not count (0 % is no change)."""
    eps = 1e-9
    if max_pct != 0 and change_pct >= max_pct - eps:
        return f"its {change_pct:+g} % is the upper bound (change_max_pct {max_pct:g})"
    if min_pct != 0 and change_pct <= min_pct + eps:
        return f"its {change_pct:+g} % is the lower bound (change_min_pct {min_pct:g})"
    return None


def withhold_reason(change_pct: float, cited: Iterable[str], flags: dict[str, str], *, min_pct: float,
                    max_pct: float) -> str | None:
    """Why an LLM adjustment must not be applied, or None: it cites flagged evidence, or it sits at a bound while
    flagged evidence was in its prompt (an obeyed injection need not cite what it obeyed). An adjustment at a bound
    with nothing flagged is applied, with a warning (`at_bound`)."""
    why = []
    bad = [e for e in dict.fromkeys(cited) if e in flags]
    if bad:
        why.append(f"it cites {', '.join(bad)}, flagged as reading like instructions to a model")
    bound = at_bound(change_pct, min_pct=min_pct, max_pct=max_pct)
    if bound and flags:
        why.append(f"{bound} while the evidence holds flagged documents ({', '.join(flags)})")
    return "; ".join(why) or None
