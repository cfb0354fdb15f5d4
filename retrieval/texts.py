"""Text clean-up, the string a document is embedded as, and the hashes used for de-duplication and the query cache."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

_WS = re.compile(r"\s+")


def clean_text(value: object) -> str:
    """Whitespace collapsed and stripped; None/NaN become ''."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _WS.sub(" ", str(value)).strip()


def normalise(text: str) -> str:
    """The form two texts must share to count as the same: NFKC, case-folded, whitespace collapsed."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def content(title: str | None, text: str, body: str | None) -> str:
    """What gets embedded: title, text and body joined (a title equal to the text is not repeated)."""
    parts = [p for p in (title, text, body) if p]
    if title and normalise(title) == normalise(text):
        parts = parts[1:]
    out = parts[0]
    for part in parts[1:]:
        out += (" " if out[-1] in ".!?:;…" else ". ") + part
    return out


def doc_hash(kind: str, day: date | None, title: str | None, text: str, body: str | None,
             event: date | None = None) -> str:
    """De-duplication key: same kind, same date (and event date) and the same normalised title/text/body."""
    parts = [kind, day.isoformat() if day else "", normalise(title or ""), normalise(text), normalise(body or "")]
    if event is not None:  # "Thanksgiving" of every year is its own event
        parts.append(event.isoformat())
    key = "\x1f".join(parts)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def query_hash(query: str) -> str:
    """Query-cache key: the query with whitespace collapsed (case kept: some models are cased)."""
    return hashlib.sha256(clean_text(query).encode("utf-8")).hexdigest()[:32]
