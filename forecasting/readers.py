"""Reading the columns of a sales file (CSV, CSV.gz, Parquet) into pandas, fast, with user-facing errors.

Text columns (ids, levels, names, filters, dates) come back as Python strings with empty cells as ``""``; the value
column comes back as float64 with empty cells as NaN, or, when a cell is not a number, as strings for the caller to
locate the first bad row.
"""
from __future__ import annotations

import csv
import difflib
import gzip
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trendcast.forecasting.errors import InputError

# Cells read as a missing value (not an error) in the value column.
NULL_TOKENS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A"]


def file_format(path: Path) -> str:
    """``'csv'`` or ``'parquet'`` from the file name; InputError for a missing file or another format."""
    if not path.is_file():
        raise InputError.at(path, f"file not found ({path})")
    name = path.name.lower()
    if name.endswith(".csv.gz") or name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    raise InputError.at(path, f"unknown format {''.join(path.suffixes) or name!r}; expected .csv, .csv.gz or .parquet")


def read_header(path: Path, fmt: str) -> list[str]:
    """Column names; InputError when the file is empty."""
    if fmt == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError.at(path, f"not a readable Parquet file ({exc})") from None
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.at(path, f"cannot read the file ({exc})") from None
    if not first.strip():
        raise InputError.at(path, "the file is empty (no header line)")
    return next(csv.reader(io.StringIO(first)))


def check_columns(path: Path, available: list[str], wanted: dict[str, str]) -> None:
    """InputError naming the first mapped column that the file lacks, with a close match and the available ones.

    `wanted` maps the column name to its role in the mapping (``'Weekly_Sales'`` → ``'value'``).
    """
    for column, role in wanted.items():
        if column not in available:
            close = difflib.get_close_matches(column, available, n=1, cutoff=0.6)
            close += [c for c in available if c.lower() == column.lower() and c not in close]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError.at(
                path,
                f"not found (mapped as {role}){hint}; available columns: {', '.join(available)}",
                column=column,
            )


def read_columns(path: Path, fmt: str, text_columns: list[str], value_column: str | None) -> pd.DataFrame:
    """The text columns and the value column (None: none) of every data row, in file order."""
    if value_column is None:
        return _read_text(path, fmt, text_columns)
    if fmt == "parquet":
        table = pq.read_table(path, columns=list(dict.fromkeys([*text_columns, value_column])))
        return _from_parquet(table, text_columns, value_column)
    table = _read_csv(path, text_columns, value_column, value_type=None)
    if not _is_numeric(table.schema.field(value_column).type):
        table = _read_csv(path, text_columns, value_column, value_type=pa.string())
    return _to_pandas(table, text_columns, value_column)


def _read_text(path: Path, fmt: str, text_columns: list[str]) -> pd.DataFrame:
    if fmt == "parquet":
        table = pq.read_table(path, columns=list(dict.fromkeys(text_columns)))
        return _from_parquet(table, text_columns, None)
    table = _read_csv(path, text_columns[1:], text_columns[0], value_type=pa.string())
    return table.to_pandas()


def _read_csv(path: Path, text_columns, value_column, value_type) -> pa.Table:
    types = {c: pa.string() for c in text_columns}
    if value_type is not None:
        types[value_column] = value_type
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=list(dict.fromkeys([*text_columns, value_column])),
        null_values=NULL_TOKENS,
        strings_can_be_null=False,
    )
    try:
        return pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if value_type is None and "conversion error" in str(exc).lower():
            # type inferred from the first block; a later cell is not a number → re-read as text, locate it
            return _read_csv(path, text_columns, value_column, pa.string())
        raise InputError.at(path, f"cannot parse the CSV ({str(exc).splitlines()[0]})") from None


def _is_numeric(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype) or pa.types.is_null(dtype)


def _from_parquet(table: pa.Table, text_columns, value_column) -> pd.DataFrame:
    columns = {}
    for name in dict.fromkeys([*text_columns, *([value_column] if value_column else [])]):
        col = table.column(name)
        if name == value_column and _is_numeric(col.type):
            columns[name] = pc.cast(col, pa.float64())
        elif pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            stamps = col if pa.types.is_timestamp(col.type) else pc.cast(col, pa.timestamp("s"))
            columns[name] = pc.fill_null(pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S"), "")
        else:
            columns[name] = pc.fill_null(pc.cast(col, pa.string()), "")
    return _to_pandas(pa.table(columns), text_columns, value_column)


def _to_pandas(table: pa.Table, text_columns, value_column) -> pd.DataFrame:
    df = table.to_pandas()
    if value_column and _is_numeric(table.schema.field(value_column).type):
        df[value_column] = df[value_column].astype("float64")
    return df
