"""`ingest_docs`: a user's file of news, product texts or notes into the document store — all rows or none."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .docstore import DOC_COLUMNS, KINDS, DocStore
from .errors import InputError
from .mapping import DocMapping
from .readers import read_frame
from .texts import clean_text, doc_hash


@dataclass(frozen=True)
class IngestSummary:
    file: str
    kind: str
    dataset: str
    rows: int  # rows in the file
    added: int  # new documents stored
    duplicates: int  # rows already stored, or repeating an earlier row (same kind, date and normalised text)
    skipped: int  # rows with a blank text cell
    seconds: float

    @property
    def docs_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def ingest_docs(store: DocStore, path: str | Path, mapping: DocMapping, kind: str,
                dataset: str | None = None) -> IngestSummary:
    """Validate every row of `path`, then store the new documents in one transaction.

    Raises InputError (file, column, first bad row) and stores nothing when any row is bad. Running it twice on the
    same file adds nothing the second time (every row is a duplicate).
    """
    started = time.perf_counter()
    path = Path(path)
    if kind not in KINDS:
        raise InputError(path, f"unknown document kind {kind!r} (expected one of: {', '.join(KINDS)})")
    frame = read_frame(path)
    for role, column in mapping.columns().items():
        if column not in frame.columns:
            raise InputError(path, f"no such column (wanted for {role}; the file has: {', '.join(frame.columns)})",
                             column=column)
    dataset = dataset or path.name
    table, skipped = _documents_table(path, frame, mapping, kind, dataset)
    added, duplicates = store.add_documents(table) if table.num_rows else (0, 0)
    return IngestSummary(file=str(path), kind=kind, dataset=dataset, rows=len(frame), added=added,
                         duplicates=duplicates, skipped=skipped, seconds=time.perf_counter() - started)


def _texts(frame, column: str | None) -> list[str | None]:
    if column is None:
        return [None] * len(frame)
    return [clean_text(v) or None for v in frame[column].tolist()]


def _documents_table(path: Path, frame, mapping: DocMapping, kind: str, dataset: str):
    import pyarrow as pa

    texts = _texts(frame, mapping.text)
    dates = _dates(path, frame, mapping, kind, texts)
    titles, bodies, urls = (_texts(frame, c) for c in (mapping.title, mapping.body, mapping.url))
    sources = [s or mapping.default_source for s in _texts(frame, mapping.source)]
    categories = _categories(frame, mapping)
    keep = [i for i, t in enumerate(texts) if t]
    columns = {
        "kind": [kind] * len(keep),
        "date": [dates[i] for i in keep],
        "title": [titles[i] for i in keep],
        "text": [texts[i] for i in keep],
        "body": [bodies[i] for i in keep],
        "source": [sources[i] for i in keep],
        "url": [urls[i] for i in keep],
        "categories": [categories[i] for i in keep],
        "norm_hash": [doc_hash(kind, dates[i], titles[i], texts[i], bodies[i]) for i in keep],
        "dataset": [dataset] * len(keep),
    }
    types = {"date": pa.date32(), "categories": pa.list_(pa.string())}
    table = pa.table({c: pa.array(columns[c], types.get(c, pa.string())) for c in DOC_COLUMNS})
    return table, len(frame) - len(keep)


def _dates(path: Path, frame, mapping: DocMapping, kind: str, texts: list[str | None]) -> list[date | None]:
    column = mapping.date
    if column is None:
        if kind == "news":
            raise InputError(path, "news documents need a date column")
        return [None] * len(frame)
    out: list[date | None] = []
    for row, (raw, text) in enumerate(zip(frame[column].tolist(), texts), start=1):
        day = _parse_date(raw, mapping.date_format)
        if day is _BAD:
            fmt = mapping.date_format or "ISO 8601, e.g. 2020-03-31"
            raise InputError(path, f"cannot read date {str(raw)[:40]!r} (expected {fmt})", column=column, row=row)
        if day is None and kind == "news" and text:
            raise InputError(path, "news documents need a date; this one has none", column=column, row=row)
        out.append(day)
    return out


_BAD = object()


def _parse_date(raw, date_format: str | None):
    """A date, None for a blank cell, or _BAD."""
    if raw is None or raw != raw:  # None, NaN, NaT
        return None
    if isinstance(raw, datetime):  # also pandas Timestamp
        return raw.date()
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        return _BAD
    text = raw.strip()
    if not text:
        return None
    try:
        if date_format:
            return datetime.strptime(text, date_format).date()
        try:
            return date.fromisoformat(text)
        except ValueError:
            return datetime.fromisoformat(text).date()
    except ValueError:
        return _BAD


def _categories(frame, mapping: DocMapping) -> list[list[str]]:
    import numpy as np

    out: list[list[str]] = [[] for _ in range(len(frame))]
    for column in mapping.categories:
        for row, cell in enumerate(frame[column].tolist()):
            if isinstance(cell, (list, tuple, np.ndarray)):
                tags = [clean_text(t) for t in cell]
            else:
                tags = [clean_text(t) for t in clean_text(cell).split(mapping.category_sep)]
            out[row].extend(t for t in tags if t)
    defaults = list(mapping.default_categories)
    return [list(dict.fromkeys(tags + defaults)) for tags in out]
