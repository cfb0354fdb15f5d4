"""Shared fixtures. Every test gets its own workspace: TRENDCAST_HOME points at a tmp dir."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from real_llm import real_llm  # noqa: F401  (session fixture: a real OpenAI-compatible LLM)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "agent" / "data"  # the bundled demo data, shipped as package data (agent/data/README.md)
MRTS_FILE = DATA / "mrts_sales_by_kind_of_business_long.csv.gz"
NEWS_FILE = DATA / "headlines_dated.csv.gz"
# ../shared/data sits beside a checkout (and beside CI's clone); a bare clone of the repo alone does not have it.
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("TRENDCAST_HOME", str(h))
    for var in ("TRENDCAST_LLM_URL", "TRENDCAST_LLM_MODEL", "TRENDCAST_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data beside the checkout (US Census MRTS long files, Walmart, M5): every test that needs it asks for
    this fixture, so that the line at the start of a run can count them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the real data in {SHARED_DATA} (present beside the checkout and in CI)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory) -> Path:
    """The demo workspace (real MRTS NSA sales + 20,560 real headlines, indexed with the real model), built ONCE per
    test session. Read-only by convention: a test that writes copies it with `demo_copy`."""
    from trendcast.agent.cli.demo import build_demo_workspace
    from trendcast.agent.settings import Settings

    h = tmp_path_factory.mktemp("demo") / "home"
    build_demo_workspace(Settings(home=h), echo=lambda _: None)
    return h


@pytest.fixture
def demo_copy(demo_workspace, tmp_path, monkeypatch) -> Path:
    """A private, writable copy of the demo workspace; TRENDCAST_HOME points at it."""
    import shutil

    h = tmp_path / "demo-home"
    shutil.copytree(demo_workspace, h)
    monkeypatch.setenv("TRENDCAST_HOME", str(h))
    for var in ("TRENDCAST_LLM_URL", "TRENDCAST_LLM_MODEL", "TRENDCAST_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return h


def pytest_collection_finish(session) -> None:
    """One line at the start of a run: which tests need ../shared/data, and whether they will run or skip."""
    needs = [item for item in session.items if "shared_data" in getattr(item, "fixturenames", ())]
    if not needs:
        return
    files = sorted({item.path.name for item in needs})
    state = "present: they run" if SHARED_DATA.is_dir() else "absent: they skip (the bundled data covers the rest)"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"{len(needs)} tests need the real data in {SHARED_DATA} ({state}): {', '.join(files)}")
