"""DuckDB files shared by several processes: each operation attaches its file to a per-process in-memory DuckDB for
that one block (about 1 ms, where a fresh `duckdb.connect` costs 15), read-only for reads, read-write for writes.

While another process holds a conflicting lock the attach is retried with jittered exponential backoff (tenacity)
for up to `timeout_s` seconds, then StoreBusyError: one line naming the file and the holder, exit code 2. The sales
store (forecasting.store) and the document store (retrieval.docstore) both attach through here.

A file that cannot be used — damaged (truncated, overwritten blocks, not DuckDB's), in a read-only folder, on a full
disk — is a StoreError: one line naming the file and the way out (the caller's `fix` for a damaged one: re-ingest,
rebuild the index), exit code 2. `storage_kind` is the one rule that tells these apart, for the SQLite files too.
A write whose transaction committed but whose checkpoint at DETACH failed (a full disk) kept what it stored in the
write-ahead log: that is not an error (the exit status must not deny what was stored) but a StoreWarning, which the
CLI prints as one line.
"""
from __future__ import annotations

import errno
import itertools
import os
import re
import threading
import warnings
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


# what a failure's text says about the file: the disk is full, the file or its folder cannot be written, or the file
# itself is damaged (checksums, short reads, a header that is not DuckDB's or SQLite's)
NO_SPACE = ("no space left", "disk is full", "disk quota", "file too large")
READ_ONLY = ("read-only file system", "permission denied", "readonly database", "read-only database",
             "operation not permitted")
DAMAGED = ("corrupt", "checksum", "not a valid duckdb", "could not read", "invalidated", "malformed",
           "file is not a database")
_DAMAGED_TYPES = ("IOException", "SerializationException", "InternalException", "FatalException")


def storage_kind(exc: BaseException) -> str | None:
    """``no_space``, ``read_only`` or ``damaged`` when `exc` is a failure of a workspace file of that kind (a DuckDB
    or SQLite error, an OSError), else None: a lock, a bug, not the file's fault."""
    if isinstance(exc, OSError) and exc.errno is not None:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return "no_space"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "read_only"
    text = str(exc).lower()
    if any(s in text for s in NO_SPACE):
        return "no_space"
    if any(s in text for s in READ_ONLY):
        return "read_only"
    if type(exc).__name__ in _DAMAGED_TYPES or any(s in text for s in DAMAGED):
        return "damaged"
    return None


def last_line(exc: BaseException) -> str:
    """The line of an error's text that says what happened (DuckDB puts it last), whitespace collapsed."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return " ".join(lines[-1].split()) if lines else type(exc).__name__


class StoreError(RuntimeError):
    """A workspace file that cannot be used: damaged, read-only, or on a full disk (`kind`: ``damaged``,
    ``read_only``, ``no_space``). One line naming the file and the way out, exit 2 (registered as a user error by
    agent.errors). Whatever raised it stored nothing: the transaction rolled back, or never began."""

    def __init__(self, path: str | Path, kind: str, detail: str, fix: str):
        self.path, self.kind = str(path), kind
        detail = " ".join(str(detail).split())[:240]
        if kind == "no_space":
            text = (f"{self.path}: no space left on its disk ({detail}); nothing was stored: free space and run "
                    "the command again")
        elif kind == "read_only":
            text = (f"{self.path}: cannot be written ({detail}); make it and its folder writable, or point "
                    "TRENDCAST_HOME (--home) at a writable copy of the workspace")
        else:
            text = f"{self.path}: the file is damaged ({detail}); {fix}"
        super().__init__(text)


class StoreWarning(UserWarning):
    """Stored, but the checkpoint after the commit failed: what was stored is kept (in the write-ahead log), and the
    user is told in one line (the CLI prints it as `warning: …`)."""


def store_error(path: Path, exc: BaseException, fix: str) -> BaseException:
    """The StoreError that a failure of the file at `path` is; `exc` itself when it is not the file's fault."""
    kind = storage_kind(exc)
    return exc if kind is None else StoreError(path, kind, last_line(exc), fix)


def make_folder(path: Path, fix: str) -> None:
    """The folder a store file goes in (and its parents); a read-only or full disk is a StoreError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store_error(path.parent, exc, fix) from None


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
def attached(path: Path, read_only: bool, timeout_s: float, prefix: str = "store",
             fix: str = "move it aside and build it again") -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor whose default database is the file at `path`, attached for the duration of the block only.

    Waits while another process holds a conflicting lock, up to `timeout_s`; then StoreBusyError. Operations on one
    file in this process run one at a time. A damaged file, a read-only folder or a full disk — at the attach or in
    the block — is a StoreError (`fix`: what to do about a damaged file). A block that ended normally has
    committed: when a write's checkpoint at DETACH then fails, a StoreWarning says what was stored is kept."""
    with _path_lock(str(path.resolve())):
        cur = _host().cursor()
        alias = f"{prefix}_{next(_ALIASES)}"
        try:
            try:
                _attach(cur, path, alias, read_only, timeout_s)
            except duckdb.Error as exc:
                raise store_error(path, exc, fix) from None
            done = False
            try:
                cur.execute(f"USE {alias}")
                yield cur
                done = True
            except duckdb.Error as exc:
                raise store_error(path, exc, fix) from None
            finally:
                try:
                    cur.execute("USE memory")
                    cur.execute(f"DETACH {alias}")  # releases the file lock (and checkpoints after a write)
                except duckdb.Error as exc:
                    if done and not read_only:  # committed: in the write-ahead log, not yet in the file
                        free = ": free space" if storage_kind(exc) == "no_space" else ""
                        warnings.warn(StoreWarning(
                            f"{path}: stored, but the checkpoint after it failed ({last_line(exc)}); what was "
                            f"stored is kept in {path.name}.wal and the next write completes it{free}"), stacklevel=3)
                    elif done:
                        raise store_error(path, exc, fix) from None
                    # else: the block's own error is on its way out
        finally:
            cur.close()
