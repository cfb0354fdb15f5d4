"""Parsing and checking the columns of a sales file, with InputErrors that name file, column and first bad row.

Work happens on distinct values (factorised text) wherever possible, so a 400k-row file costs a few milliseconds.
`rows` arguments map each kept row to its 0-based data-row position in the file (filters drop rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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


def parse_values(path, column, col: pd.Series, rows, line) -> np.ndarray:
    """float64 values; empty / NA cells are NaN (missing, not an error); InputError at the first non-number."""
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
