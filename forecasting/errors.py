"""The one user-facing error of `forecasting`: bad input, told in one line that names file, column and row."""
from __future__ import annotations

from pathlib import Path

from trendcast.common.stores import StoreBusyError  # noqa: F401  (one class for every store)


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
