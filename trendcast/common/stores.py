"""DuckDB files shared by several processes: each operation attaches its file to a per-process in-memory DuckDB for
that one block (about 1 ms, where a fresh `duckdb.connect` costs 15), read-only for reads, read-write for writes.

While another process holds a conflicting lock the attach is retried with jittered exponential backoff (tenacity)
for up to `timeout_s` seconds, then StoreBusyError: one line naming the file and the holder, exit code 2. The sales
store (forecasting.store) and the document store (retrieval.docstore) both attach through here.
"""
from __future__ import annotations

import itertools
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_delay, wait_random_exponential


class StoreBusyError(RuntimeError):
    """Another process kept a workspace file locked for longer than this process would wait (one line, exit 2;
    registered as a user error by agent.errors)."""

    def __init__(self, path: str | Path, waited_s: float, holder: str | None = None):
        self.path = str(path)
        self.waited_s = waited_s
        by = f" (held by PID {holder})" if holder else ""
        super().__init__(f"{self.path}: locked by another trendcast process{by} for more than {waited_s:.0f} s; "
                         "try again when it has finished")


_HOST: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (pid, in-memory database the files are attached to)
_HOST_LOCK = threading.Lock()
_PATH_LOCKS: dict[str, threading.RLock] = {}  # one operation at a time per file in this process
_ALIASES = itertools.count()


def _host() -> duckdb.DuckDBPyConnection:
    global _HOST
    with _HOST_LOCK:
        if _HOST is None or _HOST[0] != os.getpid():  # a forked child must not share its parent's database
            _HOST = (os.getpid(), duckdb.connect(":memory:"))
        return _HOST[1]


def _path_lock(key: str) -> threading.RLock:
    with _HOST_LOCK:
        return _PATH_LOCKS.setdefault(key, threading.RLock())


def is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _attach(cur: duckdb.DuckDBPyConnection, path: Path, alias: str, read_only: bool, timeout_s: float) -> None:
    quoted = str(path.resolve()).replace("'", "''")
    sql = f"ATTACH '{quoted}' AS {alias}" + (" (READ_ONLY)" if read_only else "")
    retrying = Retrying(retry=retry_if_exception(is_lock_conflict), stop=stop_after_delay(timeout_s),
                        wait=wait_random_exponential(multiplier=0.01, max=0.2), reraise=False)
    try:
        for attempt in retrying:
            with attempt:
                cur.execute(sql)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        holder = re.search(r"PID (\d+)", str(last))
        raise StoreBusyError(path, timeout_s, holder.group(1) if holder else None) from None


@contextmanager
def attached(path: Path, read_only: bool, timeout_s: float, prefix: str = "store") -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor whose default database is the file at `path`, attached for the duration of the block only.

    Waits while another process holds a conflicting lock, up to `timeout_s`; then StoreBusyError. Operations on one
    file in this process run one at a time."""
    with _path_lock(str(path.resolve())):
        cur = _host().cursor()
        alias = f"{prefix}_{next(_ALIASES)}"
        try:
            _attach(cur, path, alias, read_only, timeout_s)
            try:
                cur.execute(f"USE {alias}")
                yield cur
            finally:
                cur.execute("USE memory")
                cur.execute(f"DETACH {alias}")  # releases the file lock (and checkpoints after a write)
        finally:
            cur.close()
