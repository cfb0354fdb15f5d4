"""Reading the columns of a sales file (CSV, CSV.gz, Parquet) into pandas, fast, with user-facing errors.

Text columns (ids, levels, names, filters, dates) come back as Python strings with empty cells as ``""``; the value
column comes back as float64 with empty cells as NaN, or, when a cell is not a number, as strings for the caller to
locate the first bad row.

CSV is read as UTF-8 unless an `encoding` is given (`--encoding cp1252`); a file that is not UTF-8 is an InputError
naming the first bad byte's line and the option. A folder given as the file, a truncated or damaged .gz or Parquet
file: InputErrors too, one line each.
"""
from __future__ import annotations

import csv
import difflib
import gzip
import io
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trendcast.common.encodings import codec_name, not_utf8, unknown_encoding, wrong_encoding
from trendcast.forecasting.errors import InputError

# Cells read as a missing value (not an error) in the value column.
NULL_TOKENS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A"]


# what reading a damaged file raises: a truncated gzip stream, a bad Parquet footer, a short read
_UNREADABLE = (pa.ArrowInvalid, OSError, EOFError, zlib.error)


def file_format(path: Path) -> str:
    """``'csv'`` or ``'parquet'`` from the file name; InputError for a missing file, a folder or another format."""
    if path.is_dir():
        raise InputError.at(path, f"a folder, not a file ({path}): give the sales file inside it")
    if not path.is_file():
        raise InputError.at(path, f"file not found ({path})")
    name = path.name.lower()
    if name.endswith(".csv.gz") or name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    raise InputError.at(path, f"unknown format {''.join(path.suffixes) or name!r}; expected .csv, .csv.gz or .parquet")


def check_encoding(path: Path, encoding: str | None) -> str:
    """The codec name of `encoding` (None: UTF-8); InputError for one Python does not know."""
    try:
        return codec_name(encoding)
    except LookupError:
        raise InputError.at(path, unknown_encoding(encoding)) from None


def _open_text(path: Path, encoding: str | None):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    codec = check_encoding(path, encoding)
    return opener(path, "rt", encoding="utf-8-sig" if codec == "utf-8" else codec, newline="")


def _not_in(path: Path, encoding: str | None) -> InputError:
    """The InputError of a file that its encoding (UTF-8 unless given) does not read."""
    if check_encoding(path, encoding) == "utf-8":
        return InputError.at(path, not_utf8(path))
    return InputError.at(path, wrong_encoding(encoding))


def read_header(path: Path, fmt: str, encoding: str | None = None) -> list[str]:
    """Column names; InputError when the file is empty, not in its encoding, or damaged."""
    if fmt == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError.at(path, f"not a readable Parquet file ({exc})") from None
    try:
        with _open_text(path, encoding) as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise _not_in(path, encoding) from None
    except _UNREADABLE as exc:
        raise InputError.at(path, f"cannot read the file ({_damage(path, exc)})") from None
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


def read_columns(path: Path, fmt: str, text_columns: list[str], value_column: str | None,
                 encoding: str | None = None) -> pd.DataFrame:
    """The text columns and the value column (None: none) of every data row, in file order."""
    if value_column is None:
        return _read_text(path, fmt, text_columns, encoding)
    if fmt == "parquet":
        table = _read_parquet(path, [*text_columns, value_column])
        return _from_parquet(table, text_columns, value_column)
    table = _read_csv(path, text_columns, value_column, None, encoding)
    if not _is_numeric(table.schema.field(value_column).type):
        table = _read_csv(path, text_columns, value_column, pa.string(), encoding)
    return _to_pandas(table, text_columns, value_column)


def _read_text(path: Path, fmt: str, text_columns: list[str], encoding: str | None) -> pd.DataFrame:
    if fmt == "parquet":
        table = _read_parquet(path, text_columns)
        return _from_parquet(table, text_columns, None)
    table = _read_csv(path, text_columns[1:], text_columns[0], pa.string(), encoding)
    return table.to_pandas()


def _read_parquet(path: Path, columns: list[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(dict.fromkeys(columns)))
    except _UNREADABLE as exc:
        raise InputError.at(path, f"not a readable Parquet file ({_damage(path, exc)})") from None


def _damage(path: Path, exc: BaseException) -> str:
    """What is wrong with a file that cannot be read to its end, in a few words."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if path.name.lower().endswith(".gz") and isinstance(exc, (OSError, EOFError, zlib.error)):
        return f"the compressed file is truncated or damaged: {text}"
    return text


def _read_csv(path: Path, text_columns, value_column, value_type, encoding: str | None = None) -> pa.Table:
    types = {c: pa.string() for c in text_columns}
    if value_type is not None:
        types[value_column] = value_type
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=list(dict.fromkeys([*text_columns, value_column])),
        null_values=NULL_TOKENS,
        strings_can_be_null=False,
    )
    read = pacsv.ReadOptions(encoding=check_encoding(path, encoding))
    try:
        return pacsv.read_csv(path, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if value_type is None and "conversion error" in str(exc).lower() and "utf8" not in str(exc).lower():
            # type inferred from the first block; a later cell is not a number → re-read as text, locate it
            return _read_csv(path, text_columns, value_column, pa.string(), encoding)
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            raise _not_in(path, encoding) from None
        raise InputError.at(path, f"cannot parse the CSV ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:  # an --encoding that does not fit the file
        raise _not_in(path, encoding) from None
    except _UNREADABLE as exc:
        raise InputError.at(path, f"cannot read the file ({_damage(path, exc)})") from None


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
