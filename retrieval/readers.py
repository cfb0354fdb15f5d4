"""Read a user's CSV, Parquet or JSON Lines file into a DataFrame of raw cells; anything unreadable is an InputError.

Text files are read as UTF-8 unless an `encoding` is given (`--encoding cp1252`); one that is not UTF-8 is an
InputError naming the first bad byte's line and the option. A folder given as the file is said to be one."""
from __future__ import annotations

from pathlib import Path

from trendcast.common.encodings import codec_name, not_utf8, unknown_encoding, wrong_encoding

from .errors import InputError

_COMPRESSION = (".gz", ".bz2", ".xz", ".zst", ".zip")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


def file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(path, "unknown file type (expected .csv, .tsv, .parquet, .jsonl, .ndjson or .json, "
                               "optionally compressed)")
    return fmt


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_frame(path: str | Path, encoding: str | None = None):
    """The file as a pandas DataFrame. CSV cells are read as strings (blank = ''); Parquet and JSON keep their types.
    `encoding`: of a text file (None: UTF-8)."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder, not a file: give the file inside it")
    if not path.is_file():
        raise InputError(path, "no such file")
    fmt = file_format(path)
    try:
        codec = codec_name(encoding)
    except LookupError:
        raise InputError(path, unknown_encoding(encoding)) from None
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False,
                                encoding=codec)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False, encoding=codec)
        else:
            frame = _read_json(path, codec)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty") from None
    except UnicodeDecodeError:
        raise InputError(path, not_utf8(path) if codec == "utf-8" else wrong_encoding(encoding)) from None
    except Exception as exc:  # every reader has its own exception types; all mean "cannot read this file"
        raise InputError(path, f"cannot read as {fmt.upper()}: {_first_line(exc)}") from None
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InputError(path, "the header repeats this column", column=str(dup))
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _read_json(path: Path, encoding: str = "utf-8"):
    """A .json file: JSON Lines, or one array of records."""
    import pandas as pd

    try:
        return pd.read_json(path, lines=True, dtype=False, convert_dates=False, encoding=encoding)
    except UnicodeDecodeError:
        raise
    except ValueError:
        frame = pd.read_json(path, orient="records", dtype=False, convert_dates=False, encoding=encoding)
        if not isinstance(frame, pd.DataFrame):
            raise InputError(path, "expected JSON Lines or an array of records") from None
        return frame
