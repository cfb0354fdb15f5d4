"""Past answers as a record: every proposal an answer applied, kept in <home>/record.sqlite, joins its adjuster's
record (agent.record) once its period has been observed.

A row is (key, series, as-of, period): the proposal, the baseline it was made on, the baseline's spread and how far
the situation's recent breaks extended its interval — never an outcome. The outcome is read from the sales store when the record is read, and only
for periods whose every step was observed by the reading's as-of (forecasting.periods.known_by): answering the same
question again replaces the row; nothing after as-of can reach a weight through it.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from contextlib import closing

import pandas as pd

from trendcast.agent.settings import Settings

SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    key TEXT NOT NULL, unique_id TEXT NOT NULL, origin TEXT NOT NULL, period_start TEXT NOT NULL,
    period_end TEXT NOT NULL, baseline REAL NOT NULL, pct REAL NOT NULL, sigma REAL, ext_down REAL, ext_up REAL,
    answered_at TEXT NOT NULL, PRIMARY KEY (key, unique_id, origin, period_start, period_end))"""


def _db(settings: Settings) -> sqlite3.Connection:
    settings.home.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(settings.home / "record.sqlite", timeout=10)
    db.execute(SCHEMA)
    return db


def log_answers(settings: Settings, situations: list, results: list, problems: list[str] | None = None) -> int:
    """Keep every weighed proposal (agent.record.apply_trust set `proposed_pct`); returns how many were kept.
    A workspace whose record cannot be written still answers (the record is then the eval runs only); `problems`
    gets one line saying why (for the answer's warnings)."""
    from trendcast.forecasting.conformal import log_sigma

    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    rows = [(r.learned.key, s.target.series_id, s.as_of.isoformat(), s.period.start.isoformat(),
             s.period.end.isoformat(), float(s.baseline.total), float(r.proposed_pct),
             log_sigma(s.baseline.total, s.baseline.lo_80, s.baseline.hi_80), *map(float, s.break_extent), now)
            for s, r in zip(situations, results) if r.learned is not None and r.proposed_pct is not None]
    if not rows:
        return 0
    try:
        with closing(_db(settings)) as db, db:
            db.executemany("INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    except (sqlite3.Error, OSError) as exc:
        if problems is not None:
            problems.append(_problem(settings, exc, "this answer is not kept in it"))
        return 0
    return len(rows)


def _problem(settings: Settings, exc: BaseException, cost: str) -> str:
    """One line: record.sqlite could not be used, what that costs the answer, and what to do."""
    from trendcast.common.stores import storage_kind

    path = settings.home / "record.sqlite"
    detail = " ".join(str(exc).split()) or type(exc).__name__
    kind = storage_kind(exc)
    if kind is None and not os.access(settings.home, os.W_OK):  # SQLite says "unable to open database file"
        kind = "read_only"
    fix = {"no_space": "free space on its disk",
           "read_only": "make the workspace writable"}.get(kind or "", "move it aside (a new record is started)")
    return f"{path} cannot be used ({detail}): {cost}; {fix}"


def answered_record(settings: Settings, key: str, freq: str, as_of: dt.date,
                    problems: list[str] | None = None) -> pd.DataFrame:
    """Past answers of `key` whose period was observed by as_of, with the observed actual from the sales store.
    An unreadable record.sqlite reads as no past answers; `problems` gets one line saying so."""
    from trendcast.agent import workspace
    from trendcast.agent.trust.record import RECORD_COLUMNS, known_rows
    from trendcast.forecasting.backtest import period_actual
    from trendcast.forecasting.history import observed
    from trendcast.forecasting.periods import Period

    path = settings.home / "record.sqlite"
    if not path.is_file():
        return pd.DataFrame(columns=RECORD_COLUMNS)
    try:
        with closing(_db(settings)) as db:
            rows = pd.read_sql_query("SELECT * FROM answers WHERE key = ?", db, params=[key])
    except (sqlite3.Error, pd.errors.DatabaseError, OSError) as exc:
        if problems is not None:
            problems.append(_problem(settings, exc, "the past answers in it are left out of this adjuster's record"))
        return pd.DataFrame(columns=RECORD_COLUMNS)
    rows = known_rows(rows, freq, as_of)
    if rows.empty:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    store = workspace.sales_store(settings)
    actual = []
    for uid, g in rows.groupby("unique_id", sort=False):
        hist = observed(store.history(str(uid)), freq, as_of)  # the one clock: periods ended by as_of
        ds = pd.DatetimeIndex(hist["ds"])
        for i, r in g.iterrows():
            period = Period(dt.date.fromisoformat(r["period_start"]), dt.date.fromisoformat(r["period_end"]))
            actual.append((i, period_actual(ds, hist["y"], freq, period)))
    rows.loc[[i for i, _ in actual], "actual"] = [a for _, a in actual]
    for col in ("origin", "period_start", "period_end"):
        rows[col] = pd.to_datetime(rows[col])
    return rows.dropna(subset=["actual"])[RECORD_COLUMNS].reset_index(drop=True)
