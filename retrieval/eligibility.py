"""Which indexed documents a search may return: as-of, since, kinds and category filters as a mask over doc ids.

Rules: a document is eligible when it is in the index, its date is on or before `as_of` (undated documents are valid
from the start, so always), its date is on or after `since` (undated documents have no date and are left out), its
kind is one of `kinds`, and one of its tags equals one of `categories` (case-insensitive).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Iterable, overload

import numpy as np

from .docstore import KINDS, UNDATED_DAY

_EPOCH = date(1970, 1, 1)
_WINDOW = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def tag_forms(tag: str) -> set[str]:
    """A category and the forms a document may be tagged with: a level id ``state=Cotopaxi`` (or
    ``state=Cotopaxi/store=12``) also matches the plain values ``Cotopaxi`` (and ``12``, ``state=Cotopaxi``)."""
    forms = {tag}
    parts = str(tag).split("/")
    for i, part in enumerate(parts):
        if "=" in part:
            forms.add("/".join(parts[:i + 1]))
            forms.add(part.split("=", 1)[1])
    return forms


@overload
def to_date(value: date | datetime | str, what: str = "date") -> date: ...
@overload
def to_date(value: None, what: str = "date") -> None: ...
def to_date(value: date | datetime | str | None, what: str = "date") -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{what} must be a date like 2020-03-31, not {value!r}") from None


def day_number(value: date) -> int:
    return (value - _EPOCH).days


def window_start(as_of: date | str, window: str | int | timedelta) -> date:
    """First day of the window of `window` days ending on as_of: (as_of - window, as_of]. "30d", "4w", 30."""
    as_of = to_date(as_of, "as_of")
    if isinstance(window, timedelta):
        days = window.days
    elif isinstance(window, int):
        days = window
    else:
        match = _WINDOW.match(str(window))
        if not match:
            raise ValueError(f"window must look like 30d or 4w, not {window!r}")
        days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
    if days < 1:
        raise ValueError(f"window must be at least one day, not {window!r}")
    return as_of - timedelta(days=days - 1)


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class Eligibility:
    """Per-document arrays indexed by doc_id: in-index flag, day number, kind code, and tags (built on first use)."""

    def __init__(self, doc_ids: np.ndarray, days: np.ndarray, kinds: np.ndarray, indexed_ids: np.ndarray,
                 category_pairs: tuple[np.ndarray, np.ndarray]):
        size = int(max(doc_ids.max(initial=0), indexed_ids.max(initial=0))) + 1
        self.indexed = np.zeros(size, dtype=bool)
        self.indexed[indexed_ids] = True
        self.day = np.full(size, UNDATED_DAY, dtype=np.int32)
        self.day[doc_ids] = days
        self.kind = np.full(size, -1, dtype=np.int8)
        for code, name in enumerate(KINDS):
            self.kind[doc_ids[kinds == name]] = code
        self._pairs = category_pairs
        self._tags: dict[str, np.ndarray] | None = None

    def _tag_ids(self, tag: str) -> np.ndarray:
        if self._tags is None:
            doc_ids, tags = self._pairs
            order = np.argsort(tags, kind="stable")
            self._tags = {}
            for tag_name, chunk in zip(*_groups(tags[order], doc_ids[order])):
                self._tags[tag_name] = chunk
        return self._tags.get(tag.strip().lower(), np.zeros(0, dtype=np.int64))

    def mask(self, *, as_of=None, since=None, kinds=None, categories=None) -> np.ndarray:
        """Boolean mask over doc ids of the eligible indexed documents."""
        mask = self.indexed.copy()
        as_of, since = to_date(as_of, "as_of"), to_date(since, "since")
        if as_of is not None:
            mask &= self.day <= day_number(as_of)
        if since is not None:
            mask &= self.day >= day_number(since)  # UNDATED_DAY is below every real day
        kinds = _as_list(kinds)
        if kinds is not None:
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise ValueError(f"unknown document kind {unknown[0]!r} (expected one of: {', '.join(KINDS)})")
            mask &= np.isin(self.kind, [KINDS.index(k) for k in kinds])
        categories = _as_list(categories)
        if categories is not None:
            tagged = np.zeros_like(mask)
            for tag in categories:
                for form in tag_forms(tag):
                    tagged[self._tag_ids(form)] = True
            mask &= tagged
        return mask


def _groups(sorted_keys: np.ndarray, values: np.ndarray):
    if not len(sorted_keys):
        return [], []
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    ends = np.concatenate([starts[1:], [len(sorted_keys)]])
    return [sorted_keys[s] for s in starts], [values[s:e] for s, e in zip(starts, ends)]
