"""Worker processes that die with their parent, and a parent that stops them cleanly on SIGINT / SIGTERM.

A pool worker blocks on a pipe whose write end it holds itself, so when its parent is SIGKILLed nothing ever tells
it: it is reparented to PID 1 and keeps running (and keeps the multiprocessing resource tracker alive). Every pool
here starts its workers through `_start_worker`, which
- asks Linux for SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG, through ctypes), then checks the parent is
  still there (it may have died before the prctl);
- as a fallback everywhere, runs a daemon thread that exits the process once its parent changes (reparented);
- ignores SIGINT (Ctrl-C reaches the whole process group: the parent alone handles it and stops its workers) and
  sets SIGTERM back to its default (a forked worker inherits the parent's handler), so a worker never prints a
  traceback of its own.
Workers are started with SIGINT and SIGTERM blocked (inherited across fork and exec; `_start_worker` unblocks them
after its handlers are set), so a Ctrl-C while a worker boots is not a traceback in it either.

PR_SET_PDEATHSIG fires when the *thread* that started the worker ends: start pools from a thread that outlives them
(the commands start them from the main thread).

`WorkerPool`: a spawn ProcessPoolExecutor that does all that; leaving its `with` block by an exception (an
interrupt included) terminates the workers instead of waiting for their running tasks. `fork_pool`: the same
for a multiprocessing.Pool (one-process StatsForecast calls on chunks of series, forecasting.pooled). `interrupts()`: SIGINT / SIGTERM in the
parent raise `Interrupted` (a BaseException: no `except Exception` swallows it) once; the command prints one line
and exits 128 + the signal number.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1
WATCH_S = 0.5  # how often the fallback thread looks at the parent pid
STOP_S = 5.0  # how long stop() waits for terminated workers before it kills them


class Interrupted(BaseException):
    """SIGINT or SIGTERM reached the parent: stop, clean up, exit 128 + signum."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


@contextmanager
def interrupts():
    """While inside: the first SIGINT or SIGTERM raises Interrupted in the main thread; later ones are ignored, so
    the clean-up the exception runs is not cut short. Handlers are restored on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Interrupted(signum)

    old = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def signals_blocked():
    """SIGINT and SIGTERM blocked in this thread (a child started meanwhile inherits the mask)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _set_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(ppid: int) -> None:
    while True:
        time.sleep(WATCH_S)
        if os.getppid() != ppid:
            os._exit(1)


def die_with_parent(parent_pid: int | None = None) -> None:
    """In a worker: die when the parent dies (see the module's docstring). `parent_pid`: the process that started
    this worker (fork, spawn); when it is no longer the parent (it died before the prctl took hold), exit now.
    None (a forkserver's worker): watch whichever process is the parent now."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
    _set_pdeathsig()
    ppid = os.getppid()
    if parent_pid is not None and ppid != parent_pid:  # reparented already: the parent died before the prctl
        os._exit(1)
    threading.Thread(target=_watch, args=(ppid,), name="parent-watch", daemon=True).start()


def _thread_lock_for_tqdm() -> None:
    """tqdm's default write lock holds a multiprocessing semaphore, which a terminated worker cannot unlink (the
    resource tracker then warns about it on the parent's stderr). Workers draw no bars: a thread lock will do."""
    try:
        from tqdm import tqdm
    except ImportError:
        return
    tqdm.set_lock(threading.RLock())


def _start_worker(parent_pid: int | None, initializer=None, initargs: tuple = ()) -> None:
    import warnings

    die_with_parent(parent_pid)
    _thread_lock_for_tqdm()
    # numpy's divide-by-zero and statsmodels' convergence notes from fits in a worker would reach the user's
    # terminal with no context; the single-series path keeps them in the answer's warnings (forecasting.baseline)
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", UserWarning)
    if initializer is not None:
        initializer(*initargs)


class WorkerPool(ProcessPoolExecutor):
    """A spawn ProcessPoolExecutor whose workers die with this process and ignore Ctrl-C. Leaving `with` by an
    exception stops the workers at once (`stop`); leaving it normally waits for the work, as usual."""

    def __init__(self, max_workers: int, initializer=None, initargs: tuple = ()):
        super().__init__(max_workers=max_workers, mp_context=multiprocessing.get_context("spawn"),
                         initializer=_start_worker, initargs=(os.getpid(), initializer, tuple(initargs)))

    def submit(self, fn, /, *args, **kwargs):
        with signals_blocked():  # a worker is started here when one is needed
            return super().submit(fn, *args, **kwargs)

    def stop(self, timeout: float = STOP_S) -> None:
        """Cancel what has not started and terminate the workers (a running task is abandoned)."""
        procs = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + timeout
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.shutdown(wait=True)
        else:
            self.stop()
        return False


def fork_pool(processes: int | None = None, initializer=None, initargs: tuple = (), **kwargs):
    """multiprocessing.Pool (the default start method) whose workers die with this process and ignore Ctrl-C;
    its `with` block terminates them on the way out, as Pool's always does."""
    ctx = multiprocessing.get_context()
    direct = ctx.get_start_method() in ("fork", "spawn")  # else a forkserver starts them: it is their parent
    with signals_blocked():  # Pool starts every worker here
        return ctx.Pool(processes, initializer=_start_worker,
                        initargs=(os.getpid() if direct else None, initializer, tuple(initargs)), **kwargs)
