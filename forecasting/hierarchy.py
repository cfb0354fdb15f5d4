"""Series hierarchies: aggregation over level columns (Store → Dept) and code-prefix trees (NAICS 448 → 4481).

Both return a series table with the columns `unique_id, name, code, level, depth, parent_id`.
"""
from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

TOTAL_ID = "Total"
HIERARCHY_COLUMNS = ["unique_id", "name", "code", "level", "depth", "parent_id"]


def slugify(name: str) -> str:
    """Stable id for a series that has a name but no code: ``"Retail sales, total"`` → ``"retail-sales-total"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")
    return slug or "series"


def aggregate_levels(
    group_codes: list[np.ndarray],
    group_values: list[pd.Index],
    levels: list[str],
    ds: pd.DatetimeIndex,
    y: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sum leaf rows into every level of a hierarchy: the total, then each prefix of `levels`.

    `group_codes[i]` holds each row's integer code into `group_values[i]` (the distinct values of `levels[i]`);
    (leaf, ds) pairs must be unique and `y` must have no missing values. Ids look like ``Store=1/Dept=1`` (names
    ``Store 1 / Dept 1``); the total is ``Total`` at depth 0, level ``Total``; depth i has level ``levels[i-1]``.
    Returns ``(sales[unique_id, ds, y], series[HIERARCHY_COLUMNS])``.
    """
    t_codes, t_values = pd.factorize(ds, sort=True)
    combined = np.zeros(len(y), dtype=np.int64)
    sales_parts, series_parts = [], []
    for depth in range(len(levels) + 1):
        if depth:
            combined = combined * len(group_values[depth - 1]) + group_codes[depth - 1]
        g_codes, _ = pd.factorize(combined)
        first_rows = np.unique(g_codes, return_index=True)[1]
        ids, names, code, parent = _labels(depth, first_rows, group_codes, group_values, levels)
        summed = pd.DataFrame({"g": g_codes, "t": t_codes, "y": y}).groupby(["g", "t"], sort=True)["y"].sum()
        g_idx = summed.index.get_level_values(0).to_numpy()
        t_idx = summed.index.get_level_values(1).to_numpy()
        sales_parts.append(pd.DataFrame({"unique_id": ids[g_idx], "ds": t_values[t_idx], "y": summed.to_numpy()}))
        series_parts.append(
            pd.DataFrame(
                {
                    "unique_id": ids,
                    "name": names,
                    "code": code,
                    "level": levels[depth - 1] if depth else TOTAL_ID,
                    "depth": depth,
                    "parent_id": parent,
                }
            )
        )
    return pd.concat(sales_parts, ignore_index=True), pd.concat(series_parts, ignore_index=True)


def _labels(depth, first_rows, group_codes, group_values, levels):
    """Ids, names, codes and parent ids of the groups at one depth, built from each group's first row."""
    if depth == 0:
        one = np.array([TOTAL_ID], dtype=object)
        return one, one.copy(), np.array([None], dtype=object), np.array([None], dtype=object)
    values = [pd.Series(group_values[i].take(group_codes[i][first_rows]), dtype=object) for i in range(depth)]
    ids = levels[0] + "=" + values[0]
    names = levels[0] + " " + values[0]
    parent = pd.Series(TOTAL_ID, index=ids.index, dtype=object)
    for col, vals in zip(levels[1:], values[1:]):
        parent = ids
        ids = ids + "/" + col + "=" + vals
        names = names + " / " + col + " " + vals
    return ids.to_numpy(object), names.to_numpy(object), values[-1].to_numpy(object), parent.to_numpy(object)


def code_hierarchy(ids: pd.Series, codes: pd.Series) -> pd.DataFrame:
    """Levels, parents and depths of series whose codes nest by prefix (NAICS: 448 → 4481 → 44812).

    - a pure-digit code gets level ``"<n>-digit"``; its parent is the longest other pure-digit code that is a proper
      prefix of it (``44812`` → ``4481``);
    - a list code (``"4411,4412"``, ``"722513, 722514, 722515"``) is its own series with level ``"other"``; its
      parent is the longest pure-digit code that is a proper prefix of every listed code (→ ``441``, ``7225``);
    - a series without a code (MRTS aggregate lines; their id is the slug of their name) has level ``"aggregate"``
      and no parent.
    The loop runs over distinct series (tens to thousands), not over rows.
    """
    codes = codes.fillna("").astype(str).str.strip()
    digit_codes = {c for c in codes if c.isdigit()}
    parents: list[str | None] = []
    levels: list[str] = []
    for code in codes:
        if not code:
            parents.append(None)
            levels.append("aggregate")
            continue
        parts = [p.strip() for p in code.split(",") if p.strip()]
        levels.append(f"{len(code)}-digit" if code.isdigit() else "other")
        parents.append(_longest_prefix(parts, digit_codes))
    out = pd.DataFrame(
        {"unique_id": ids.to_numpy(object),
         "code": codes.where(codes != "", None).to_numpy(object)}  # type: ignore[call-overload]  # stubs reject None
    )
    code_to_id = dict(zip(codes, ids))
    out["parent_id"] = [code_to_id.get(p) if p else None for p in parents]
    out["level"] = levels
    out["depth"] = _depths(out["unique_id"].tolist(), out["parent_id"].tolist())
    return out


def _longest_prefix(parts: list[str], candidates: set[str]) -> str | None:
    """Longest candidate that is a proper prefix of every part."""
    common = os.path.commonprefix(parts)
    for length in range(len(common), 0, -1):
        prefix = common[:length]
        if prefix in candidates and prefix not in parts:
            return prefix
    return None


def _depths(ids: list[str], parents: list[str | None]) -> list[int]:
    parent_of = dict(zip(ids, parents))
    depth: dict[str, int] = {}

    def walk(uid: str) -> int:
        if uid not in depth:
            p = parent_of.get(uid)
            depth[uid] = 0 if p is None else walk(p) + 1
        return depth[uid]

    return [walk(u) for u in ids]
