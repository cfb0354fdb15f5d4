"""Row filters of a sales ingest: ``COLUMN=VALUE`` (repeat it on one column for OR), ``COLUMN!=VALUE``,
``COLUMN in A,B`` and ``COLUMN not in A,B``; different columns combine with AND. Values compare as stripped text.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trendcast.forecasting.errors import InputError
from trendcast.forecasting.parsing import text_codes

_EXPR = re.compile(r"^\s*(?P<col>.+?)\s*(?:(?P<op>!=|=)|\s(?P<word>not\s+in|in)\s)\s*(?P<val>.*?)\s*$")


def parse_where(items: tuple[str, ...] | list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``(keep, drop)``: per column, the values a row must have one of, and the values it must not have.

    Raises ValueError with the expression for a filter that is none of the accepted forms."""
    keep: dict[str, list[str]] = {}
    drop: dict[str, list[str]] = {}
    for item in items:
        m = _EXPR.match(item)
        if not m or not m["val"]:
            raise ValueError(f"{item!r}: expected COLUMN=VALUE, COLUMN!=VALUE, 'COLUMN in A,B' or "
                             "'COLUMN not in A,B'")
        col, op = m["col"], m["op"] or " ".join(m["word"].split())
        values = [v.strip() for v in m["val"].split(",")] if op in ("in", "not in") else [m["val"]]
        target = keep if op in ("=", "in") else drop
        target.setdefault(col, []).extend(v for v in values if v not in target.get(col, []))
    return keep, drop


def _values(wanted: Any) -> set[str]:
    return {str(v).strip() for v in (wanted if isinstance(wanted, (list, tuple, set)) else [wanted])}


def apply_filters(path: Path, df: pd.DataFrame, keep: dict[str, Any], drop: dict[str, Any]) -> np.ndarray:
    """Positions of the rows that pass every filter; InputError when none does, naming what the columns hold."""
    ok = np.ones(len(df), dtype=bool)
    for col, wanted in keep.items():
        codes, values = text_codes(df[col])
        ok &= np.asarray(values.isin(_values(wanted)))[codes]
    for col, unwanted in drop.items():
        codes, values = text_codes(df[col])
        ok &= ~np.asarray(values.isin(_values(unwanted)))[codes]
    if not ok.any():
        shown = "; ".join(
            f"{_shown(col, op, sorted(_values(w)))} ({col!r} has: {', '.join(map(str, text_codes(df[col])[1][:12]))})"
            for op, spec in (("=", keep), ("!=", drop)) for col, w in spec.items()
        )
        raise InputError.at(path, f"no rows left after filters {shown}")
    return np.flatnonzero(ok)


def _shown(col: str, op: str, values: list[str]) -> str:
    if len(values) == 1:
        return f"{col}{op}{values[0]!r}"
    return f"{col} {'in' if op == '=' else 'not in'} {', '.join(map(repr, values))}"
