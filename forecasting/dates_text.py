"""Dates as they come in sales files: ISO 8601, an explicit strptime format, or day/month numbers in either order.

A column of ``NN-NN-YYYY`` (or ``/``, ``.``) dates is read the only way all its values parse. When every value parses
both ways (all days ≤ 12), the column is ambiguous: it is read the one way whose dates form a frequency (daily,
weekly, monthly), and when both ways do (the first 12 days of a daily file read month-first are a monthly year) the
ingest stops and names the options — a daily file is never silently read as a year of months.
"""
from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd

from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import infer_freq

_NUMERIC = re.compile(r"^\s*(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](.*))?$")


def parse_dates(path, column, values: pd.Index, codes, rows, line, *, date_format: str | None = None,
                dayfirst: bool | None = None) -> pd.DatetimeIndex:
    """Parse the distinct date texts of a column; InputError at the first row whose date does not parse (an empty
    date is an error too) and when day-first and month-first readings are both possible (see the module doc).

    `date_format`: a strptime format every value must match. `dayfirst`: True / False to fix the order of
    ``NN-NN-YYYY`` dates; None to detect it."""
    if date_format:
        parsed = pd.to_datetime(values, format=date_format, errors="coerce")
        hint = f" (does not match --date-format {date_format!r})"
    else:
        parsed = _parse(path, column, values, dayfirst)
        hint = ""
    if parsed.tz is not None:
        parsed = parsed.tz_localize(None)
    bad_values = np.asarray(parsed.isna())
    if bad_values.any():
        row = _first_row(rows, bad_values[codes])
        text = values[codes[np.flatnonzero(bad_values[codes])[0]]]
        raise InputError.at(path, f"{text!r} is not a date{hint}", column=column, row=row, has_header_line=line)
    return pd.DatetimeIndex(parsed)


def _first_row(rows: np.ndarray, bad: np.ndarray) -> int:
    return int(rows[np.flatnonzero(bad)[0]])


def _parse(path, column, values: pd.Index, dayfirst: bool | None) -> pd.DatetimeIndex:
    text = pd.Series(values, dtype=object).astype(str)
    numeric = text.str.match(_NUMERIC)
    if len(text) and numeric.all():
        return _day_month(path, column, text, dayfirst)
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
    if _missing(parsed):
        with warnings.catch_warnings():  # "could not infer format": expected for non-dates, reported by the caller
            warnings.simplefilter("ignore", UserWarning)
            other = pd.to_datetime(values, errors="coerce", dayfirst=bool(dayfirst))
        if _missing(other) < _missing(parsed):
            parsed = other
    return pd.DatetimeIndex(parsed)


def _day_month(path, column, text: pd.Series, dayfirst: bool | None) -> pd.DatetimeIndex:
    """``NN-NN-YYYY`` dates: read day-first, month-first, or the one way that works."""
    parts = text.str.extract(_NUMERIC)
    a, b = parts[0].astype(int), parts[2].astype(int)
    year = parts[3].astype(int)
    year = year.where(year >= 100, year + 2000)
    rest = parts[4].fillna("").str.strip()
    rest = rest.where(~rest.str.fullmatch(r"\d{1,2}:\d{2}"), rest + ":00")  # 10:30 → 10:30:00

    def build(day: pd.Series, month: pd.Series) -> pd.DatetimeIndex:
        frame = pd.DataFrame({"year": year, "month": month, "day": day})
        out = pd.to_datetime(frame, errors="coerce")
        has_time = rest != ""
        if has_time.any():
            times = pd.to_timedelta(rest.where(has_time, "0:00:00"), errors="coerce")
            out = out + times.fillna(pd.Timedelta(0))
        return pd.DatetimeIndex(out)

    day_first, month_first = build(a, b), build(b, a)
    if dayfirst is True:
        return day_first
    if dayfirst is False:
        return month_first
    ok_d, ok_m = not _missing(day_first), not _missing(month_first)
    if ok_d != ok_m:
        return day_first if ok_d else month_first
    if not ok_d:  # neither way parses every value: report the reading that fails later
        return day_first if _missing(day_first) <= _missing(month_first) else month_first
    if (day_first == month_first).all():
        return day_first
    fits = {name: _has_frequency(ds) for name, ds in (("day-first", day_first), ("month-first", month_first))}
    if fits["day-first"] != fits["month-first"]:
        return day_first if fits["day-first"] else month_first
    i = int(np.flatnonzero((a != b).to_numpy())[0])
    raise InputError.at(
        path,
        f"dates like {text.iloc[i].strip()!r} read both day-first ({day_first[i].date()}) and month-first "
        f"({month_first[i].date()}), and both give a regular series; pass --dayfirst, --monthfirst or "
        "--date-format (e.g. %d-%m-%Y)",
        column=column,
    )


def _missing(ds: pd.DatetimeIndex) -> int:
    """How many of the dates did not parse (NaT)."""
    return int(np.asarray(ds.isna()).sum())


def _has_frequency(ds: pd.DatetimeIndex) -> bool:
    """Whether the dates form a regular series: a frequency fits and at least half its periods in the span occur."""
    try:
        freq = infer_freq(ds)
    except ValueError:
        return False
    uniq = ds.normalize().unique()
    span = pd.period_range(uniq.min(), uniq.max(), freq="M" if freq == "MS" else freq[0])
    return len(uniq) >= 0.5 * len(span)


def parse_days(path, column, cells, *, date_format: str | None = None, dayfirst: bool | None = None,
               ) -> list[dt.date | None]:
    """The days of a column of cells (texts, dates or timestamps; blank cells are None) read like a sales file's
    dates: ISO 8601, `date_format`, or ``NN-NN-YYYY`` day-first / month-first detected from the whole column (see
    the module doc). InputError at the first cell that is not a date, suggesting --date-format."""
    out: list[dt.date | None] = [None] * len(cells)
    texts: dict[int, str] = {}
    for i, cell in enumerate(cells):
        if cell is None or (isinstance(cell, float) and cell != cell) or cell is pd.NaT:
            continue
        if isinstance(cell, dt.datetime):  # pandas Timestamp too
            out[i] = cell.date()
        elif isinstance(cell, dt.date):
            out[i] = cell
        elif str(cell).strip():
            texts[i] = str(cell).strip()
    if not texts:
        return out
    rows = np.fromiter(texts, dtype=np.int64, count=len(texts))
    codes, values = pd.factorize(pd.Index(list(texts.values()), dtype=object))
    try:
        parsed = parse_dates(path, column, pd.Index(values, dtype=object), codes, rows, True,
                             date_format=date_format, dayfirst=dayfirst)
    except InputError as exc:
        if "--date-format" in str(exc):
            raise
        example = "%d/%m/%Y" if not date_format else "a format every value matches"
        raise InputError(f"{exc} (ISO 8601 or NN-NN-YYYY expected; pass --date-format, e.g. {example})") from None
    for row, code in zip(rows, codes):
        out[int(row)] = parsed[int(code)].date()
    return out
