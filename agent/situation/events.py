"""Events known ahead: what is scheduled inside the forecast period, and what the same events did in past years.

An event is a document with an event date (retrieval.docstore): a calendar row (known from its own day, unless the
calendar declared it scheduled, named when it was known, or it is a holiday the `holidays` library recognises —
retrieval.ingest), or a dated note announcing one (known from its publication date). `scheduled` lists those inside the
period that were known by as-of and that apply to the series (untagged, or tagged with the series, one of its
ancestors or one of its level values). `effect` measures, from the record, how far the backtest baseline missed in
past weekly or daily periods near the period's ISO week that held one of the same events, against those that did
not, shrunk toward 0 with SHRINK pseudo-periods (an event in the same week every year is in the seasonal baseline
already). Months and longer get no event effect, a measured choice. On MRTS, every monthly variant tried made
ordinary months worse (ordinary-window skill of carry+trust: −0.004 without events):
- event months against all other months re-learned each month's seasonal miss: −0.015;
- within the same month, with the event against without it: −0.032;
- the slope on each event's share of its 8-day lead window inside the month: −0.085. The shares barely vary for
  Independence Day or Labor Day, so the slopes were noise.
A holiday is one day in thirty of a month, and the seasonal baseline already carries most of it.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SHRINK = 2.0  # pseudo-periods of zero effect the past occurrences are averaged with
MAX_PERIOD_DAYS = 7  # event effects for weeks and days only (see the module doc)
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
    chain: list[tuple[str, object]] = [(series_id, name)]  # (id, name): a name is any cell value, shown as text
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


def effect(docs, events: list[Scheduled], misses: pd.DataFrame | None, series_id: str, period_start: dt.date,
           as_of: dt.date, period_end: dt.date | None = None) -> EventEffect | None:
    """The past effect of these events on this series' backtest misses, for a period shorter than MAX_PERIOD_DAYS:
    within the period's season (its ISO week), the mean log miss of past periods that held one of the events minus
    that of the past periods that did not, shrunk with SHRINK. None for longer periods (see the module doc), and
    when fewer than MIN_OCCURRENCES past same-season periods of either kind had their outcome known by as_of (an
    event in the same week every year is in the seasonal baseline already). `misses`: backtest rows known at as_of
    (Situation.misses)."""
    if not events or misses is None or misses.empty:
        return None
    if period_end is not None and (period_end - period_start).days + 1 > MAX_PERIOD_DAYS:
        return None
    rows = misses[(misses["unique_id"] == series_id) & (misses["baseline"] > 0) & (misses["actual"] > 0)]
    if rows.empty:
        return None
    rows = rows.drop_duplicates(["period_start"]).sort_values("period_start")
    starts = pd.to_datetime(rows["period_start"]).to_numpy("datetime64[D]")
    ends = pd.to_datetime(rows["period_end"]).to_numpy("datetime64[D]")
    if float(np.median((ends - starts).astype(int))) + 1 > MAX_PERIOD_DAYS:
        return None
    week = pd.DatetimeIndex(starts).isocalendar().week.to_numpy().astype(int)
    target = int(pd.Timestamp(period_start).isocalendar().week)
    texts = sorted({e.text for e in events})
    hit = np.zeros(len(rows), dtype=bool)
    for p in docs.occurrences(texts, period_start, as_of):
        day = np.datetime64(p["event_date"], "D")
        hit |= (starts <= day) & (day <= ends)
    near = np.abs(week - target) <= 1  # the same ISO week, give or take one (an event moves a week at most)
    with_event, without = near & hit, near & ~hit
    n = int(with_event.sum())
    if n < MIN_OCCURRENCES or int(without.sum()) < MIN_OCCURRENCES:
        return None
    log_miss = np.log(rows["actual"].to_numpy("float64") / rows["baseline"].to_numpy("float64"))
    raw = float(log_miss[with_event].mean() - log_miss[without].mean())
    when = pd.to_datetime(rows["period_start"][with_event])
    return EventEffect(raw * n / (n + SHRINK), raw, n, tuple(texts), when.min().date(), when.max().date())
