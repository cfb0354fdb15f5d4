"""Events known ahead: what is scheduled inside the forecast period, and what the same events did in past years.

An event is a document with an event date (retrieval.docstore): a holiday or promotion from a calendar (known from
the start), or a dated note announcing one (known from its publication date). `scheduled` lists those inside the
period that were known by as-of and that apply to the series (untagged, or tagged with the series, one of its
ancestors or one of its level values). `effect` measures, from the record, how far the backtest baseline missed in
past periods of the same season (month, or ISO week) in proportion to how much of the events' windows (the LEAD_DAYS
before each and the day itself) fell inside them, shrunk toward 0 with SHRINK pseudo-periods. An event that falls
inside the same month every year (Thanksgiving in November) is in the seasonal baseline already: no effect to
measure. One that moves (Easter between March and April) has one. Measured on MRTS (origins 2018-03, 2019-03,
2020-03 forecasting April): counting a month as "with Easter" when Easter fell in it moved April the wrong way
(Easter on 1 April 2018 does its shopping in March); comparing event months with all other months re-learned each
month's seasonal miss (ordinary skill −0.015 against −0.004).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SHRINK = 2.0  # pseudo-periods of zero effect the past occurrences are averaged with
LEAD_DAYS = 8  # an event moves sales over the days before it and the day itself (Census X-13's Easter[8] window)
MIN_OCCURRENCES = 2


@dataclass(frozen=True)
class Scheduled:
    text: str
    event_date: dt.date
    known: dt.date | None  # the day it became known (None: from the start, as a calendar)
    kind: str
    source: str | None = None
    doc_id: int | None = None

    def label(self) -> str:
        known = f", known since {self.known}" if self.known else ""
        return f"{self.text} ({self.event_date}{known})"


@dataclass(frozen=True)
class EventEffect:
    log_effect: float  # shrunk
    raw: float  # the unshrunk mean difference
    n: int  # past periods with one of the events
    events: tuple[str, ...]
    first: dt.date
    last: dt.date

    @property
    def pct(self) -> float:
        return 100.0 * math.expm1(self.log_effect)


def series_tags(series: pd.DataFrame | None, series_id: str, name: str | None) -> set[str]:
    """The tags that link a document to a series: its id and name, those of its ancestors (the series table's
    parent chain: 4481 → 448), and each level value of a level id (``state=CA/store=CA_1`` → ``CA``, ``CA_1``,
    ``state=CA``)."""
    chain = [(series_id, name)]
    if series is not None and not series.empty:
        rows = series.set_index("unique_id")
        seen = {series_id}
        parent = rows["parent_id"].get(series_id)
        while isinstance(parent, str) and parent in rows.index and parent not in seen:
            seen.add(parent)
            chain.append((parent, rows.at[parent, "name"]))
            parent = rows["parent_id"].get(parent)
    tags: set[str] = set()
    for uid, label in chain:
        tags.add(str(uid).lower())
        if label:
            tags.add(str(label).lower())
        for part in str(uid).split("/"):
            tags.add(part.lower())
            if "=" in part:
                tags.add(part.split("=", 1)[1].lower())
    return tags


def scheduled(docs, tags: set[str], start: dt.date, end: dt.date, as_of: dt.date) -> list[Scheduled]:
    """Events inside start..end known by as_of that apply to a series with these tags (docs: a
    retrieval.DocStore): untagged events apply to every series."""
    out, seen = [], set()
    for row in docs.scheduled(start, end, as_of):
        cats = {c.lower() for c in (row["categories"] or [])}
        if cats and not cats & tags:
            continue
        key = (row["text"].lower(), row["event_date"])
        if key in seen:
            continue
        seen.add(key)
        out.append(Scheduled(row["text"], row["event_date"], row["date"], row["kind"], row["source"],
                             row["doc_id"]))
    return out


def _season(starts: np.ndarray, freq_days: float) -> np.ndarray:
    """The season of each period start: its month for monthly periods, else its ISO week."""
    ts = pd.DatetimeIndex(starts)
    if freq_days >= 28:
        return ts.month.to_numpy()
    return ts.isocalendar().week.to_numpy().astype(int)


def _exposure(starts: np.ndarray, ends: np.ndarray, days: list[np.datetime64]) -> np.ndarray:
    """Per period: the share of each event's window (the LEAD_DAYS before it and the day itself) inside the period,
    summed over the events (a month holding all of Easter's window: 1; Easter on April 1: 1/9 for April)."""
    out = np.zeros(len(starts))
    for day in days:
        first = day - np.timedelta64(LEAD_DAYS, "D")
        lo = np.maximum(starts, first)
        hi = np.minimum(ends, day)
        out += np.clip((hi - lo).astype(int) + 1, 0, None) / (LEAD_DAYS + 1)
    return out


def effect(docs, events: list[Scheduled], misses: pd.DataFrame | None, series_id: str, period_start: dt.date,
           as_of: dt.date, period_end: dt.date | None = None) -> EventEffect | None:
    """The past effect of these events on this series' backtest misses, measured within the period's season (same
    month, or same ISO week): the least-squares slope of the log miss on the events' exposure (the share of their
    LEAD_DAYS windows inside each period: shopping comes before a holiday) over past same-season periods, times the
    target period's exposure, shrunk with SHRINK. None when the exposure did not vary in those periods (an event
    that falls inside the same month every year is in the seasonal baseline already) or fewer than MIN_OCCURRENCES
    past periods were exposed or unexposed. `misses`: backtest rows known at as_of (Situation.misses)."""
    if not events or misses is None or misses.empty:
        return None
    rows = misses[(misses["unique_id"] == series_id) & (misses["baseline"] > 0) & (misses["actual"] > 0)]
    if rows.empty:
        return None
    rows = rows.drop_duplicates(["period_start"]).sort_values("period_start")
    starts = pd.to_datetime(rows["period_start"]).to_numpy("datetime64[D]")
    ends = pd.to_datetime(rows["period_end"]).to_numpy("datetime64[D]")
    length = float(np.median((ends - starts).astype(int))) + 1
    season = _season(starts, length)
    target_start = np.datetime64(period_start, "D")
    target_end = np.datetime64(period_end, "D") if period_end else target_start + np.timedelta64(int(length) - 1, "D")
    target = _season(np.array([target_start]), length)[0]
    texts = sorted({e.text for e in events})
    past = [np.datetime64(p["event_date"], "D") for p in docs.occurrences(texts, period_start, as_of)]
    now = _exposure(np.array([target_start]), np.array([target_end]),
                    [np.datetime64(e.event_date, "D") for e in events])[0]
    same = season == target
    x = _exposure(starts[same], ends[same], past)
    y = np.log(rows["actual"].to_numpy("float64") / rows["baseline"].to_numpy("float64"))[same]
    exposed = int((x >= 0.5).sum())
    if now == 0 or exposed < MIN_OCCURRENCES or int((x < 0.5).sum()) < MIN_OCCURRENCES or np.ptp(x) == 0:
        return None
    slope = float(np.cov(x, y, bias=True)[0, 1] / np.var(x))
    raw = slope * now
    when = pd.to_datetime(rows["period_start"][same][x >= 0.5])
    return EventEffect(raw * exposed / (exposed + SHRINK), raw, exposed, tuple(texts), when.min().date(),
                       when.max().date())
