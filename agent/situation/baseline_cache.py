"""Baselines already computed, keyed by everything they depend on: the series' data up to as-of, the period, the
models and the training window. A repeated question — or a report re-run — answers without importing StatsForecast.

Stored as JSON in `<home>/baselines.sqlite` (never pickles). A stale entry cannot be served: new data changes the key.
Best effort where the workspace cannot be written (read-only, a full disk): the baseline is computed and not kept.
A damaged file is a StoreError (exit 2) naming it: delete it, it is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

VERSION = "3"  # bump when forecast_period's method changes


def cache_key(history: pd.DataFrame, freq: str, period, as_of, models, train_window, calendar: bool = False) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([VERSION, freq, str(period.start), str(period.end), str(as_of), list(models),
                         train_window] + (["calendar"] if calendar else [])).encode())
    h.update(pd.util.hash_pandas_object(history[["ds", "y"]], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _encode(b) -> str:
    steps = b.steps.copy()
    steps["ds"] = pd.to_datetime(steps["ds"]).dt.strftime("%Y-%m-%d")
    return json.dumps({"model": b.model, "total": b.total, "lo_80": b.lo_80, "hi_80": b.hi_80, "lo_95": b.lo_95,
                       "hi_95": b.hi_95, "steps": steps.to_dict(orient="list"), "members": b.members,
                       "warnings": b.warnings})


def _decode(text: str, period, as_of):
    from trendcast.forecasting.baseline import BaselineForecast

    d = json.loads(text)
    steps = pd.DataFrame(d.pop("steps"))
    steps["ds"] = pd.to_datetime(steps["ds"])
    return BaselineForecast(steps=steps, period=period, as_of=as_of, **d)


FIX = "it is a cache of computed baselines: delete it (the next command rebuilds it)"


class BaselineCache:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _db(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS baselines (key TEXT PRIMARY KEY, json TEXT NOT NULL)")
        except BaseException:
            db.close()
            raise
        return db

    def get(self, key: str, period, as_of):
        if not self.path.exists():
            return None
        try:
            with closing(self._db()) as db:
                row = db.execute("SELECT json FROM baselines WHERE key = ?", (key,)).fetchone()
            return _decode(row[0], period, as_of) if row else None
        except (sqlite3.Error, OSError, ValueError, KeyError, TypeError) as exc:
            return self._failed(exc)

    def put(self, key: str, baseline) -> None:
        try:
            with closing(self._db()) as db, db:
                db.execute("INSERT OR REPLACE INTO baselines VALUES (?, ?)", (key, _encode(baseline)))
        except (sqlite3.Error, OSError) as exc:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        """A file that cannot be written (or stays locked): carry on without the cache. A damaged one: a StoreError
        naming it."""
        from trendcast.common.stores import StoreError, storage_kind

        kind = storage_kind(exc)
        if kind in ("read_only", "no_space") or (kind is None and isinstance(exc, sqlite3.OperationalError)):
            return None
        raise StoreError(self.path, "damaged", " ".join(str(exc).split()) or type(exc).__name__, FIX) from None
