"""Past answers as a record: every proposal an answer applied, kept in <home>/record.sqlite, joins its adjuster's
record (agent.record) once its period has been observed.

A row is (key, series, as-of, period): the proposal, the baseline it was made on, the baseline's spread and how far
the situation's recent breaks extended its interval — never an outcome. The outcome is read from the sales store when the record is read, and only
for periods whose every step was observed by the reading's as-of (forecasting.periods.known_by): answering the same
question again replaces the row; nothing after as-of can reach a weight through it.
"""
from __future__ import annotations

import datetime as dt
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


def log_answers(settings: Settings, situations: list, results: list) -> int:
    """Keep every weighed proposal (agent.record.apply_trust set `proposed_pct`); returns how many were kept.
    A workspace whose record cannot be written still answers (the record is then the eval runs only)."""
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
    except sqlite3.Error:
        return 0
    return len(rows)


def answered_record(settings: Settings, key: str, freq: str, as_of: dt.date) -> pd.DataFrame:
    """Past answers of `key` whose period was observed by as_of, with the observed actual from the sales store."""
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
    except (sqlite3.Error, pd.errors.DatabaseError):
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
