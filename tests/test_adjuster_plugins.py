"""Adjusters are plug-ins (agent.adjusters.plugins): every one, the built-ins included, loads through the
`trendcast.adjusters` entry-point group. A package installed as a real distribution (a dist-info folder with an
entry_points.txt, put on sys.path) adds one: `trendcast ask --adjuster fake` applies its change, an eval suite may
name it; once the package is gone, so is the adjuster."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trendcast.agent.adjusters import plugins
from trendcast.agent.adjusters.registry import (AnalogAdjuster, CarryAdjuster, NoAdjuster, adjuster_names,
                                                get_adjuster, register_adjuster, unregister_adjuster)
from trendcast.agent.question.parse import QuestionError
from trendcast.agent.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BUILTINS = {"none", "analog", "carry", "llm"}
QUESTION = "how will clothing stores trend next month?"

FAKE_MODULE = '''\
from trendcast.agent.adjusters.registry import AdjustmentResult


class FakeAdjuster:
    name = "fake"

    def __init__(self, settings, deps):
        self.settings = settings

    def adjust_many(self, situations, progress=None):
        return [AdjustmentResult("fake", pct=7.5, direction="up", confidence=0.9, model="fake-1",
                                 rationale="a plug-in says +7.5 %") for _ in situations]
'''


def install_dist(site: Path, name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str] = {}) -> None:
    """A distribution as pip leaves it: `<name>-0.1.dist-info/` (METADATA, entry_points.txt) and its modules."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for group, eps in entry_points.items()))
    for mod, text in modules.items():
        (site / f"{mod}.py").write_text(text)


def pyproject_adjusters() -> dict[str, str]:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][plugins.GROUP]


@pytest.fixture
def fake_plugin(tmp_path, monkeypatch):
    """A package `fake-trendcast-adjuster` declaring adjuster `fake`, installed on sys.path; the fixture's value
    uninstalls it (off sys.path, module forgotten)."""
    site = tmp_path / "site"
    install_dist(site, "fake_trendcast_adjuster", {plugins.GROUP: {"fake": "fake_trendcast_adjuster:FakeAdjuster"}},
                 {"fake_trendcast_adjuster": FAKE_MODULE})
    monkeypatch.syspath_prepend(str(site))

    def uninstall() -> None:
        sys.path.remove(str(site))
        sys.modules.pop("fake_trendcast_adjuster", None)
        importlib.invalidate_caches()

    yield uninstall
    if str(site) in sys.path:
        uninstall()


@pytest.fixture(scope="module")
def mrts_sales(tmp_path_factory) -> Path:
    from trendcast.agent import workspace
    from trendcast.agent.cli.demo import MRTS, bundled_data_dir, mrts_mapping

    home = tmp_path_factory.mktemp("plugins") / "home"
    workspace.ingest_sales(Settings(home=home), bundled_data_dir() / MRTS, mrts_mapping())
    return home


def ask(home: Path, adjuster: str):
    from trendcast.agent.cli.main import cli

    return CliRunner().invoke(cli, ["--home", str(home), "ask", QUESTION, "--as-of", "2020-03-31", "--adjuster",
                                    adjuster, "--json"])


def test_pyproject_declares_the_builtins_and_the_fallback_table_agrees():
    assert pyproject_adjusters() == plugins.BUILTIN
    assert set(plugins.BUILTIN) == BUILTINS
    assert BUILTINS <= set(adjuster_names())  # installed metadata current or older than the group: all four


def test_builtins_load_through_the_entry_point_group(tmp_path, monkeypatch):
    """trendcast's own metadata as pyproject declares it, and no fallback table: the four still load."""
    install_dist(tmp_path, "trendcast", {plugins.GROUP: pyproject_adjusters()})
    monkeypatch.syspath_prepend(str(tmp_path))  # ahead of the installed trendcast's metadata
    monkeypatch.setattr(plugins, "BUILTIN", {})
    eps = plugins.entry_points()
    assert set(eps) == BUILTINS and {plugins._dist(ep) for ep in eps.values()} == {"trendcast"}
    settings = Settings(home=tmp_path / "home")
    for name, cls in {"none": NoAdjuster, "analog": AnalogAdjuster, "carry": CarryAdjuster}.items():
        assert type(get_adjuster(name, settings)) is cls
    assert plugins.load("llm").__module__ == "trendcast.agent.adjusters.llm"


def test_a_plugin_package_adds_an_adjuster_to_the_registry_the_cli_and_suites(fake_plugin, tmp_path):
    from trendcast.agent.cli.main import cli
    from trendcast.eval.suite import Variant

    settings = Settings(home=tmp_path / "home")
    assert "fake" in adjuster_names() and BUILTINS <= set(adjuster_names())
    [res] = get_adjuster("fake", settings).adjust_many([object()])
    assert (res.source, res.pct) == ("fake", 7.5)
    for command in ("ask", "report", "demo"):
        assert "fake" in CliRunner().invoke(cli, [command, "--help"]).output
    assert Variant(name="plugged", adjuster="fake").adjuster == "fake"

    fake_plugin()  # pip uninstall
    assert "fake" not in adjuster_names() and BUILTINS <= set(adjuster_names())
    for command in ("ask", "report", "demo"):
        assert "fake" not in CliRunner().invoke(cli, [command, "--help"]).output
    r = CliRunner().invoke(cli, ["--home", str(settings.home), "ask", QUESTION, "--adjuster", "fake"])
    assert r.exit_code == 2 and "'fake' is not one of" in r.output, r.output
    with pytest.raises(QuestionError, match="unknown adjuster 'fake'"):
        get_adjuster("fake", settings)
    with pytest.raises(ValueError, match="unknown adjuster 'fake'"):
        Variant(name="plugged", adjuster="fake")


@pytest.mark.slow
def test_ask_applies_a_plugin_adjusters_change_until_it_is_uninstalled(fake_plugin, mrts_sales):
    r = ask(mrts_sales, "fake")
    assert r.exit_code == 0, r.output
    a = json.loads(r.output)
    adj, base, fc = a["adjustment"], a["baseline"], a["forecast"]
    assert (adj["source"], adj["model"], adj["proposed_pct"]) == ("fake", "fake-1", 7.5)
    assert adj["record"]["key"] == "fake" and adj["pct"] == pytest.approx(7.5)  # no record: the prior trust, 1
    assert fc["total"] == pytest.approx(base["total"] * 1.075, rel=1e-9)

    fake_plugin()  # pip uninstall
    r = ask(mrts_sales, "fake")
    assert r.exit_code == 2 and "'fake' is not one of" in r.output, r.output


def test_register_and_unregister_in_process(tmp_path):
    class Half(NoAdjuster):
        name = "half"

    register_adjuster("half", Half)
    try:
        assert "half" in adjuster_names() and type(get_adjuster("half", Settings(home=tmp_path))) is Half
    finally:
        unregister_adjuster("half")
    assert "half" not in adjuster_names()
    with pytest.raises(QuestionError):
        get_adjuster("half", Settings(home=tmp_path))
