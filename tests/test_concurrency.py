"""Issue 10 item 5b: several processes on one workspace. The stores hold no connection between calls; a reader waits
while a writer's transaction runs, a writer waits while readers read, and one that waits too long says so in one
line (exit 2) instead of a lock traceback. Real `trendcast` processes from the environment's bin folder.

That a process waited is shown by the order of events, not by a clock: it was refused the lock (seen through a spy on
`trendcast.common.stores.is_lock_conflict`, which the store's retry asks about each refusal), the lock was released
after that, and then it succeeded."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import MRTS_FILE, REPO

BIN = Path(sys.executable).parent  # the environment running the tests: its console script is the real CLI
TRENDCAST = str(BIN / "trendcast") if (BIN / "trendcast").exists() else str(REPO / ".venv" / "bin" / "trendcast")
MRTS = ["ingest", "sales", str(MRTS_FILE), "--date", "month", "--value", "sales_musd", "--id", "naics_code",
        "--name", "kind_of_business", "--where", "adjustment=NSA", "--code-hierarchy"]

# Holds a read-write DuckDB connection on each file given (as a long writer would) until it is killed.
HOLD_WRITE = ("import duckdb, sys, time; cons = [duckdb.connect(p) for p in sys.argv[2:]]; print('held', flush=True);"
              " time.sleep(float(sys.argv[1]))")


def env_for(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDCAST_LLM")}
    return {**env, "TRENDCAST_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}


def start(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([TRENDCAST, *args], env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=home.parent)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


# Runs the real CLI (the arguments after the marker file) with a spy that touches the marker file when the store is
# refused a lock, so the test knows the process is waiting on it. The spy changes nothing: it returns the answer.
WATCHED = """
import pathlib, sys
import trendcast.common.stores as stores
marker, real = pathlib.Path(sys.argv[1]), stores.is_lock_conflict
def spy(exc):
    refused = real(exc)
    if refused:
        marker.touch()
    return refused
stores.is_lock_conflict = spy
from trendcast.agent.cli.main import main
sys.argv = ["trendcast", *sys.argv[2:]]
main()
"""


def start_watched(home: Path, marker: Path, *args: str) -> subprocess.Popen:
    """`trendcast *args` in a fresh process, touching `marker` when it is refused a lock (see WATCHED)."""
    return subprocess.Popen([sys.executable, "-c", WATCHED, str(marker), *args], env=env_for(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=home.parent)


def hold(seconds: float, *paths: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(seconds), *map(str, paths)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def while_running(main: subprocess.Popen, home: Path, commands: list[list[str]], min_rounds: int = 1) -> list:
    """Run `commands` one after another, over and over, while `main` runs (and at least `min_rounds` times).
    Returns (command, returncode, stderr, overlapped) for each, overlapped = `main` was still running at its end."""
    done, rounds = [], 0
    while rounds < min_rounds or main.poll() is None:
        for cmd in commands:
            proc = start(home, *cmd)
            code, _, err = finish(proc)
            done.append((cmd[0], code, err, main.poll() is None))
        rounds += 1
        if rounds > 50:
            break
    return done


def assert_all_clean(runs: list) -> None:
    for name, code, err, _ in runs:
        assert code == 0 and "Traceback" not in err, f"{name} exited {code}: {err[-2000:]}"
    assert any(overlapped for *_, overlapped in runs), "nothing ran while the other process was working"


@pytest.fixture
def small_home(home, tmp_path) -> Path:
    """Real MRTS sales and a few documents, no index (no model needed)."""
    for cmd in (MRTS, ["ingest", "docs", str(_news_csv(tmp_path, "first", 20)), "--text", "headline", "--date",
                       "date", "--source", "source"]):
        code, _, err = finish(start(home, *cmd))
        assert code == 0, err
    return home


def _news_csv(folder: Path, name: str, n: int, day: str = "2020-03-20") -> Path:
    path = folder / f"{name}.csv"
    pd.DataFrame({"date": [day] * n, "source": ["wire"] * n,
                  "headline": [f"{name} retail note {i}: shoppers and stores" for i in range(n)]}).to_csv(path,
                                                                                                         index=False)
    return path


# -- the stores themselves ------------------------------------------------------------------------------------------

def test_the_stores_hold_no_lock_between_calls(small_home):
    """After reads and writes in this process, another process can open both files read-write at once."""
    from trendcast.forecasting.store import SalesStore
    from trendcast.retrieval import DocStore

    docs, sales = DocStore(small_home / "docs.duckdb"), SalesStore(small_home / "sales.duckdb")
    assert docs.count() == 20 and len(sales.series()) == 65
    docs.cache_queries("m", [("h1", "q", [1.0, 0.0])])  # a write
    docs.stats(), docs.meta(), sales.history("4481")
    opener = "import duckdb, sys; [duckdb.connect(p).close() for p in sys.argv[1:]]"  # read-write, no retry
    child = subprocess.run([sys.executable, "-c", opener, str(docs.path), str(sales.path)], capture_output=True,
                           text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    assert docs.cached_queries("m", ["h1"])["h1"].tolist() == [1.0, 0.0]


@pytest.mark.timeout(120)
def test_a_store_locked_past_the_wait_raises_the_user_error_naming_the_file(small_home, monkeypatch):
    """The holder never lets go (until the test kills it): each store asks again (more than one refusal: it
    waited), then gives up with the error while the lock is still held (not forever: else the test times out)."""
    import trendcast.common.stores as stores
    from trendcast.agent.errors import is_user_error
    from trendcast.common.stores import StoreBusyError
    from trendcast.forecasting.store import SalesStore
    from trendcast.retrieval import DocStore

    refusals: list[BaseException] = []
    real = stores.is_lock_conflict

    def spy(exc: BaseException) -> bool:  # the store's retry asks this about each failed attach
        refused = real(exc)
        if refused:
            refusals.append(exc)
        return refused

    monkeypatch.setattr(stores, "is_lock_conflict", spy)
    holder = hold(3600, small_home / "docs.duckdb", small_home / "sales.duckdb")
    try:
        with pytest.raises(StoreBusyError, match=r"docs\.duckdb: locked by another trendcast process \(held by PID"):
            DocStore(small_home / "docs.duckdb", lock_timeout_s=0.5).count()
        docs_refusals, refusals[:] = len(refusals), []
        with pytest.raises(StoreBusyError, match=r"sales\.duckdb: locked by another trendcast process") as info:
            SalesStore(small_home / "sales.duckdb", lock_timeout_s=0.5).series()
        assert is_user_error(info.value)  # one class for every store, exit 2 at the CLI
        assert docs_refusals >= 2 and len(refusals) >= 2, (docs_refusals, len(refusals))  # it asked again: it waited
        assert holder.poll() is None  # and gave up while the lock was still held
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.timeout(300)
def test_readers_and_writers_wait_for_a_short_lock(small_home, tmp_path):
    """A write lock held until both `series` (a reader) and `ingest docs` (a writer), started meanwhile, have been
    refused it: released then, both succeed (each waits up to its 10 s for it)."""
    holder = hold(3600, small_home / "docs.duckdb", small_home / "sales.duckdb")
    refused = {"reader": tmp_path / "reader.refused", "writer": tmp_path / "writer.refused"}
    reader = start_watched(small_home, refused["reader"], "series", "--json")
    writer = start_watched(small_home, refused["writer"], "ingest", "docs", str(_news_csv(tmp_path, "second", 5)),
                           "--text", "headline", "--date", "date", "--source", "source")
    try:
        deadline = time.monotonic() + 240
        while not all(p.exists() for p in refused.values()) and time.monotonic() < deadline:
            ended = [(p.args[3:5], p.communicate()) for p in (reader, writer) if p.poll() is not None]
            assert not ended, f"a process ended before it met the lock: {ended}"
            time.sleep(0.05)
        assert all(p.exists() for p in refused.values()), "the processes never met the lock"
    except BaseException:
        reader.kill(), writer.kill(), reader.wait(), writer.wait()
        raise
    finally:
        holder.kill()  # the release: after both were refused
        holder.wait()
    (rc, out, err), (wc, wout, werr) = finish(reader), finish(writer)
    assert rc == 0 and out.count('"unique_id"') == 65, err
    assert wc == 0 and "ingested 5 new documents" in wout, werr


@pytest.mark.slow
def test_a_lock_that_outlasts_the_wait_exits_2_with_one_line(small_home, tmp_path):
    holder = hold(60, small_home / "docs.duckdb", small_home / "sales.duckdb")
    try:
        writer = start(small_home, "ingest", "docs", str(_news_csv(tmp_path, "third", 5)), "--text", "headline",
                       "--date", "date", "--source", "source")
        reader = start(small_home, "series")
        for proc, name in ((writer, "docs.duckdb"), (reader, "sales.duckdb")):
            code, out, err = finish(proc, timeout=120)
            assert code == 2, (out, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and "Traceback" not in err, err
            assert str(small_home / name) in lines[0] and "locked by another trendcast process" in lines[0]
    finally:
        holder.kill()
        holder.wait()


# -- whole commands side by side on the demo workspace ----------------------------------------------------------

@pytest.mark.slow
def test_report_while_ask_and_search_run(demo_copy):
    out = demo_copy.parent / "reports"
    report = start(demo_copy, "report", "-q", "--as-of", "2020-05-31", "--categories",
                   "Shoe stores,Clothing stores,Furniture stores,Hardware stores", "--adjuster", "analog",
                   "--workers", "1", "--out", str(out))
    runs = while_running(report, demo_copy, [
        ["ask", "how will shoe stores trend next month?", "--as-of", "2020-04-30", "--adjuster", "analog", "--json"],
        ["search", "shoppers stay home as stores close", "--as-of", "2020-04-30", "-k", "5"],
        ["ask", "how will book stores trend next month?", "--as-of", "2020-02-29", "--adjuster", "analog"],
    ])
    code, _, err = finish(report)
    assert code == 0 and "Traceback" not in err, err
    assert_all_clean(runs)
    assert list(out.glob("report-*/report.json"))


@pytest.mark.slow
def test_index_while_ask_runs(demo_copy, tmp_path):
    new = _news_csv(tmp_path, "late-march", 300, day="2020-03-27")
    code, _, err = finish(start(demo_copy, "ingest", "docs", str(new), "--text", "headline", "--date", "date",
                                "--source", "source"))
    assert code == 0, err
    index = start(demo_copy, "index")
    runs = while_running(index, demo_copy, [
        ["ask", "how will clothing stores trend next month?", "--as-of", "2020-03-31", "--adjuster", "analog",
         "--json"],
        ["ask", "how will shoe stores trend next month?", "--as-of", "2020-01-31", "--adjuster", "analog", "--json"],
    ], min_rounds=2)
    code, out, err = finish(index)
    assert code == 0 and "300 new" in out, (out, err)
    assert_all_clean(runs)
    code, out, err = finish(start(demo_copy, "search", "late-march retail note 7", "--as-of", "2020-03-31", "-k",
                                  "3", "--json"))
    assert code == 0 and "late-march retail note" in out, err


@pytest.mark.slow
def test_an_index_switched_between_manifest_and_file_reads_is_reopened(demo_workspace, monkeypatch):
    """`index` in another process replaced the manifest and removed the file the one we had just read named."""
    import dataclasses

    import trendcast.retrieval.doc_index as doc_index
    from trendcast.retrieval import DocIndex, DocStore
    from trendcast.retrieval.index_files import read_manifest

    real = read_manifest(demo_workspace / "index")
    stale = [dataclasses.replace(real, index_file="docs-removed.faiss", build_id="removed")]
    monkeypatch.setattr(doc_index, "read_manifest", lambda d: stale.pop() if stale else read_manifest(d))
    index = DocIndex.open(demo_workspace / "index", DocStore(demo_workspace / "docs.duckdb"), "all-MiniLM-L6-v2",
                          device="cpu")
    assert index.manifest.build_id == real.build_id and index.count == real.count
