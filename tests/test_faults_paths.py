"""Fault sweep (issue 11), failure 4: a name from a file never climbs out of its folder. A suite named
`../../../escaped-suite` is rejected (exit 2, one line naming the file and the field) and nothing is written
outside <home>/runs; run folder, cells/<variant>/ part, run id and report folder paths are checked too."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from click.testing import CliRunner

from trendcast.agent.cli.main import cli

ESCAPING = """\
include: mrts-nsa
name: ../../../escaped-suite
origins: {start: 2020-01, end: 2020-02}
series: {levels: [], ids: ["448"]}
n_jobs: 1
"""


def test_a_suite_name_that_climbs_out_is_rejected_and_nothing_escapes(tmp_path):
    home = tmp_path / "a" / "b" / "c" / "home"  # deep enough that the old escape stays inside tmp_path
    suite = tmp_path / "escape.yaml"
    suite.write_text(ESCAPING)
    res = CliRunner().invoke(cli, ["--home", str(home), "eval", "run", str(suite), "--quiet", "--skip", "llm"])
    assert res.exit_code == 2, res.output
    msg = res.output.strip()
    assert len(msg.splitlines()) == 1 and "name" in msg and "not a safe name" in msg and str(suite) in msg, msg
    assert not list(tmp_path.rglob("*escaped-suite*"))
    listed = CliRunner().invoke(cli, ["--home", str(home), "eval", "list"])
    assert listed.exit_code == 0 and "no runs yet" in listed.output


@pytest.mark.parametrize("name", ["..", "a/b", "../x", ".hidden", "x" * 101, "name@2", "sp ace"])
def test_suite_names_are_slugs(name):
    from trendcast.eval.suite import Suite

    raw = {"name": name, "origins": {"start": "2020-01", "end": "2020-02"},
           "variants": [{"name": "combined"}]}
    with pytest.raises(ValueError):
        Suite.model_validate(raw)
    assert Suite.model_validate({**raw, "name": "tiny-files_2.v1+x"}).name == "tiny-files_2.v1+x"


def test_run_and_part_paths_never_leave_their_folders(tmp_path):
    """Defence in depth, past the suite's validation (a Suite built without it)."""
    from trendcast.agent.settings import Settings
    from trendcast.eval.errors import SuiteError
    from trendcast.eval.harness import new_run_dir, part_path
    from trendcast.eval.suite import Suite

    settings = Settings(home=tmp_path / "home")
    bad = Suite.model_construct(name="../../../escaped-suite")
    with pytest.raises(SuiteError, match="outside"):
        new_run_dir(settings, bad, None)
    good = new_run_dir(settings, Suite.model_construct(name="tiny"), None)
    assert good.parent == settings.home / "runs" and good.name.startswith("tiny-")
    assert new_run_dir(settings, bad, tmp_path / "anywhere") == tmp_path / "anywhere"  # --out: the user's say
    assert part_path(good, "analog", dt.date(2020, 1, 31)) == good / "cells" / "analog" / "2020-01-31.parquet"
    for variant in ("../../../x", "..", "a/../../b"):
        with pytest.raises(SuiteError, match="outside"):
            part_path(good, variant, dt.date(2020, 1, 31))


def test_a_run_id_is_one_folder_under_runs(tmp_path):
    from trendcast.agent.settings import Settings
    from trendcast.eval.errors import SuiteError
    from trendcast.eval.runs import find_run

    settings = Settings(home=tmp_path / "home")
    (settings.home / "runs" / "r1").mkdir(parents=True)
    (settings.home / "runs" / "r1" / "run.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "run.json").write_text("{}")
    assert find_run(settings, "r1") == settings.home / "runs" / "r1"
    assert find_run(settings, tmp_path / "elsewhere") == tmp_path / "elsewhere"  # a path: where the user says
    with pytest.raises(SuiteError):
        find_run(settings, "../../elsewhere")  # not a path from here, and a run id never climbs out of runs/


def test_a_report_folder_name_never_climbs_out_of_out(tmp_path):
    from trendcast.agent.report import output
    from trendcast.agent.report.model import Report, RunStats

    rep = Report(title="t", week="2020-W14", as_of=dt.date(2020, 3, 31), horizon="next-month", selection="",
                 adjuster="none", model=None, prompt=None, generated_at=dt.datetime(2020, 4, 1), entries=[],
                 stats=RunStats(), warnings=[], version="", top_n=5)
    out = tmp_path / "deep" / "out"
    assert output.write_report(rep, out, ("json",)) == out / "report-2020-W14"
    for week in ("x/../../../escaped", "../escaped", "x/y"):
        with pytest.raises(ValueError, match="outside"):
            output.write_report(rep.model_copy(update={"week": week}), out, ("json",))
    assert sorted(p.name for p in out.iterdir()) == ["report-2020-W14"]
    assert not list(tmp_path.rglob("*escaped*"))
    shutil.rmtree(out)
