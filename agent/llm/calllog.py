"""LLM call log and response cache in SQLite (the workspace's `llm.sqlite`).

The schema is built by an append-only list of named migration functions, recorded in `_migrations` (as simonw/llm
does): never edit or reorder a migration, add a new one. One connection guarded by a lock, WAL mode, so the
client's worker threads can all record. No credential is written: URLs are stored through `redact.public_url` (no
user info, no query), error texts through `redact.redact`; the client masks its own endpoint's secrets before that.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trendcast.agent.llm.redact import public_url, redact

# error: the request failed inside trendcast (a call log that cannot be written, a bug), not at the server
STATUSES = ("ok", "invalid", "http_error", "timeout", "unreachable", "cache_hit", "error")

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_calls(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            time TEXT NOT NULL,
            model TEXT,
            url TEXT,
            prompt_id TEXT,
            tag TEXT,
            attempt INTEGER,
            retry INTEGER NOT NULL DEFAULT 0,
            messages_json TEXT,
            response_format_json TEXT,
            raw_reply TEXT,
            parsed_json TEXT,
            error TEXT,
            status TEXT NOT NULL,
            latency_s REAL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cached INTEGER NOT NULL DEFAULT 0,
            request_hash TEXT,
            final INTEGER NOT NULL DEFAULT 0,
            metadata_json TEXT
        )"""
    )
    # attempt: 1 = first ask, 2.. = re-asks after an invalid reply; retry: transport retry within an attempt
    # (0 = first try); final: 1 on the row that ended its request (its status says how).
    db.execute("CREATE INDEX calls_time ON calls (time)")


@migration
def m002_cache(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE cache (
            request_hash TEXT PRIMARY KEY,
            model TEXT,
            reply_raw TEXT NOT NULL,
            parsed_json TEXT,
            created TEXT NOT NULL
        )"""
    )


@migration
def m003_dialects(db: sqlite3.Connection) -> None:
    # dialect: how the schema was sent (agent.llm.dialects); problem: the kind of a rejected reply (llm.problems)
    db.execute("ALTER TABLE calls ADD COLUMN dialect TEXT")
    db.execute("ALTER TABLE calls ADD COLUMN problem TEXT")
    # the structured-output dialect each (url, model) accepted last, so that `auto` asks in it from the start
    db.execute(
        """CREATE TABLE dialects (
            url TEXT NOT NULL,
            model TEXT NOT NULL,
            dialect TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (url, model)
        )"""
    )


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations`; returns the names applied (empty: nothing to do)."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with db:  # one transaction per migration
            fn(db)
            db.execute("INSERT INTO _migrations (name, applied) VALUES (?, ?)", (fn.__name__, utc_now()))
        applied.append(fn.__name__)
    return applied


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def request_hash(url: str | None, model: str | None, messages: list, response_format: Any, temperature: float,
                 max_tokens: int) -> str:
    """Cache key: sha256 of the canonical JSON of everything that decides the reply."""
    payload = {
        "url": public_url(url), "model": model, "messages": messages, "response_format": response_format,
        "temperature": temperature, "max_tokens": max_tokens,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CallLog:
    """Append-only log of LLM calls plus the response cache. `path` may be ":memory:"."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._lock:
            migrate(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "CallLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(self, *, status: str, model: str | None = None, url: str | None = None, prompt_id: str | None = None,
               tag: str | None = None, attempt: int = 1, retry: int = 0, messages: list | None = None,
               response_format: Any = None, raw_reply: str | None = None, parsed_json: str | None = None,
               error: str | None = None, latency_s: float | None = None, prompt_tokens: int | None = None,
               completion_tokens: int | None = None, cached: bool = False, request_hash: str | None = None,
               final: bool = False, metadata: dict | None = None, dialect: str | None = None,
               problem: str | None = None) -> int:
        """Append one call; returns its row id."""
        if status not in STATUSES:
            raise ValueError(f"unknown call status {status!r} (one of {', '.join(STATUSES)})")
        row = {
            "time": utc_now(), "model": model, "url": public_url(url), "prompt_id": prompt_id, "tag": tag,
            "attempt": attempt, "retry": retry, "messages_json": _dumps(messages),
            "response_format_json": _dumps(response_format), "raw_reply": raw_reply, "parsed_json": parsed_json,
            "error": redact(error), "status": status, "latency_s": latency_s, "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens, "cached": int(cached), "request_hash": request_hash,
            "final": int(final), "metadata_json": _dumps(metadata), "dialect": dialect, "problem": problem,
        }
        sql = f"INSERT INTO calls ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        with self._lock, self._db:
            row_id = self._db.execute(sql, tuple(row.values())).lastrowid
        assert row_id is not None  # an INSERT always sets it
        return row_id

    def mark_final(self, call_id: int) -> None:
        """Flag a call as the one that ended its request (used when a request gives up after a failed call)."""
        with self._lock, self._db:
            self._db.execute("UPDATE calls SET final = 1 WHERE id = ?", (call_id,))

    def recent(self, n: int = 20) -> list[dict]:
        """The last n calls, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM calls ORDER BY id DESC LIMIT ?", (n,)).fetchall()
        return [dict(row) for row in rows]

    def counts(self, since: str | None = None) -> dict[str, int]:
        """Totals for a report footer, over calls logged at or after `since` (ISO UTC; None: all).

        calls: HTTP calls made; cache_hits; retries: transport retries; reasks: re-asks after invalid replies;
        failed_calls: calls that did not give a valid reply; requests / failed_requests: requests that ended
        (successfully or not) / ended without a valid reply; prompt_tokens / completion_tokens: summed.
        """
        sql = """SELECT
            COALESCE(SUM(status != 'cache_hit'), 0) AS calls,
            COALESCE(SUM(status = 'cache_hit'), 0) AS cache_hits,
            COALESCE(SUM(retry > 0), 0) AS retries,
            COALESCE(SUM(attempt > 1 AND retry = 0 AND status != 'cache_hit'), 0) AS reasks,
            COALESCE(SUM(status NOT IN ('ok', 'cache_hit')), 0) AS failed_calls,
            COALESCE(SUM(final), 0) AS requests,
            COALESCE(SUM(final = 1 AND status NOT IN ('ok', 'cache_hit')), 0) AS failed_requests,
            COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,
            COALESCE(SUM(completion_tokens), 0) AS completion_tokens
            FROM calls WHERE time >= ?"""
        with self._lock:
            row = self._db.execute(sql, (since or "",)).fetchone()
        return {key: int(row[key]) for key in row.keys()}

    def dialect_get(self, url: str | None, model: str | None) -> str | None:
        """The dialect this (url, model) accepted last (None: not known)."""
        with self._lock:
            row = self._db.execute("SELECT dialect FROM dialects WHERE url = ? AND model = ?",
                                   (public_url(url) or "", model or "")).fetchone()
        return row[0] if row else None

    def dialect_put(self, url: str | None, model: str | None, dialect: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO dialects (url, model, dialect, updated) VALUES (?, ?, ?, ?)",
                             (public_url(url) or "", model or "", dialect, utc_now()))

    def problem_counts(self, since: str | None = None) -> dict[str, int]:
        """Rejected replies by kind (llm.problems.KINDS) over calls logged at or after `since`."""
        with self._lock:
            rows = self._db.execute("SELECT problem, COUNT(*) FROM calls WHERE problem IS NOT NULL AND time >= ? "
                                    "GROUP BY problem ORDER BY problem", (since or "",)).fetchall()
        return {str(kind): int(n) for kind, n in rows}

    def cache_get(self, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM cache WHERE request_hash = ?", (key,)).fetchone()
        return dict(row) if row else None

    def cache_put(self, key: str, model: str | None, reply_raw: str, parsed_json: str | None) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO cache (request_hash, model, reply_raw, parsed_json, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, model, reply_raw, parsed_json, utc_now()),
            )


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
