"""The one user-facing error of `forecasting`: bad input, told in one line that names file, column and row."""
from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad user input (a file, a mapping, a horizon). The CLI prints the message and exits with code 2.

    Row convention used in every message: ``row N`` is the N-th data row (1-based, header not counted); for CSV files
    the message adds ``line N+1`` (the line number an editor shows, counting the header line).
    """

    @classmethod
    def at(
        cls,
        file: str | Path,
        problem: str,
        *,
        column: str | None = None,
        row: int | None = None,
        has_header_line: bool = True,
    ) -> "InputError":
        """``train.csv: column 'Weekly_Sales', row 17 (line 18 counting the header): 'abc' is not a number``.

        `row` is the 0-based position of the data row in the file; it is printed 1-based.
        """
        where = []
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row + 1}" + (f" (line {row + 2} counting the header)" if has_header_line else ""))
        prefix = Path(file).name + ": " + (", ".join(where) + ": " if where else "")
        return cls(prefix + problem)


class StoreBusyError(InputError):
    """Another process kept the sales store locked for longer than this process would wait (one line, exit 2)."""

    def __init__(self, path: str | Path, waited_s: float, holder: str | None = None):
        self.path = str(path)
        self.waited_s = waited_s
        by = f" (held by PID {holder})" if holder else ""
        super().__init__(f"{self.path}: locked by another trendcast process{by} for more than {waited_s:.0f} s; "
                         "try again when it has finished")
