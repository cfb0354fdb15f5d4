"""Parsing and checking the columns of a sales file, with InputErrors that name file, column and first bad row.

Work happens on distinct values (factorised text) wherever possible, so a 400k-row file costs a few milliseconds.
`rows` arguments map each kept row to its 0-based data-row position in the file (filters drop rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.forecasting.constants import MAX_ABS_VALUE
from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import infer_freq, normalize_dates, weekly_alias
from trendcast.forecasting.readers import NULL_TOKENS


def text_codes(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and distinct stripped values of a text column (work on distinct values, not on rows)."""
    codes, values = pd.factorize(col.to_numpy(object))
    stripped = pd.Index(values, dtype=object).str.strip()
    if stripped.has_duplicates:
        recode, stripped = pd.factorize(stripped)
        codes = recode[codes]
        stripped = pd.Index(stripped, dtype=object)
    return codes, stripped


def first_row(rows: np.ndarray, bad: np.ndarray) -> int:
    return int(rows[np.flatnonzero(bad)[0]])


# The value rule: a value is a finite number of magnitude at most MAX_ABS_VALUE = 2**53 (about 9.0e15, constants),
# the largest a float64 holds to the unit. No retail figure comes near it (the world's retail sales are about 3e13 US
# dollars a year); a value beyond it is a unit or parsing error (1e300 once made every later answer of its series
# fail), refused at ingest with its file, column and row.
# A series that is never negative but for a few values (at most this share of them, a -500 among values near 100)
# is noted at ingest: a sign error, a return booked as a sale? Its forecast is then no longer kept at or above 0.
FEW_NEGATIVE = 0.1


def check_magnitude(path, column, y: np.ndarray, rows, line) -> None:
    """InputError at the first value beyond ±MAX_ABS_VALUE (NaN: missing, not checked)."""
    with np.errstate(invalid="ignore"):
        huge = np.abs(y) > MAX_ABS_VALUE
    if huge.any():
        i = np.flatnonzero(huge)[0]
        raise InputError.at(path, f"{y[i]:g} is beyond ±{MAX_ABS_VALUE:.3g}, the largest magnitude trendcast accepts "
                                  "(2^53: a float holds sales to the unit up to there); a value this large is a unit "
                                  "or parsing error", column=column, row=int(rows[i]), has_header_line=line)


def lone_negatives(keys: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows that are negative in a series (`keys`: a series code per row) whose other values are never negative,
    when they are at most FEW_NEGATIVE of its values: a sign change worth a note. NaN values are not counted."""
    frame = pd.DataFrame({"k": keys, "neg": y < 0, "ok": y >= 0})
    per = frame.groupby("k", sort=False)[["neg", "ok"]].transform("sum")
    n = per["neg"] + per["ok"]
    few = (per["neg"] > 0) & (per["ok"] > 0) & (per["neg"] <= np.maximum(1, FEW_NEGATIVE * n))
    return (frame["neg"] & few).to_numpy()


def describer(levels, keys):
    """``describe(i)`` naming the series of kept row i in a message: `keys` one id per row, or with `levels` the
    hierarchy's (codes, values) per level."""
    if not isinstance(keys, list):
        return lambda i: f"series {keys[i]!r}"

    def describe(i: int) -> str:
        return ", ".join(f"{col}={values[codes[i]]!r}" for col, (codes, values) in zip(levels or (), keys)) \
            or "the series"
    return describe


def negative_notes(keys, levels, ds, y: np.ndarray, rows, line, aggregated=None) -> list[str]:
    """The note for the series that are never negative but for a few values (`lone_negatives`): how many, and the
    first with its series, period and row. `keys`, `levels`: as `describer`'s; `aggregated` (a transaction log
    summed per period): no file row."""
    describe, rows = describer(levels, keys), None if aggregated else rows
    if isinstance(keys, list):  # levels: a series is the combination of its codes
        frame = pd.DataFrame({i: codes for i, (codes, _) in enumerate(keys)})
        codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy() if keys else np.zeros(len(y), int)
    else:
        codes = pd.factorize(np.asarray(keys, dtype=object))[0]
    lone = lone_negatives(codes, y)
    if not lone.any():
        return []
    i, n = int(np.flatnonzero(lone)[0]), int(lone.sum())
    where = "" if rows is None else f", row {int(rows[i]) + 1}" + (f" (line {int(rows[i]) + 2})" if line else "")
    return [f"{n:,} negative value{'s' if n > 1 else ''} in {len(pd.unique(codes[lone])):,} series otherwise never "
            f"negative, the first {y[i]:g} for {describe(i)} on {pd.Timestamp(ds[i]).date()}{where}: a sign error, "
            "or returns? (such a series' forecast is not kept at or above 0)"]


def parse_values(path, column, col: pd.Series, rows, line) -> np.ndarray:
    """float64 values; empty / NA cells are NaN (missing, not an error); InputError at the first non-number, the
    first infinite value and the first beyond ±MAX_ABS_VALUE."""
    if col.dtype == "float64":
        y = col.to_numpy()
    else:
        text = col.astype(str).str.strip()
        text = text.where(~text.isin(NULL_TOKENS), None)  # type: ignore[call-overload]  # stubs reject None
        y = pd.to_numeric(text, errors="coerce").to_numpy("float64")
        bad = np.isnan(y) & text.notna().to_numpy()
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise InputError.at(
                path, f"{col.iloc[i]!r} is not a number", column=column, row=int(rows[i]), has_header_line=line
            )
    infinite = np.isinf(y)
    if infinite.any():
        raise InputError.at(path, f"{y[infinite][0]} is not a finite number", column=column,
                            row=first_row(rows, infinite), has_header_line=line)
    check_magnitude(path, column, y, rows, line)
    return y


def frequency(path, mapping, parsed: pd.DatetimeIndex, codes, rows, line) -> tuple[str, pd.DatetimeIndex]:
    """Canonical frequency and the distinct dates normalised to period starts."""
    used = np.zeros(len(parsed), dtype=bool)
    used[codes] = True
    freq = mapping.freq
    if freq is None:
        try:
            freq = infer_freq(parsed[used])
        except ValueError as exc:
            raise InputError.at(path, str(exc), column=mapping.date) from None
    if freq == "W":
        weekday = parsed.weekday.to_numpy()
        row_days = weekday[codes]
        other = row_days != row_days[0]
        if other.any():
            raise InputError.at(
                path,
                f"weekly data must use one weekday; this row is a {parsed[codes[np.flatnonzero(other)[0]]]:%A}, "
                f"the first row a {parsed[codes[0]]:%A}",
                column=mapping.date, row=first_row(rows, other), has_header_line=line,
            )
        freq = weekly_alias(int(row_days[0]))
    return freq, normalize_dates(parsed, freq)


def require_nonempty(path, column, values: pd.Index, codes, rows, line) -> None:
    """InputError at the first row whose key column is empty."""
    empty = np.asarray(values == "")[codes]
    if empty.any():
        raise InputError.at(path, "empty series key", column=column, row=first_row(rows, empty), has_header_line=line)


def check_duplicates(path, column, key_codes, ds, rows, line, describe) -> None:
    """InputError at the first row that repeats an earlier row's (series, period), naming both rows.

    `describe(i)` names the series of kept row i (``series '4481'``, ``Store='1', Dept='1'``)."""
    frame = pd.DataFrame({f"k{i}": c for i, c in enumerate(key_codes)})
    frame["t"] = ds.asi8
    dup = frame.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    later = frame.duplicated(keep="first").to_numpy()
    i = np.flatnonzero(later)[0]
    same = np.flatnonzero(dup & (frame.eq(frame.iloc[i]).all(axis=1).to_numpy()))[0]
    raise InputError.at(
        path,
        f"duplicate row for {describe(i)} on {ds[i].date()} (same series and period as row {int(rows[same]) + 1}); "
        "a transaction log (one row per sale) needs --aggregate sum or count with --freq D, W or M",
        column=column, row=int(rows[i]), has_header_line=line,
    )
