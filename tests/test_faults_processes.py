"""Fault sweep (issue 11), failure 5, against real `trendcast` processes (failure 4: tests/test_faults_paths.py).

Workers die with their parent: `trendcast report` and `trendcast eval run` are SIGKILLed while their worker
processes run (the report's spawned pool and, on its bulk path, forecasting.pooled's fork pool; eval's
forecasting.pooled fork pool and its spawned Preparer), and no process they started is alive a few seconds later; SIGTERM / SIGINT (to the whole process group, as Ctrl-C) stop them with
one line, exit 143 / 130, no traceback, nothing left running.

Every process a command starts inherits its environment, so each run carries a tag in its environment and
/proc/<pid>/environ finds its descendants even after they were reparented to PID 1 (no psutil needed).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TAG = "TRENDCAST_FAULT_TAG"
GONE_S = 5.0  # every descendant must be gone this long after its parent died
linux_only = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc (Linux)")


# ---------------------------------------------------------------------------------------------------- processes

def tagged(tag: str) -> dict[int, str]:
    """Live (non-zombie) processes whose environment carries TAG=tag: pid → command line."""
    want = f"{TAG}={tag}".encode()
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            env = Path(f"/proc/{d}/environ").read_bytes()
            if want not in env.split(b"\0"):
                continue
            state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
        if state != "Z":
            out[int(d)] = cmd
    return out


def trendcast_cmd() -> list[str]:
    script = Path(sys.executable).with_name("trendcast")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "trendcast"]


class Run:
    """One `trendcast` process in its own session (so a process-group signal reaches it and its workers only)."""

    def __init__(self, cmd: list[str], logs: Path, env: dict[str, str] | None = None):
        self.tag = uuid.uuid4().hex
        env = {**os.environ, **(env or {}), TAG: self.tag, "HF_HUB_OFFLINE": "1"}
        for var in ("TRENDCAST_LLM_URL", "TRENDCAST_LLM_MODEL", "TRENDCAST_LLM_API_KEY"):
            env.pop(var, None)
        self.err_path = logs / f"{self.tag}.err"
        with open(logs / f"{self.tag}.out", "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, start_new_session=True)

    @classmethod
    def trendcast(cls, args: list[str], home: Path, logs: Path) -> "Run":
        return cls([*trendcast_cmd(), *args], logs, {"TRENDCAST_HOME": str(home)})

    def others(self) -> dict[int, str]:
        return {p: c for p, c in tagged(self.tag).items() if p != self.proc.pid}

    def wait_for_workers(self, kind: str, n: int = 2, timeout: float = 90.0, settle: float = 1.0) -> dict:
        """Wait until `n` workers of `kind` run: "spawn" (spawn_main) or "fork" (children with the parent's
        command line); then `settle` seconds more, so they are at work, not booting."""
        deadline = time.monotonic() + timeout
        parent_cmd = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"trendcast exited ({self.proc.returncode}) before its workers ran:\n{self.stderr()}")
            parent_cmd = parent_cmd or tagged(self.tag).get(self.proc.pid)
            others = self.others()
            workers = [p for p, c in others.items()
                       if ("spawn_main" in c if kind == "spawn" else c == parent_cmd)]
            if len(workers) >= n:
                time.sleep(settle)
                return self.others()
            time.sleep(0.1)
        self.kill_all()
        pytest.fail(f"no {n} {kind} workers within {timeout:.0f} s: {self.others()}\n{self.stderr()}")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def left_after(self, seconds: float = GONE_S) -> dict[int, str]:
        """Descendants still alive `seconds` after the parent exited (polls; empty as soon as all are gone)."""
        deadline = time.monotonic() + seconds
        while (alive := tagged(self.tag)) and time.monotonic() < deadline:
            time.sleep(0.1)
        return alive

    def kill_all(self) -> None:
        """Clean up after a failed test: SIGKILL this run's parent and every descendant still alive."""
        for pid in [self.proc.pid, *tagged(self.tag)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


def kill_parent_check_gone(run: Run) -> None:
    before = run.others()
    os.kill(run.proc.pid, signal.SIGKILL)
    run.proc.wait(10)
    left = run.left_after()
    run.kill_all()
    assert not left, f"still alive {GONE_S:.0f} s after SIGKILL of the parent (had {before}): {left}"


def interrupt_check_clean(run: Run, sig: int, expect_line: str) -> str:
    """Send `sig` (SIGINT to the whole process group, like Ctrl-C; SIGTERM to the parent only), then: exit
    128 + sig, the last stderr line is the one-line notice, no traceback, no descendant left."""
    if sig == signal.SIGINT:
        os.killpg(run.proc.pid, sig)
    else:
        os.kill(run.proc.pid, sig)
    try:
        rc = run.proc.wait(30)
    except subprocess.TimeoutExpired:
        run.kill_all()
        pytest.fail(f"trendcast still running 30 s after {signal.Signals(sig).name}:\n{run.stderr()}")
    left = run.left_after()
    run.kill_all()
    err = run.stderr()
    assert rc == 128 + sig, (rc, err)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "leaked" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines and expect_line in lines[-1], err
    assert not left, f"still alive after {signal.Signals(sig).name}: {left}"
    return lines[-1]


# ------------------------------------------------------------------------------------------ the mechanism

POOLS = """\
import time
from trendcast.common.processes import WorkerPool, fork_pool

if __name__ == "__main__":
    pool = WorkerPool(2)
    busy = [pool.submit(time.sleep, 120) for _ in range(2)]
    forked = fork_pool(2)
    forked.map_async(time.sleep, [120, 120])
    time.sleep(120)
"""


@linux_only
def test_both_kinds_of_pool_die_with_a_killed_parent(tmp_path):
    """trendcast.common.processes on its own: a spawned WorkerPool (and its resource tracker) and a fork_pool, both busy."""
    script = tmp_path / "pools.py"
    script.write_text(POOLS)
    run = Run([sys.executable, str(script)], tmp_path, {"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        run.wait_for_workers("spawn", n=2, timeout=60, settle=0.5)
        deadline = time.monotonic() + 30
        while len(run.others()) < 5 and time.monotonic() < deadline:  # + 2 forked workers and the tracker
            time.sleep(0.1)
        assert len(run.others()) >= 5, run.others()
        kill_parent_check_gone(run)
    finally:
        run.kill_all()


@pytest.mark.parametrize("mine", [True, False], ids=["parent-alive", "parent-gone"])
def test_a_worker_whose_parent_died_before_it_started_exits_at_once(mine):
    code = ("import sys; from trendcast.common.processes import die_with_parent; die_with_parent(int(sys.argv[1])); "
            "print('alive')")
    parent = os.getpid() if mine else os.getpid() + 1_000_000  # not its parent: as if reparented
    res = subprocess.run([sys.executable, "-c", code, str(parent)], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert (res.returncode, res.stdout.strip()) == ((0, "alive") if mine else (1, "")), res.stderr


# -------------------------------------------------------------------------------------------------- report

def started_runs(make):
    """A fixture's body: yields `start(*args)`, which makes a Run with make(*args) and remembers it; every Run made is
    killed (with all its processes) at teardown."""
    runs: list[Run] = []

    def start(*args) -> Run:
        runs.append(make(*args))
        return runs[-1]

    yield start
    for r in runs:
        r.kill_all()


@pytest.fixture
def report_run(demo_copy, tmp_path):
    yield from started_runs(lambda: Run.trendcast(
        ["report", "-q", "--workers", "2", "--adjuster", "analog", "--out", str(tmp_path / "out")],
        demo_copy, tmp_path))


@pytest.mark.slow
@linux_only
def test_report_workers_die_with_a_killed_parent(report_run, tmp_path):
    run = report_run()
    workers = run.wait_for_workers("spawn")
    assert any("resource_tracker" in c for c in workers.values()), workers  # the tracker is checked too
    kill_parent_check_gone(run)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("report-*"))


@pytest.mark.slow
@linux_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT-group"])
def test_report_interrupted_stops_its_workers_with_one_line(report_run, tmp_path, sig):
    run = report_run()
    run.wait_for_workers("spawn")
    line = interrupt_check_clean(run, sig, f"report interrupted by {signal.Signals(sig).name}")
    assert "categories not done, no report written" in line
    assert not any((tmp_path / "out").glob("report-*"))


# ---------------------------------------------------------------------------------------------------- eval

SUITES = {
    # 28 series, one refit block: forecasting.pooled's fork pool, each worker cross-validating a chunk of 7 series
    # (tens of seconds; a plain multiprocessing.Pool worker outlives its killed parent until its chunk is done,
    # spawned workers forever)
    "fork": "include: mrts-nsa\nname: fork-procs\norigins: {start: 2019-01, end: 2019-06}\n"
            "series: {levels: [3-digit, 4-digit]}\nbaseline: {refit_every: 6}\nn_jobs: 2\nbootstrap: {resamples: 300}\n",
    # 3 series x 4 origins: baselines done quickly, then the Preparer's spawned workers prepare the origins
    "spawn": "include: mrts-nsa\nname: spawn-procs\norigins: {start: 2020-01, end: 2020-04}\n"
             "series: {levels: [], ids: [\"4482\", \"4481\", \"448\"]}\nn_jobs: 2\nbootstrap: {resamples: 300}\n",
}


@pytest.fixture(scope="module")
def eval_ws(tmp_path_factory):
    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import mrts_mapping
    from trendcast.agent.settings import Settings
    from tests.conftest import MRTS_FILE

    root = tmp_path_factory.mktemp("eval-procs")
    workspace.ingest_sales(Settings(home=root / "home"), MRTS_FILE, mrts_mapping())
    for kind, text in SUITES.items():
        (root / f"{kind}.yaml").write_text(text)
    return root


@pytest.fixture
def eval_run(eval_ws, tmp_path):
    yield from started_runs(lambda kind, out: Run.trendcast(
        ["eval", "run", str(eval_ws / f"{kind}.yaml"), "--quiet", "--skip", "llm", "--out", str(out)],
        eval_ws / "home", tmp_path))


@pytest.mark.slow
@linux_only
@pytest.mark.parametrize("phase", ["fork", "spawn"], ids=["statsforecast-pool", "preparer-pool"])
def test_eval_workers_die_with_a_killed_parent(eval_run, tmp_path, phase):
    run = eval_run(phase, tmp_path / "run")
    run.wait_for_workers(phase)
    kill_parent_check_gone(run)


@pytest.mark.slow
@linux_only
@pytest.mark.parametrize("phase,sig", [("fork", signal.SIGINT), ("spawn", signal.SIGTERM)],
                         ids=["statsforecast-pool-SIGINT-group", "preparer-pool-SIGTERM"])
def test_eval_interrupted_stops_its_workers_and_says_how_to_resume(eval_run, eval_ws, tmp_path, phase, sig):
    out = tmp_path / "run"
    run = eval_run(phase, out)
    run.wait_for_workers(phase)
    line = interrupt_check_clean(run, sig, f"eval run interrupted by {signal.Signals(sig).name}")
    assert line.endswith(f"resume with --resume {out}"), line
    assert not (out / "workers").exists() or not any((out / "workers").iterdir())  # scratch homes removed
    if phase == "spawn":  # and the advice works: the run resumes and finishes
        again = subprocess.run([*trendcast_cmd(), "--home", str(eval_ws / "home"), "eval", "run",
                                str(eval_ws / "spawn.yaml"), "--quiet", "--skip", "llm", "--resume", str(out)],
                               capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and (out / "results.json").is_file(), again.stderr


# ------------------------------------------------------------------------------------- report, bulk baselines

# `trendcast report` with the bulk path forced (agent.report.bulk: over BULK_MIN targets, here every one): the
# baselines go through forecasting.bulk → forecasting.pooled's fork pool, as a chain's report would
BULK_REPORT = ("from trendcast.agent.report import bulk; bulk.BULK_MIN = 0\n"
               "from trendcast.agent.cli.main import main; main()")


@pytest.fixture
def bulk_report_run(eval_ws, tmp_path):
    yield from started_runs(lambda: Run(
        [sys.executable, "-c", BULK_REPORT, "report", "-q", "--workers", "2", "--adjuster", "none",
         "--out", str(tmp_path / "out")],
        tmp_path, {"TRENDCAST_HOME": str(eval_ws / "home"), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}))


@pytest.mark.slow
@linux_only
def test_report_bulk_baseline_workers_die_with_a_killed_parent(bulk_report_run, tmp_path):
    run = bulk_report_run()
    run.wait_for_workers("fork")
    kill_parent_check_gone(run)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("report-*"))


@pytest.mark.slow
@linux_only
def test_report_bulk_baselines_interrupted_stop_their_workers_with_one_line(bulk_report_run, tmp_path):
    run = bulk_report_run()
    run.wait_for_workers("fork")
    line = interrupt_check_clean(run, signal.SIGINT, "report interrupted by SIGINT")
    assert "no report written" in line


# ----------------------------------------------------------------------------- no private StatsForecast API

# what StatsForecast's own process pools are made of: overriding or calling any of it ties trendcast to one
# StatsForecast release (eval once overrode `_get_pool`, which the forecast path never called)
PRIVATE_KNOWN = {"_get_pool", "_fit_parallel", "_predict_parallel", "_fit_predict_parallel", "_forecast_parallel",
                 "_cross_validation_parallel", "_simulate_parallel", "_get_gas_Xs", "_get_n_jobs", "_prepare_fit",
                 "_StatsForecast", "_single_threaded_forecast", "_single_threaded_cross_validation"}
# FugueBackend's: forecasting.distributed once subclassed it to override `_get_output_schema` (float32 output)
PRIVATE_KNOWN_FUGUE = {"_get_output_schema", "_cotransform", "_forecast_noX", "_forecast_X", "_forecast_noX_fitted",
                       "_forecast_X_fitted", "_retrieve_forecast_df", "_retrieve_fitted_df", "_make_fugue_backend"}
SOURCE_DIRS = ("agent", "eval", "forecasting", "retrieval", "prompts", "trendcast/common", "bench", "scripts")


def private_statsforecast_names() -> set[str]:
    """The private names of statsforecast.core (module level, StatsForecast and its bases, GroupedArray) and of
    statsforecast.distributed.fugue (module level, FugueBackend and its bases) as installed, and those known from
    earlier releases."""
    import statsforecast.core as core

    modules, classes = [core], [*core.StatsForecast.__mro__, core.GroupedArray]
    try:
        import statsforecast.distributed.fugue as sf_fugue  # needs fugue (the dask / ray / spark extras)
    except ImportError:
        pass
    else:
        modules.append(sf_fugue)
        classes += sf_fugue.FugueBackend.__mro__
    names = {n for m in modules for n in vars(m) if n.startswith("_") and not n.startswith("__")}
    for cls in classes:
        if cls.__module__.startswith("statsforecast"):
            names |= {n for n in vars(cls) if n.startswith("_") and not n.endswith("__")}
    return names | PRIVATE_KNOWN | PRIVATE_KNOWN_FUGUE


def private_uses(root: Path) -> list[str]:
    import re

    names = private_statsforecast_names()
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, names))) + r")(?![A-Za-z0-9_])")
    hits = []
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            for no, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if m := pattern.search(text):
                    hits.append(f"{path.relative_to(root)}:{no}: {m.group(1)}")
    return hits


def test_no_module_touches_a_private_statsforecast_name(tmp_path):
    """StatsForecast runs with n_jobs=1 inside trendcast's own pools (forecasting.pooled); nothing overrides or calls
    its private pool machinery. Proved able to fail: a copy of eval/cells.py with an override planted is caught."""
    root = Path(__file__).resolve().parents[1]
    assert "_get_pool" in private_statsforecast_names() and "_forecast_parallel" in private_statsforecast_names()
    assert "_get_output_schema" in private_statsforecast_names() and "_cotransform" in private_statsforecast_names()
    assert private_uses(root) == []

    planted = tmp_path / "eval"
    planted.mkdir()
    (planted / "cells.py").write_text((root / "eval" / "cells.py").read_text(encoding="utf-8") +
                                      "\n\nclass _SF:\n    def _get_pool(self):\n        return None, {}\n")
    hits = private_uses(tmp_path)
    assert len(hits) == 1 and hits[0].startswith("eval/cells.py:") and hits[0].endswith(": _get_pool"), hits


def test_an_override_of_a_private_fugue_backend_name_is_caught(tmp_path):
    """statsforecast.distributed.fugue counts too: forecasting/distributed.py as it was (a FugueBackend subclass
    overriding `_get_output_schema` and calling the parent's) is caught, line by line."""
    planted = tmp_path / "forecasting"
    planted.mkdir()
    (planted / "distributed.py").write_text(
        "from statsforecast.distributed.fugue import FugueBackend\n\n\n"
        "class Float64Backend(FugueBackend):\n"
        "    def _get_output_schema(self, **kwargs):\n"
        "        return super()._get_output_schema(**kwargs)\n")
    hits = private_uses(tmp_path)
    assert hits == ["forecasting/distributed.py:5: _get_output_schema",
                    "forecasting/distributed.py:6: _get_output_schema"], hits
