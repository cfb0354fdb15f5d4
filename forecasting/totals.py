"""Total and subtotal rows already in a file with level columns: found, checked, used as the aggregate — never summed
again.

Official statistics ship their totals as rows ("Total", "Retail sales, total", state = "Total" × industry = X).
Summing every row into the hierarchy would count them twice (the national total 5.8× too big). A value of a level
column is a *total* when

- it is named with ``--totals`` (then only the named values are), or, in ``auto`` mode (the default),
- its name says so (``Total``, ``All``, ``Grand total``, ``…, total``, ``Total (State)``), or
- it adds up: on ≥ ADDS_UP_SHARE of its rows it equals, within ADDS_UP_TOL, the sum of the other values of its column
  with the same other level values and date (2·y ≈ the sum including it).

A row whose first total is at level k and whose deeper levels are all totals is the given aggregate of the node at
depth k (``Store=1`` for ``Store=1, Dept=Total``; ``Total`` for all totals). Its values replace the sum of the leaves
for that node, and the ingest says how far that sum was from them. A row with a total above a non-total
(``Store=Total, Dept=7``) is a cross-cut the hierarchy has no node for: it is left out and counted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ADDS_UP_TOL = 0.005  # relative difference between a total row and the sum of its siblings
ADDS_UP_SHARE = 0.9  # of a value's rows that must add up
MIN_ROWS = 6
_NAMED = re.compile(r"^\s*((grand\s+)?totals?|all|overall|sum)\s*$|^\s*total\b|,\s*total\s*$"
                    r"|^\s*all\s+(stores|shops|departments|depts|categories|industries|items|products|regions|states"
                    r"|countries|sectors|channels|segments)\s*$",
                    re.IGNORECASE)
_MENTIONS = re.compile(r"\btotals?\b", re.IGNORECASE)


@dataclass
class Totals:
    """Which rows are leaves, and which given aggregates the other rows are."""
    leaf: np.ndarray  # bool per row
    node_depth: np.ndarray  # per row: depth of the node a total row gives (-1: leaf or cross-cut)
    cross_cut: np.ndarray  # bool per row: a total above a non-total
    values: dict[str, list[str]] = field(default_factory=dict)  # level column → its values taken as totals
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.values)


def parse_totals(option: str | None) -> tuple[str, list[str]]:
    """``--totals`` → ``("auto", [])``, ``("none", [])`` or ``("named", [values])``."""
    if option is None or option.strip().lower() == "auto":
        return "auto", []
    if option.strip().lower() == "none":
        return "none", []
    return "named", [v.strip() for v in option.split(",") if v.strip()]


def find_totals(levels: list[str], coded: list[tuple[np.ndarray, pd.Index]], ds_codes: np.ndarray, y: np.ndarray,
                mode: str = "auto", named: list[str] | None = None) -> Totals:
    """Classify the rows of a level file (`coded[i]` = codes and distinct values of `levels[i]`, `ds_codes` the
    rows' date codes, `y` their values with NaN for missing)."""
    n = len(y)
    is_total = []  # per level: bool per distinct value
    found: dict[str, list[str]] = {}
    notes: list[str] = []
    for i, (col, (codes, values)) in enumerate(zip(levels, coded)):
        flags = np.zeros(len(values), dtype=bool)
        if mode == "named":
            flags = np.asarray(values.isin(named or []))
        elif mode == "auto":
            by_name = np.array([bool(_NAMED.search(str(v))) for v in values], dtype=bool)
            adds = _adds_up(i, coded, ds_codes, y)
            flags = by_name | adds
            for v in np.asarray(values)[~flags]:
                if _MENTIONS.search(str(v)):
                    notes.append(f"{col}={v!r} has 'total' in its name but is not the sum of the other {col} values; "
                                 "kept as an ordinary series (name it in --totals to use it as an aggregate)")
        if len(values) and flags.all():
            flags[:] = False  # nothing left to be a leaf: these are ordinary values
        is_total.append(flags)
        if flags.any():
            found[col] = [str(v) for v in np.asarray(values)[flags]]
    if not found:
        return Totals(np.ones(n, dtype=bool), np.full(n, -1), np.zeros(n, dtype=bool), {}, notes)
    row_total = np.column_stack([flags[codes] for flags, (codes, _) in zip(is_total, coded)])
    any_total = np.asarray(row_total.any(axis=1))
    first = np.where(any_total, row_total.argmax(axis=1), -1)
    # a total row gives the node at depth `first` when every level from `first` on is a total
    deeper_all = _deeper_all(row_total, first)
    node_depth = np.where(any_total & deeper_all, first, -1)
    cross = any_total & ~deeper_all
    return Totals(~any_total, node_depth, cross, found, notes)


def _deeper_all(row_total: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Vectorised: per row, whether every level from `first` on is a total."""
    k = row_total.shape[1]
    after = np.arange(k)[None, :] >= first[:, None]
    return np.where(first >= 0, (row_total | ~after).all(axis=1), False)


def _adds_up(i: int, coded: list[tuple[np.ndarray, pd.Index]], ds_codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per distinct value of level i: whether its rows equal the sum of their siblings (same other levels, date)."""
    codes_i, values_i = coded[i]
    ok = ~np.isnan(y)
    key = ds_codes.astype(np.int64)
    for j, (codes, values) in enumerate(coded):
        if j != i:
            key = key * (len(values) + 1) + codes
    frame = pd.DataFrame({"g": pd.factorize(key[ok])[0], "v": codes_i[ok], "y": y[ok]})
    grouped = frame.groupby("g")["y"]
    total, size = grouped.transform("sum").to_numpy(), grouped.transform("size").to_numpy()
    scale = np.maximum(np.abs(total), 1e-9)
    match = (np.abs(2 * frame["y"].to_numpy() - total) <= ADDS_UP_TOL * scale) & (size >= 3) & (total != 0)
    per_value = pd.DataFrame({"v": frame["v"], "m": match}).groupby("v")["m"].agg(["mean", "size"])
    out = np.zeros(len(values_i), dtype=bool)
    good = per_value[(per_value["mean"] >= ADDS_UP_SHARE) & (per_value["size"] >= MIN_ROWS)]
    out[good.index.to_numpy()] = True
    return out


def node_ids(levels: list[str], coded: list[tuple[np.ndarray, pd.Index]], rows: np.ndarray, depth: np.ndarray
             ) -> np.ndarray:
    """Series ids (hierarchy.aggregate_levels' spelling) of the nodes given by total rows `rows` at `depth`."""
    from trendcast.forecasting.hierarchy import TOTAL_ID

    out = np.empty(len(rows), dtype=object)
    for n, (r, d) in enumerate(zip(rows, depth)):
        parts = [f"{levels[i]}={coded[i][1][coded[i][0][r]]}" for i in range(d)]
        out[n] = "/".join(parts) if parts else TOTAL_ID
    return out


def use_given(sales: pd.DataFrame, given: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Replace the summed values of the nodes in `given` (unique_id, ds, y) with the given ones; returns the sales
    and how far the sums were from them: ``{"nodes", "values", "median_pct", "max_pct", "worst"}``."""
    merged = given.merge(sales, on=["unique_id", "ds"], how="left", suffixes=("", "_sum"))
    both = merged.dropna(subset=["y_sum"])
    off = (100 * (both["y_sum"] - both["y"]).abs() / both["y"].abs().clip(lower=1e-9)).to_numpy()
    worst = both["unique_id"].iloc[int(np.argmax(off))] if len(off) else None
    kept = sales.merge(given[["unique_id", "ds"]], on=["unique_id", "ds"], how="left", indicator=True)
    sales = pd.concat([sales[(kept["_merge"] == "left_only").to_numpy()], given], ignore_index=True)
    check = {"nodes": int(given["unique_id"].nunique()), "values": int(len(given)),
             "median_pct": float(np.median(off)) if len(off) else 0.0,
             "max_pct": float(off.max()) if len(off) else 0.0, "worst": worst}
    return sales, check
