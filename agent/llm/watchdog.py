"""Jobs on worker threads under wall-clock deadlines that no job can overrun, whatever its I/O does.

`Watchdog(...).run()` starts `workers` daemon threads, each with its own `transport.Connection`; they take job
indexes in order and run them. The calling thread is the watchdog: it collects results, and for a job still running
`SLACK_S` after its own deadline it calls `job.cut(now)` (which aborts the job's connection, so a blocked read or
write fails at once) and starts another worker in its place; a cut job whose worker has not reported `GRACE_S` later
is answered for with `job.abandoned(now)` and its worker left to finish on its own (a daemon: it never blocks exit).
Jobs not picked up by `deadline + SLACK_S + GRACE_S` get `late(index)`. So run() returns by then, at the latest.
`bounded(fn, conn, seconds)` is the same for one call.
"""
from __future__ import annotations

import collections
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from trendcast.agent.llm.transport import Connection

T = TypeVar("T")

SLACK_S = 0.1  # a job still running this long after its deadline has its connection cut
GRACE_S = 0.4  # a cut job whose worker has not reported this long after is answered for


class Job(Protocol):
    deadline: float  # time.monotonic() by which it should be done
    cut_at: float | None  # set by cut()

    def execute(self) -> Any: ...  # the job's result; must not raise

    def cut(self, now: float) -> None: ...  # stop its I/O now (sets cut_at)

    def abandoned(self, now: float) -> Any: ...  # the result to give in its place when its worker does not report


class Watchdog:
    def __init__(self, n: int, *, workers: int, deadline: float, connect: Callable[[], Connection],
                 start: Callable[[int, Connection], Job], late: Callable[[int], Any],
                 progress: Callable[[int], None] | None = None):
        self.n, self.workers, self.deadline = n, max(1, workers), deadline
        self.connect, self.start, self.late, self.progress = connect, start, late, progress
        self.results: list[Any] = [None] * n
        self._answered = [False] * n
        self._todo = collections.deque(range(n))
        self._running: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._done: queue.SimpleQueue = queue.SimpleQueue()

    def run(self) -> list[Any]:
        for _ in range(min(self.workers, self.n)):
            self._spawn()
        while True:
            wait, finished = self._watch()
            self._advance(finished)
            if wait is None:
                return self.results
            try:
                index, result = self._done.get(timeout=wait)
            except queue.Empty:
                continue
            with self._lock:
                self._advance(self._answer(index, result))

    def _watch(self) -> tuple[float | None, int]:
        """Cut and answer for what is overdue. Seconds until the next check (None: every job is answered), and how
        many jobs this answered."""
        now, finished = time.monotonic(), 0
        with self._lock:
            for index, job in list(self._running.items()):
                if job.cut_at is None and now >= job.deadline + SLACK_S:
                    job.cut(now)
                    if self._todo:
                        self._spawn()  # the cut job's worker retires: keep `workers` threads for the rest
                if job.cut_at is not None and now >= job.cut_at + GRACE_S:
                    del self._running[index]
                    finished += self._answer(index, job.abandoned(now))
            last_call = self.deadline + SLACK_S + GRACE_S
            if now >= last_call:
                while self._todo:
                    index = self._todo.popleft()
                    finished += self._answer(index, self.late(index))
            if all(self._answered):
                return None, finished
            wakes = [job.deadline + SLACK_S if job.cut_at is None else job.cut_at + GRACE_S
                     for job in self._running.values()]
            if self._todo:
                wakes.append(last_call)
        return min(max(0.0, min(wakes, default=now + 0.5) - now), 0.5), finished

    def _answer(self, index: int, result: Any) -> int:
        """Record a result (under the lock): 1, or 0 for a second one from a late worker, which is dropped."""
        if self._answered[index]:
            return 0
        self._answered[index] = True
        self.results[index] = result
        return 1

    def _advance(self, finished: int) -> None:
        for _ in range(finished):
            if self.progress is None:
                return
            try:
                self.progress(1)
            except Exception:  # noqa: BLE001 - a broken progress bar must not lose the results
                self.progress = None
                return

    def _spawn(self) -> None:
        try:
            threading.Thread(target=self._work, name="llm", daemon=True).start()
        except RuntimeError:  # no thread to be had: the others (or the watchdog, at the deadline) do the work
            pass

    def _work(self) -> None:
        conn = self.connect()
        try:
            while not conn.aborted.is_set():
                with self._lock:
                    if not self._todo:
                        return
                    index = self._todo.popleft()
                    job = self._running[index] = self.start(index, conn)
                result = job.execute()
                with self._lock:
                    self._running.pop(index, None)
                self._done.put((index, result))
        finally:
            conn.close()


def bounded(fn: Callable[[], T], conn: Connection, seconds: float) -> tuple[bool, T | None, Exception | None]:
    """fn() (which does its I/O on `conn`) on a daemon thread: (done, value, exception). Not done within
    seconds + SLACK_S: conn is aborted and (False, None, None) returned at once; conn is closed otherwise."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=work, name="llm-call", daemon=True)
    thread.start()
    thread.join(seconds + SLACK_S)
    if thread.is_alive():
        conn.abort()
        return False, None, None
    conn.close()
    return True, box.get("value"), box.get("error")
