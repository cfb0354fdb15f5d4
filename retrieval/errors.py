"""Errors a user can fix. The CLI prints their one-line message and exits with code 2 (no traceback)."""
from __future__ import annotations

from pathlib import Path

from trendcast.common.stores import StoreBusyError  # noqa: F401  (one class for every store)


class RetrievalError(Exception):
    """Base of every error in this package that a user can fix (bad file, missing or stale index, unknown model)."""


class InputError(RetrievalError, ValueError):
    """Bad input file: the message names the file, the column and the first bad row (1-based, header excluded)."""

    def __init__(self, file: str | Path, problem: str, *, column: str | None = None, row: int | None = None):
        self.file = str(file)
        self.column = column
        self.row = row
        self.problem = problem
        where = [self.file]
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        super().__init__(f"{', '.join(where)}: {problem}")


class IndexMissingError(RetrievalError):
    """There is no usable document index yet (or its files are gone)."""

    def __init__(self, index_dir: str | Path, detail: str = "no document index"):
        self.index_dir = str(index_dir)
        super().__init__(f"{detail} in {self.index_dir}; run `trendcast index` to build it")


class IndexMismatchError(RetrievalError):
    """The index does not fit the configured embedding model or the document store; a rebuild fixes it."""

    def __init__(self, index_dir: str | Path, detail: str):
        self.index_dir = str(index_dir)
        super().__init__(f"{detail}; run `trendcast index --rebuild` to rebuild {self.index_dir}")


class EmbedderError(RetrievalError):
    """An embedding model could not be found or loaded."""
