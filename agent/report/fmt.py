"""Formatting shared by the Markdown and HTML templates: numbers, percents, dates, and Markdown escaping."""
from __future__ import annotations

import re

from markupsafe import Markup

DASH = "—"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~&])")


def num(x, digits: int = 1) -> str:
    return DASH if x is None else f"{x:,.{digits}f}"


def pct(x, digits: int = 1) -> str:
    return DASH if x is None else f"{x:+.{digits}f} %"


def share(x) -> str:
    """A 0..1 value (confidence) as a plain number with two decimals."""
    return DASH if x is None else f"{x:.2f}"


def seconds(x) -> str:
    return DASH if x is None else f"{x:.1f} s"


def arrow(direction: str | None) -> str:
    return {"up": "▲", "down": "▼", "flat": "▶"}.get(direction or "", "")


def clip(text, n: int = 240) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def md_escape(value) -> str:
    """Text from data or from the LLM, made inert in Markdown: one line, Markdown and HTML punctuation
    backslash-escaped (so `<script>` shows as text and `|` cannot split a table cell). Markup passes as is."""
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    return _MD_SPECIAL.sub(r"\\\1", " ".join(value.split()))


FILTERS = {"num": num, "pct": pct, "share": share, "seconds": seconds, "arrow": arrow, "clip": clip}
