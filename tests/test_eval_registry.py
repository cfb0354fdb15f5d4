"""The workspace's registry of runs (<home>/runs.jsonl): `eval list` finds runs wherever `--out` wrote them, and says
when a registered run's folder is gone. Runs the tiny suite of test_eval_cli with one variant (real MRTS data)."""
from __future__ import annotations

import json
import shutil

from test_eval_cli import tc, ws  # noqa: F401  (ws: module fixture, a workspace with the real MRTS sales)

from trendcast.agent.settings import Settings
from trendcast.eval.runs import list_runs, register_run, registered_runs, registry_path


def _listed(ws):  # noqa: F811
    out = tc(ws, "eval", "list", "--json")
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_a_run_written_anywhere_is_listed_until_its_folder_goes(ws, tmp_path):  # noqa: F811
    elsewhere = (tmp_path / "elsewhere" / "mine").resolve()
    run = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--only", "SeasonalNaive", "--out", str(elsewhere))
    assert run.exit_code == 0, run.output
    registry = [json.loads(line) for line in (ws / "home" / "runs.jsonl").read_text().splitlines()]
    assert registry[-1]["path"] == str(elsewhere) and registry[-1]["registered"].endswith("+00:00")

    inside = tc(ws, "eval", "run", str(ws / "tiny.yaml"), "--quiet", "--only", "SeasonalNaive")
    assert inside.exit_code == 0, inside.output
    rows = _listed(ws)
    paths = [r["path"] for r in rows]
    assert len(set(paths)) == len(rows)  # a run under <home>/runs: listed once
    mine = next(r for r in rows if r["path"] == str(elsewhere))
    assert mine["registered"] and mine["status"] == "done" and mine["suite"] == "tiny@3"
    assert mine["variants"] == ["SeasonalNaive", "combined"] and mine["best"] in mine["variants"]
    home_runs = [r for r in rows if not r["registered"]]
    assert home_runs and all(r["path"].startswith(str(ws / "home" / "runs")) for r in home_runs)

    text = tc(ws, "eval", "list").output
    assert str(elsewhere) in text and "tiny@3" in text
    # a registered run is found by its folder name too, as a run under <home>/runs is by its id
    same = tc(ws, "eval", "compare", "mine", str(elsewhere), "--json")
    assert same.exit_code == 0, same.output

    shutil.rmtree(elsewhere)
    gone = next(r for r in _listed(ws) if r["path"] == str(elsewhere))
    assert gone["status"] == "missing" and gone["variants"] == []
    text = tc(ws, "eval", "list")
    assert text.exit_code == 0
    line = next(ln for ln in text.output.splitlines() if str(elsewhere) in ln)
    assert "gone" in line
    missing = tc(ws, "eval", "compare", "mine", "mine")
    assert missing.exit_code == 2 and "no such run" in missing.output


def test_registry_lines_dedupe_and_torn_lines_are_skipped(tmp_path):
    settings = Settings(home=tmp_path / "home")
    assert registered_runs(settings) == [] and list_runs(settings) == []
    a, b = tmp_path / "a", tmp_path / "b"
    register_run(settings, a)
    register_run(settings, b)
    register_run(settings, a)  # a resumed run finishing again
    with open(registry_path(settings), "a", encoding="utf-8") as f:
        f.write('{"path": "/half-writ')  # a line torn by a crash
    assert registered_runs(settings) == [a.resolve(), b.resolve()]
    rows = list_runs(settings)
    assert [(r["run_id"], r["status"]) for r in rows] == [("a", "missing"), ("b", "missing")]
