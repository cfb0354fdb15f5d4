"""Sales files → the sales store: column mapping, validation, frequency, hierarchy; all or nothing.

`read_sales` turns one CSV/CSV.gz/Parquet file into StatsForecast-style long data plus a series table;
`ingest_sales` writes them into a `SalesStore` in one transaction (re-ingesting a data set replaces it).
Every problem with the input is an `InputError` naming file, column and first bad row, raised before anything is
written.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting.errors import InputError
from forecasting.frequency import parse_freq
from forecasting.hierarchy import HIERARCHY_COLUMNS, aggregate_levels, code_hierarchy, slugify
from forecasting.parsing import (
    check_duplicates,
    first_row,
    frequency,
    parse_dates,
    parse_values,
    require_nonempty,
    text_codes,
)
from forecasting.readers import check_columns, file_format, read_columns, read_header
from forecasting.store import SERIES_COLUMNS, SalesStore


@dataclass(frozen=True)
class SalesMapping:
    """Which columns of a sales file mean what.

    date: column with the period's date (``2019-12``, ``2019-12-01``, ``2010-02-05`` ...).
    value: column with the sales number; empty cells are missing values (dropped, counted), not errors.
    id: column naming each series; or levels: hierarchy columns (``["Store", "Dept"]``; ``[]`` for a file that is
        one series, stored as ``Total``) — exactly one of the two.
    name: display-name column (with `id`); rows with an empty id take the slug of their name as id.
    freq: None (infer) or D / W / M (also daily / weekly / monthly, W-FRI).
    where: filters ``{column: value or list of values}`` compared as text (``{"adjustment": "NSA"}``).
    code_hierarchy: ids are codes whose prefixes nest (NAICS 448 → 4481 → 44812); series are taken as given.
    dataset: data-set name in the store (default: the file name without extensions).
    """

    date: str
    value: str
    id: str | None = None
    levels: tuple[str, ...] | None = None
    name: str | None = None
    freq: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    code_hierarchy: bool = False
    dataset: str | None = None

    def __post_init__(self) -> None:
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(self.levels))
        if (self.id is None) == (self.levels is None):
            raise InputError("sales mapping: give exactly one of id (a series column) or levels (hierarchy columns)")
        if self.code_hierarchy and self.id is None:
            raise InputError("sales mapping: code_hierarchy needs an id column of codes")
        if self.name is not None and self.levels:
            raise InputError("sales mapping: name is only used with id (level series are named from their values)")
        if self.freq is not None:
            try:
                object.__setattr__(self, "freq", parse_freq(self.freq))
            except ValueError as exc:
                raise InputError(f"sales mapping: {exc}") from None

    def dataset_name(self, path: Path) -> str:
        return self.dataset or path.name.split(".")[0]


@dataclass(frozen=True)
class IngestSummary:
    dataset: str
    file: str
    rows: int  # rows written to the sales table (aggregates included)
    source_rows: int  # data rows of the file left after `where`
    missing: int  # of those, rows with an empty value (dropped)
    series: int
    levels: dict[str, int]  # level → number of series
    freq: str
    start: date
    end: date
    seconds: float


@dataclass
class _Loaded:
    sales: pd.DataFrame
    series: pd.DataFrame
    freq: str
    source_rows: int
    missing: int


def read_sales(path: str | Path, mapping: SalesMapping) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """``(sales[unique_id, ds, y], series[SERIES_COLUMNS], freq)`` from one file; InputError on bad input."""
    loaded = _load(Path(path), mapping)
    return loaded.sales, loaded.series, loaded.freq


def ingest_sales(store: SalesStore, path: str | Path, mapping: SalesMapping) -> IngestSummary:
    """Read, validate and write one data set in a single transaction (replacing an earlier ingest of it)."""
    started = time.perf_counter()
    path = Path(path)
    loaded = _load(path, mapping)
    name = mapping.dataset_name(path)
    meta = {
        "file": str(path.resolve()),
        "file_hash": _file_hash(path),
        "mapping_json": json.dumps(asdict(mapping), sort_keys=True),
        "n_rows": len(loaded.sales),
    }
    store.replace_dataset(name, loaded.sales, loaded.series, meta)
    series = loaded.series
    return IngestSummary(
        dataset=name,
        file=str(path),
        rows=len(loaded.sales),
        source_rows=loaded.source_rows,
        missing=loaded.missing,
        series=len(series),
        levels={str(k): int(v) for k, v in series.groupby("level", sort=False).size().items()},
        freq=loaded.freq,
        start=loaded.sales["ds"].min().date(),
        end=loaded.sales["ds"].max().date(),
        seconds=round(time.perf_counter() - started, 3),
    )


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load(path: Path, mapping: SalesMapping) -> _Loaded:
    fmt = file_format(path)
    line = fmt == "csv"
    key_columns = [mapping.id] if mapping.levels is None else list(mapping.levels)
    wanted = {mapping.date: "date", mapping.value: "value", **{c: "series key" for c in key_columns}}
    if mapping.name:
        wanted[mapping.name] = "name"
    wanted.update({c: "filter" for c in mapping.where})
    check_columns(path, read_header(path, fmt), wanted)
    text_columns = [c for c in wanted if c != mapping.value]
    df = read_columns(path, fmt, text_columns, mapping.value)
    if df.empty:
        raise InputError.at(path, "no data rows (only a header)")
    rows = _apply_filters(path, df, mapping.where)
    df = df.iloc[rows]

    date_codes, dates = text_codes(df[mapping.date])
    parsed = parse_dates(path, mapping.date, dates, date_codes, rows, line)
    y = parse_values(path, mapping.value, df[mapping.value], rows, line)
    freq, parsed = frequency(path, mapping, parsed, date_codes, rows, line)
    ds = pd.DatetimeIndex(parsed.take(date_codes))

    if mapping.id is not None:
        ids, names, from_name = _series_ids(path, mapping, df, rows, line)
        key_codes = [pd.factorize(ids)[0]]

        def describe(i: int) -> str:
            return f"series {ids[i]!r}"
    else:
        coded = [text_codes(df[c]) for c in mapping.levels]
        for col, (codes, values) in zip(mapping.levels, coded):
            require_nonempty(path, col, values, codes, rows, line)
        key_codes = [c for c, _ in coded]

        def describe(i: int) -> str:
            keys = [f"{col}={values[codes[i]]!r}" for col, (codes, values) in zip(mapping.levels, coded)]
            return ", ".join(keys) or "the series"
    check_duplicates(path, mapping.date, key_codes, ds, rows, line, describe)

    keep = ~np.isnan(y)
    missing = int((~keep).sum())
    if not keep.any():
        raise InputError.at(path, "every value is empty after filters", column=mapping.value)
    if mapping.id is not None:
        sales, series = _id_series(mapping, ids[keep], names, from_name, ds[keep], y[keep])
    else:
        sales, series = aggregate_levels(
            [c[keep] for c, _ in coded], [v for _, v in coded], list(mapping.levels), ds[keep], y[keep]
        )
    sales = sales.sort_values(["unique_id", "ds"], ignore_index=True)
    series = _with_stats(series, sales, freq, mapping.dataset_name(path))
    return _Loaded(sales, series, freq, source_rows=len(rows), missing=missing)


def _apply_filters(path: Path, df: pd.DataFrame, where: dict[str, Any]) -> np.ndarray:
    """Positions of the rows that pass every filter; InputError when none does."""
    keep = np.ones(len(df), dtype=bool)
    for col, wanted in where.items():
        codes, values = text_codes(df[col])
        allowed = {str(v) for v in (wanted if isinstance(wanted, (list, tuple, set)) else [wanted])}
        keep &= np.asarray(values.isin(allowed))[codes]
    if not keep.any():
        shown = "; ".join(
            f"{col}={wanted!r} ({col!r} has: {', '.join(map(str, text_codes(df[col])[1][:12]))})"
            for col, wanted in where.items()
        )
        raise InputError.at(path, f"no rows left after filters {shown}")
    return np.flatnonzero(keep)


def _series_ids(path, mapping, df, rows, line) -> tuple[np.ndarray, dict[str, str], set[str]]:
    """Per-row series ids (empty id → slug of the name), each id's display name (its first), ids made from names."""
    codes, values = text_codes(df[mapping.id])
    ids = values.to_numpy(object)[codes]
    if mapping.name is None:
        require_nonempty(path, mapping.id, values, codes, rows, line)
        return ids, {}, set()
    n_codes, n_values = text_codes(df[mapping.name])
    names = n_values.to_numpy(object)[n_codes]
    empty_id = ids == ""
    from_name: set[str] = set()
    if empty_id.any():
        slugs = np.array([slugify(v) if v else "" for v in n_values], dtype=object)
        ids = np.where(empty_id, slugs[n_codes], ids)
        no_name = empty_id & (names == "")
        if no_name.any():
            raise InputError.at(path, f"empty id and empty name ({mapping.name!r})", column=mapping.id,
                                row=first_row(rows, no_name), has_header_line=line)
        from_name = set(pd.unique(ids[empty_id]))
    named = pd.DataFrame({"id": ids, "name": names}).drop_duplicates("id")
    return ids, dict(zip(named["id"], named["name"])), from_name


def _id_series(mapping, ids, names, from_name, ds, y) -> tuple[pd.DataFrame, pd.DataFrame]:
    sales = pd.DataFrame({"unique_id": ids, "ds": ds, "y": y})
    uids = pd.Series(pd.unique(ids), dtype=object)
    if mapping.code_hierarchy:
        series = code_hierarchy(uids, uids.where(~uids.isin(from_name), ""))
    else:
        series = pd.DataFrame({"unique_id": uids, "code": uids, "level": mapping.id, "depth": 0, "parent_id": None})
    series["name"] = series["unique_id"].map(names).fillna(series["unique_id"]) if names else series["unique_id"]
    return sales, series[HIERARCHY_COLUMNS]


def _with_stats(series: pd.DataFrame, sales: pd.DataFrame, freq: str, dataset: str) -> pd.DataFrame:
    stats = sales.groupby("unique_id", sort=False)["ds"].agg(start="min", end="max", n_obs="size")
    out = series.merge(stats, left_on="unique_id", right_index=True, how="inner")
    out["freq"] = freq
    out["dataset"] = dataset
    out["depth"] = out["depth"].astype("int64")
    return out[SERIES_COLUMNS].sort_values(["depth", "unique_id"], ignore_index=True)
