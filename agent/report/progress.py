"""Progress for `trendcast report`: a rich bar on stderr (categories done, cache hits, fallbacks, failures), or
nothing at all — under cron (stderr not a terminal) or with --quiet not one byte is written."""
from __future__ import annotations

import sys
import threading
from typing import Any


class NullProgress:
    """The interface build_report drives; does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def phase(self, label: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def counts(self, **counts: int) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress(NullProgress):
    """One task per phase ("baselines & evidence", "adjusting (llm)"), with the live counts beside the bar."""

    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn)

        self._lock = threading.Lock()
        self._task = None
        self._counts: dict[str, Any] = {"cache_hits": 0, "fallbacks": 0, "failed": 0}  # rich's **fields: Any
        self._bar = Progress(
            TextColumn("{task.description:<22}"), BarColumn(bar_width=24), MofNCompleteColumn(),
            TextColumn("cache hits {task.fields[cache_hits]} · fallbacks {task.fields[fallbacks]} · "
                       "failed {task.fields[failed]}"),
            TimeElapsedColumn(), console=console or Console(stderr=True), transient=False)
        self._bar.start()

    def phase(self, label: str, total: int) -> None:
        from rich.markup import escape

        from trendcast.agent.visible import visible

        with self._lock:
            if self._task is not None:
                self._bar.update(self._task, completed=self._bar.tasks[-1].total)
            # the description column renders markup: a label naming an adjuster or model is data, printed as is
            self._task = self._bar.add_task(escape(visible(label)), total=total, **self._counts)

    def advance(self, n: int = 1) -> None:
        with self._lock:
            if self._task is not None:
                self._bar.advance(self._task, n)

    def counts(self, **counts: int) -> None:
        with self._lock:
            self._counts.update(counts)
            if self._task is not None:
                self._bar.update(self._task, **self._counts)

    def close(self) -> None:
        self._bar.stop()


def progress_for(quiet: bool, stream=None) -> NullProgress:
    """A live bar only when a person watches: stderr is a terminal and --quiet was not given."""
    stream = stream or sys.stderr
    if quiet or not getattr(stream, "isatty", lambda: False)():
        return NullProgress()
    return RichProgress()
