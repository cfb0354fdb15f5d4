"""Which columns of a user's file hold a document's text, date, title, body, source, url and category tags."""
from __future__ import annotations

from dataclasses import dataclass


def _as_tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(v for v in value if v)


@dataclass(frozen=True)
class DocMapping:
    """Column names in the input file (None: the file has no such column).

    - text: the line shown for the document (a headline, a product title or description, a note). Required.
    - date: publication or launch date; None, or a blank cell, means undated = valid from the start (not allowed for
      news). Read as ISO 8601 unless `date_format` (strptime, e.g. "%d/%m/%Y") is given; a time part is dropped.
    - title, body: optional; body is longer text embedded with the document but not shown in one-line listings
      (e.g. a news description). The embedded string is title, text and body joined.
    - categories: zero or more columns of tags that link a document to series or hierarchy levels ("448",
      "Clothing stores"); a cell is a list (Parquet/JSONL) or a string split on `category_sep`.
      `default_categories` are added to every document of the file.
    - source / default_source: where the document comes from (column, else this constant).
    - event_date: the day the document is about when that is not the day it became known (a holiday in a
      calendar, a note announcing a promotion): evidence for a period includes the events scheduled inside it that
      were known by as-of. Read like `date`.
    - encoding: the text encoding of a CSV / JSON file (None: UTF-8; ``cp1252``, ``latin-1``, …).
    """

    text: str = "text"
    date: str | None = "date"
    title: str | None = None
    body: str | None = None
    source: str | None = None
    url: str | None = None
    categories: tuple[str, ...] = ()
    default_source: str | None = None
    default_categories: tuple[str, ...] = ()
    date_format: str | None = None
    category_sep: str = "|"
    event_date: str | None = None
    encoding: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", _as_tuple(self.categories))
        object.__setattr__(self, "default_categories", _as_tuple(self.default_categories))
        for name in ("date", "title", "body", "source", "url", "default_source", "date_format", "event_date"):
            if getattr(self, name) == "":
                object.__setattr__(self, name, None)
        if not self.text:
            raise ValueError("DocMapping.text must name a column")

    def columns(self) -> dict[str, str]:
        """Role → column name, for every mapped column."""
        roles = {"text": self.text, "date": self.date, "title": self.title, "body": self.body,
                 "source": self.source, "url": self.url, "event date": self.event_date}
        out = {role: col for role, col in roles.items() if col}
        out.update({f"categories[{i}]": col for i, col in enumerate(self.categories)})
        return out


# The bundled news file agent/data/headlines_dated.csv.gz: date, source (guardian|cnbc), headline, description (CNBC only).
HEADLINES_MAPPING = DocMapping(text="headline", body="description", date="date", source="source")
