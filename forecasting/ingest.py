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

from trendcast.forecasting.errors import InputError
from trendcast.forecasting.frequency import parse_freq
from trendcast.forecasting.hierarchy import HIERARCHY_COLUMNS, aggregate_levels, code_hierarchy, slugify
from trendcast.forecasting.dates_text import parse_dates
from trendcast.forecasting.filters import apply_filters
from trendcast.forecasting.frequency import period_ends, weekly_alias
from trendcast.forecasting.parsing import (
    check_duplicates,
    check_magnitude,
    describer,
    negative_notes,
    first_row,
    frequency,
    parse_values,
    require_nonempty,
    text_codes,
)
from trendcast.forecasting.totals import find_totals, node_ids, parse_totals, use_given
from trendcast.forecasting.transactions import AGGREGATES, NEGATIVES, aggregate, canonical_freq
from trendcast.forecasting.readers import check_columns, file_format, read_columns, read_header
from trendcast.forecasting.store import SERIES_COLUMNS, SalesStore


@dataclass(frozen=True)
class SalesMapping:
    """Which columns of a sales file mean what.

    date: column with the period's date (``2019-12``, ``2019-12-01``, ``2010-02-05`` ...).
    value: column with the sales number; empty cells are missing values (dropped, counted), not errors.
    id: column naming each series; or levels: hierarchy columns (``["Store", "Dept"]``; ``[]`` for a file that is
        one series, stored as ``Total``) — exactly one of the two.
    name: display-name column (with `id`); rows with an empty id take the slug of their name as id.
    freq: None (infer) or D / W / M (also daily / weekly / monthly, W-FRI).
    where: filters ``{column: value or list of values}`` compared as text (``{"adjustment": "NSA"}``): a row must
        have one of the values; where_not: ``{column: values}`` a row must not have (forecasting.filters).
    code_hierarchy: ids are codes whose prefixes nest (NAICS 448 → 4481 → 44812); series are taken as given.
    dataset: data-set name in the store (default: the file name without extensions).
    date_format: strptime format of the date column; dayfirst: True / False for ``NN-NN-YYYY`` dates (None:
        detect; forecasting.dates_text).
    totals: with levels, how total rows already in the file are found: ``auto``, ``none`` or a comma list of the
        values that are totals (forecasting.totals).
    aggregate: ``sum`` or ``count`` the rows per series and period (a transaction log; needs freq); the value may be
        a product of columns, ``Quantity*UnitPrice``; negatives: ``keep`` or ``drop`` negative lines.
    week_label: weekly dates label the week's ``start`` (the default) or its ``end``.
    complete_through: ISO date the data is complete through: periods ending later are left out (with aggregate,
        a last period the log stops inside is left out without it).
    namespace: prefix every series id with ``<dataset>:`` so data sets whose ids clash share a workspace.
    encoding: the text encoding of a CSV file (None: UTF-8; ``cp1252``, ``latin-1``, …).
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
    where_not: dict[str, Any] = field(default_factory=dict)
    date_format: str | None = None
    dayfirst: bool | None = None
    totals: str | None = None
    aggregate: str | None = None
    negatives: str = "keep"
    week_label: str = "start"
    complete_through: str | None = None
    namespace: bool = False
    encoding: str | None = None

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
        if self.aggregate is not None and self.aggregate not in AGGREGATES:
            raise InputError(f"sales mapping: aggregate must be one of {', '.join(AGGREGATES)}")
        if self.aggregate is not None and self.freq is None:
            raise InputError("sales mapping: aggregate needs freq (--freq D, W or M): the periods to sum into")
        if self.negatives not in NEGATIVES:
            raise InputError(f"sales mapping: negatives must be one of {', '.join(NEGATIVES)}")
        if self.week_label not in ("start", "end"):
            raise InputError("sales mapping: week_label must be start or end")
        if self.aggregate is not None and self.week_label != "start":
            raise InputError("sales mapping: aggregated weeks are labelled by their start (Monday); drop week_label")
        if self.totals is not None and self.levels is None:
            raise InputError("sales mapping: totals is only used with levels")
        if self.complete_through is not None:
            try:
                object.__setattr__(self, "complete_through", date.fromisoformat(str(self.complete_through))
                                   .isoformat())
            except ValueError:
                raise InputError(f"sales mapping: complete_through {self.complete_through!r} is not a "
                                 "YYYY-MM-DD date") from None

    @property
    def value_columns(self) -> list[str]:
        """The columns whose product is the value (none when counting rows)."""
        if self.aggregate == "count":
            return []
        return [c.strip() for c in self.value.split("*")] if "*" in self.value else [self.value]

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
    dropped: dict[str, int] = field(default_factory=dict)  # why → rows of the file (or periods) left out
    notes: list[str] = field(default_factory=list)  # what the ingest decided that the user should know


@dataclass
class _Loaded:
    sales: pd.DataFrame
    series: pd.DataFrame
    freq: str
    source_rows: int
    missing: int
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
        dropped=loaded.dropped,
        notes=loaded.notes,
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
    key_columns = [mapping.id] if mapping.id is not None else list(mapping.levels or ())
    value_columns = mapping.value_columns
    wanted = {mapping.date: "date", **{c: "value" for c in value_columns},
              **{c: "series key" for c in key_columns}}
    if mapping.name:
        wanted[mapping.name] = "name"
    wanted.update({c: "filter" for c in [*mapping.where, *mapping.where_not]})
    check_columns(path, read_header(path, fmt, mapping.encoding), wanted)
    text_columns = [c for c in wanted if c not in value_columns]
    df = read_columns(path, fmt, text_columns, value_columns[0] if value_columns else None, mapping.encoding)
    for extra in value_columns[1:]:
        df[extra] = read_columns(path, fmt, [mapping.date], extra, mapping.encoding)[extra].to_numpy()
    if df.empty:
        raise InputError.at(path, "no data rows (only a header)")
    dropped: dict[str, int] = {}
    notes: list[str] = []
    rows = apply_filters(path, df, mapping.where, mapping.where_not)
    if len(rows) < len(df):
        dropped["rows filtered out by --where"] = len(df) - len(rows)
    df = df.iloc[rows]

    date_codes, dates = text_codes(df[mapping.date])
    parsed = parse_dates(path, mapping.date, dates, date_codes, rows, line, date_format=mapping.date_format,
                         dayfirst=mapping.dayfirst)
    y = np.ones(len(df))
    for col in value_columns:
        y = y * parse_values(path, col, df[col], rows, line)
    check_magnitude(path, mapping.value, y, rows, line)  # a product of columns obeys the value rule too

    if mapping.id is not None:
        ids, names, from_name = _series_ids(path, mapping, df, rows, line)
        id_codes, id_values = pd.factorize(ids)
        key_codes = [id_codes]
    else:
        assert mapping.levels is not None  # exactly one of id and levels (SalesMapping)
        coded = [text_codes(df[c]) for c in mapping.levels]
        for col, (codes, values) in zip(mapping.levels, coded):
            require_nonempty(path, col, values, codes, rows, line)
        key_codes = [c for c, _ in coded]
    through = pd.Timestamp(mapping.complete_through) if mapping.complete_through else None
    source_rows = len(rows)

    if mapping.aggregate is not None:
        assert mapping.freq is not None  # aggregate needs freq (SalesMapping)
        agg = aggregate(key_codes, pd.DatetimeIndex(parsed.take(date_codes)), y, mapping.freq, mapping.aggregate,
                        mapping.negatives, through)
        freq, ds, y, key_codes = canonical_freq(mapping.freq), agg.ds, agg.y, agg.key_codes
        notes.append(f"{agg.lines:,} lines → {len(y):,} {mapping.aggregate}s per series and "
                     f"{ {'D': 'day', 'MS': 'month'}.get(freq, 'week (from Monday)')}; periods without a line are 0")
        if agg.negative_lines:
            what = "dropped" if agg.dropped_negative else "kept (net of returns)"
            notes.append(f"{agg.negative_lines:,} negative lines {what}")
            if agg.dropped_negative:
                dropped["negative lines (--negatives drop)"] = agg.dropped_negative
        if agg.partial is not None:
            dropped[f"incomplete last period (from {agg.partial.date()})"] = 1
            notes.append(f"the period from {agg.partial.date()} ends after the data does: left out as incomplete "
                         "(--complete-through DATE says the data is complete)")
        late = np.zeros(len(y), dtype=bool)
        if mapping.id is not None:
            ids = np.asarray(id_values, dtype=object)[key_codes[0]]
        else:
            coded = [(k, values) for k, (_, values) in zip(key_codes, coded)]
    else:
        freq, parsed = frequency(path, mapping, parsed, date_codes, rows, line)
        if mapping.week_label == "end":
            if not freq.startswith("W"):
                raise InputError.at(path, f"--week-label end is for weekly data; these dates are {freq}",
                                    column=mapping.date)
            parsed = parsed - pd.Timedelta(days=6)
            freq = weekly_alias(int(parsed[date_codes[0]].weekday()))
        ds = pd.DatetimeIndex(parsed.take(date_codes))
        check_duplicates(path, mapping.date, key_codes, ds, rows, line,
                         describer(mapping.levels, ids if mapping.id is not None else coded))
        late = np.asarray(period_ends(ds, freq) > through) if through is not None else np.zeros(len(y), bool)
        if late.any():
            dropped[f"rows of periods ending after --complete-through {mapping.complete_through}"] = int(late.sum())

    missing = int(np.isnan(y).sum())
    keep = ~np.isnan(y) & ~late
    if not keep.any():
        raise InputError.at(path, "every value is empty after filters", column=value_columns[0] if value_columns
                            else mapping.date)
    if missing:
        dropped["rows with an empty value"] = missing
    notes += negative_notes(ids if mapping.id is not None else coded, mapping.levels, ds,  # a sign change: a note
                            np.where(keep, y, np.nan), rows, line, mapping.aggregate)
    if mapping.id is not None:
        sales, series = _id_series(mapping, ids[keep], names, from_name, ds[keep], y[keep])
    else:
        sales, series = _level_series(mapping, coded, ds, y, keep, dropped, notes)
    if mapping.namespace:
        sales, series = _namespaced(sales, series, mapping.dataset_name(path))
    sales = sales.sort_values(["unique_id", "ds"], ignore_index=True)
    series = _with_stats(series, sales, freq, mapping.dataset_name(path))
    return _Loaded(sales, series, freq, source_rows=source_rows, missing=missing, dropped=dropped, notes=notes)


def _level_series(mapping: SalesMapping, coded, ds, y, keep, dropped, notes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leaves summed into every level; total rows the file already has used as the aggregates they are."""
    levels = list(mapping.levels or ())
    totals = find_totals(levels, coded, pd.factorize(ds)[0], np.where(keep, y, np.nan), *parse_totals(mapping.totals))
    notes.extend(totals.notes)
    leaf = keep & totals.leaf
    if not leaf.any():
        raise InputError("every row is a total row; nothing is left to sum (set --totals none)")
    sales, series = aggregate_levels([c[leaf] for c, _ in coded], [v for _, v in coded], levels, ds[leaf], y[leaf])
    if not totals.found:
        return sales, series
    given = keep & (totals.node_depth >= 0)
    found = "; ".join(f"{col} = {', '.join(map(repr, vals[:4]))}" + (" …" if len(vals) > 4 else "")
                      for col, vals in totals.values.items())
    cross = int((keep & totals.cross_cut).sum())
    if cross:
        dropped["total rows across the hierarchy (e.g. a total above a non-total)"] = cross
    if given.any():
        frame = pd.DataFrame({"unique_id": node_ids(levels, coded, np.flatnonzero(given),
                                                    totals.node_depth[given]),
                              "ds": ds[given], "y": y[given]})
        known = frame["unique_id"].isin(series["unique_id"]).to_numpy()
        if (~known).any():
            dropped["total rows of a node without leaves"] = int((~known).sum())
        sales, check = use_given(sales, frame[known])
        notes.append(f"total rows found ({found}): used as the aggregates of {check['nodes']:,} series instead of "
                     f"summing them again; the sum of their parts differs from them by {check['median_pct']:.2f} % "
                     f"(median), {check['max_pct']:.2f} % at most ({check['worst']})")
    else:
        notes.append(f"total rows found ({found}); none was a whole node's total")
    return sales, series


def _namespaced(sales: pd.DataFrame, series: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    prefix = f"{dataset}:"
    series = series.assign(unique_id=prefix + series["unique_id"].astype(str),
                           parent_id=series["parent_id"].map(lambda p: None if p is None else prefix + str(p)))
    return sales.assign(unique_id=prefix + sales["unique_id"].astype(str)), series


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
