"""Read a user's CSV, Parquet or JSON Lines file into a DataFrame of raw cells; anything unreadable is an InputError."""
from __future__ import annotations

from pathlib import Path

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


def read_frame(path: str | Path):
    """The file as a pandas DataFrame. CSV cells are read as strings (blank = ''); Parquet and JSON keep their types."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    fmt = file_format(path)
    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
        else:
            frame = _read_json(path)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty") from None
    except Exception as exc:  # every reader has its own exception types; all mean "cannot read this file"
        raise InputError(path, f"cannot read as {fmt.upper()}: {_first_line(exc)}") from None
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InputError(path, "the header repeats this column", column=str(dup))
    frame.columns = [str(c) for c in frame.columns]
    return frame.reset_index(drop=True)


def _read_json(path: Path):
    """A .json file: JSON Lines, or one array of records."""
    import pandas as pd

    try:
        return pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    except ValueError:
        frame = pd.read_json(path, orient="records", dtype=False, convert_dates=False)
        if not isinstance(frame, pd.DataFrame):
            raise InputError(path, "expected JSON Lines or an array of records") from None
        return frame
