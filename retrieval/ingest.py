"""`ingest_docs`: a user's file of news, product texts or notes into the document store — all rows or none."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Sequence, cast

from .docstore import DOC_COLUMNS, KINDS, DocStore
from .errors import InputError
from .holiday_names import known_ahead
from .language import detect_language
from .mapping import DocMapping
from .readers import read_frame
from .texts import clean_text, doc_hash

DayParser = Callable[..., Sequence["date | None"]]  # (path, column, cells, *, date_format) → one day or None a cell


@dataclass(frozen=True)
class IngestSummary:
    file: str
    kind: str
    dataset: str
    rows: int  # rows in the file
    added: int  # new documents stored
    duplicates: int  # rows already stored, or repeating an earlier row (same kind, date and normalised text)
    skipped: int  # rows with a blank text cell (a calendar: day × event column cells without an event)
    seconds: float
    repeated: int = 0  # of the duplicates: rows repeating an earlier row of the same file (the rest were stored)
    known_ahead: int | None = None  # a calendar's events known from the start (the rest: from their day or column)

    @property
    def already_stored(self) -> int:
        return self.duplicates - self.repeated

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
    frame = read_frame(path, mapping.encoding)
    for role, column in mapping.columns().items():
        if column not in frame.columns:
            raise InputError(path, f"no such column (wanted for {role}; the file has: {', '.join(frame.columns)})",
                             column=column)
    if kind == "event" and mapping.event_date is None:
        raise InputError(path, "event documents need an event date column (--event-date)")
    dataset = dataset or path.name
    table, skipped = _documents_table(path, frame, mapping, kind, dataset)
    added, duplicates = store.add_documents(table) if table.num_rows else (0, 0)
    return IngestSummary(file=str(path), kind=kind, dataset=dataset, rows=len(frame), added=added,
                         duplicates=duplicates, skipped=skipped, seconds=time.perf_counter() - started,
                         repeated=_repeated(table))


def ingest_calendar(store: DocStore, path: str | Path, date: str, events: tuple[str, ...],
                    categories: tuple[str, ...] = (), known: str | None = None, dataset: str | None = None,
                    date_format: str | None = None, scheduled: bool = False, country: str | None = None,
                    subdiv: str | None = None, parse_days: DayParser | None = None,
                    encoding: str | None = None) -> IngestSummary:
    """A holiday / promotion table (one row per day, one or more event-name columns, e.g. the M5 calendar's
    event_name_1 and event_name_2) → event documents dated on their day. Rows without an event name are not events
    (counted as skipped).

    When each row became known (the one clock: nothing counts as known before its own date unless declared):
    - the `known` column's day, where the row has one;
    - else from the start when `scheduled` (the user declares the whole file a calendar of scheduled holidays), or
      when `country` is given and the `holidays` library recognises the row as a public holiday of that country on
      that day (retrieval.holiday_names);
    - else its own day: an earthquake dated 2016-04-16 is not known as of 2016-03-31.

    `parse_days(path, column, cells, date_format=..., dayfirst=...)` reads the date columns (the agent passes
    forecasting.dates_text's, so day-first dates are detected as for sales); without it, ISO 8601 or `date_format`.
    """
    import pandas as pd

    started = time.perf_counter()
    path = Path(path)
    frame = read_frame(path, encoding)
    for column in (date, *events, *categories, *([known] if known else [])):
        if column not in frame.columns:
            raise InputError(path, f"no such column (the file has: {', '.join(frame.columns)})", column=column)
    if not events:
        raise InputError(path, "name at least one event column (--event)")
    if parse_days is not None:
        frame = frame.copy()
        for column in (date, *([known] if known else [])):
            frame[column] = pd.Series(list(parse_days(path, column, frame[column].tolist(), date_format=date_format)),
                                      index=frame.index, dtype=object)
    keep = [date, *categories, *([known] if known else [])]
    long = pd.concat([frame[keep].assign(event=frame[c]) for c in events], ignore_index=True)
    mapping = DocMapping(text="event", event_date=date, categories=categories, default_source=path.name,
                         date_format=date_format)
    texts = _texts(long, "event")
    days = _dates(path, long, mapping, "event", texts, column=date)
    declared = ([None] * len(long) if known is None else
                _dates(path, long, mapping, "dated", texts, column=known))
    ahead = ([False] * len(long) if scheduled or country is None else
             known_ahead(days, texts, country, subdiv, file=path.name))
    known_days = [k if k is not None else (None if scheduled or a else d)
                  for k, a, d in zip(declared, ahead, days)]
    dataset = dataset or path.name
    table, skipped = _documents_table(path, long, mapping, "event", dataset, known_days=known_days)
    added, duplicates = store.add_documents(table) if table.num_rows else (0, 0)
    kept = [i for i, t in enumerate(texts) if t]
    return IngestSummary(file=str(path), kind="event", dataset=dataset, rows=len(frame), added=added,
                         duplicates=duplicates, skipped=skipped, seconds=time.perf_counter() - started,
                         repeated=_repeated(table), known_ahead=sum(known_days[i] is None for i in kept))


def _repeated(table) -> int:
    """Rows of `table` whose normalised hash repeats an earlier row's (duplicates inside the file itself)."""
    if not table.num_rows:
        return 0
    import pyarrow.compute as pc

    return table.num_rows - pc.count_distinct(table.column("norm_hash")).as_py()


def _texts(frame, column: str | None) -> list[str | None]:
    if column is None:
        return [None] * len(frame)
    return [clean_text(v) or None for v in frame[column].tolist()]


def _documents_table(path: Path, frame, mapping: DocMapping, kind: str, dataset: str,
                     known_days: list[date | None] | None = None):
    """The documents of `frame` as an Arrow table, and how many rows had no text. `date` (the day a document became
    known) is `known_days` where given (a calendar, ingest_calendar), else the date column's day, else — for a
    document about a day (an event date) — that day: nothing about a day is known before it unless declared."""
    import pyarrow as pa

    texts = _texts(frame, mapping.text)
    events = ([None] * len(frame) if mapping.event_date is None else
              _dates(path, frame, mapping, "event" if kind == "event" else "dated", texts, column=mapping.event_date))
    if known_days is not None:
        dates = known_days
    else:
        dates = [d if d is not None else e for d, e in zip(_dates(path, frame, mapping, kind, texts), events)]
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
        "norm_hash": [doc_hash(kind, dates[i], titles[i], cast(str, texts[i]), bodies[i], events[i]) for i in keep],
        "dataset": [dataset] * len(keep),
        "event_date": [events[i] for i in keep],
        "lang": detect_language([" ".join(filter(None, (titles[i], texts[i], bodies[i]))) for i in keep]),
    }
    types = {"date": pa.date32(), "event_date": pa.date32(), "categories": pa.list_(pa.string())}
    table = pa.table({c: pa.array(columns[c], types.get(c, pa.string())) for c in DOC_COLUMNS})
    return table, len(frame) - len(keep)


def _dates(path: Path, frame, mapping: DocMapping, kind: str, texts: list[str | None], column: str | None = "",
           ) -> list[date | None]:
    """The dates of a column (`column`: default the publication date) for the rows with a text."""
    column = mapping.date if column == "" else column
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
        if day is None and kind in ("news", "event") and text:
            raise InputError(path, f"{kind} documents need a date; this one has none", column=column, row=row)
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
