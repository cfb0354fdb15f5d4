"""A non-editable install carries what the demo and the shipped suites need: built into a wheel, installed into a
folder of its own and run from another folder, trendcast finds its bundled data and suites there, not in a checkout.

The wheel is built without build isolation and installed with --no-deps (the dependencies come from this venv), so
the test needs no network and takes seconds. It checks what the full `trendcast demo` and `trendcast eval run
mrts-nsa-files` look up, without running them (minutes each).
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

PACKAGES = ("agent", "retrieval", "forecasting", "prompts", "eval", "trendcast")
DATA_FILES = ("mrts_sales_by_kind_of_business_long.csv.gz", "headlines_dated.csv.gz", "README.md")

PROBE = """
import json, os
from trendcast.agent.cli.demo import MRTS, NEWS, bundled_data_dir
from trendcast.eval.suite import load_suite, shipped_suites
from trendcast import agent
files = load_suite("mrts-nsa-files").data
print(json.dumps({"agent": agent.__file__, "data": str(bundled_data_dir()),
                  "demo_files": [os.path.isfile(bundled_data_dir() / n) for n in (MRTS, NEWS)],
                  "suites": shipped_suites(), "suite_files": [f.path for f in files.sales + files.docs]}))
"""


def _setuptools_major() -> int:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel of a copy of this checkout, installed (no deps) into a folder outside it."""
    if _setuptools_major() < 77:
        pytest.skip("building the wheel without isolation needs setuptools >= 77 in this venv (torch pulls it in)")
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for pkg in PACKAGES:  # trendcast/'s links to the five folders stay links, as in a clone
        shutil.copytree(REPO / pkg, src / pkg, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(src)],
                   check=True, timeout=300)
    (wheel,) = (root / "dist").glob("trendcast-*.whl")
    site = root / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                   check=True, timeout=300)
    return site


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_ships_the_demo_data_and_the_suites(installed):
    for name in DATA_FILES:
        assert (installed / "trendcast" / "agent" / "data" / name).is_file(), name
    assert {p.name for p in (installed / "trendcast" / "eval" / "suites").glob("*.yaml")} >= {"mrts-nsa.yaml", "mrts-nsa-files.yaml"}
    assert not (installed / "data").exists()  # nothing outside the packages
    # one namespace: nothing named agent, eval, ... at the top of site-packages, where another project's could be
    tops = {p.name for p in installed.iterdir()
            if not p.name.endswith((".dist-info", "__pycache__")) and p.name != "bin"}  # bin: the console script
    assert tops == {"trendcast"}, tops


def test_the_distribution_lists_every_package_folder():
    """pyproject lists its packages (find would install agent/llm as a top-level `agent.llm`): none is missing."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"trendcast." + ".".join(p.parent.relative_to(REPO).parts) for top in PACKAGES[:-1]
               for p in (REPO / top).rglob("__init__.py") if "__pycache__" not in p.parts}
    own = {"trendcast." + ".".join(p.parent.relative_to(REPO / "trendcast").parts)
           for p in (REPO / "trendcast").glob("*/__init__.py") if not p.parent.is_symlink()}
    assert folders | own | {"trendcast"} == listed


def test_the_checkout_links_are_the_wheel_layout(installed):
    """trendcast/agent, ... in a checkout are links to the five top-level folders, one per `package-dir` entry, and
    the modules static tools read through them are exactly the modules the wheel installs."""
    import tomllib

    mapping = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    links = {p.name: os.readlink(p) for p in (REPO / "trendcast").iterdir() if p.is_symlink()}
    assert links == {name.split(".", 1)[1]: f"../{folder}" for name, folder in mapping.items() if name != "trendcast"}

    def modules(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*.py") if "__pycache__" not in p.parts}

    for name in links:
        assert modules(REPO / "trendcast" / name) == modules(installed / "trendcast" / name), name
    assert modules(REPO / "trendcast") - {m for m in modules(REPO / "trendcast") if m.split("/")[0] in links} \
        == {m for m in modules(installed / "trendcast") if m.split("/")[0] not in links}


def test_an_install_finds_its_data_and_suites_from_any_folder(installed, tmp_path):
    r = _run(installed, tmp_path, "-c", PROBE)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(got["agent"]).is_relative_to(installed)  # the installed copy, not the checkout
    assert Path(got["data"]) == installed / "trendcast" / "agent" / "data" and got["demo_files"] == [True, True]
    assert {"mrts-nsa", "mrts-nsa-files"} <= set(got["suites"])
    assert [Path(p) for p in got["suite_files"]] == [installed / "trendcast" / "agent" / "data" / n for n in DATA_FILES[:2]]
    assert all(Path(p).is_file() for p in got["suite_files"])


def test_the_installed_cli_runs_from_any_folder(installed, tmp_path):
    for args in (["demo", "--help"], ["eval", "run", "--help"]):
        r = _run(installed, tmp_path, "-m", "trendcast", *args)
        assert r.returncode == 0, r.stderr
        assert "Usage:" in r.stdout
