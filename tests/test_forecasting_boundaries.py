"""forecasting stays a leaf package: no imports of agent/eval/prompts/retrieval, no environment variables; and no
module anywhere imports the five packages by their bare folder names (one module identity: `trendcast.<package>`)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trendcast import forecasting

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(forecasting.__file__).parent
PACKAGES = ("agent", "eval", "prompts", "retrieval", "forecasting")
FORBIDDEN = ("agent", "eval", "prompts", "retrieval")


def _imports(path: Path):
    """(line, dotted module) of every import in a file, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside its own package, never another one
                yield node.lineno, "." * node.level + (node.module or "")
            else:
                yield node.lineno, node.module or ""


def _reaches(module: str, names) -> str | None:
    """The package of `names` that an import of `module` reaches, bare (`agent.x`) or namespaced (`trendcast.agent.x`)."""
    parts = module.split(".")
    if parts[0] == "trendcast" and len(parts) > 1:
        parts = parts[1:]
    return parts[0] if parts[0] in names else None


def leaf_violations(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        for line, module in _imports(path):
            if (hit := _reaches(module, FORBIDDEN)) is not None:
                found.append(f"{path.name}:{line} imports {hit}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                found.append(f"{path.name}:{node.lineno} reads the environment")
    return found


def bare_imports(roots) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            for line, module in _imports(path):
                if module.split(".")[0] in PACKAGES:
                    found.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return found


def test_no_forbidden_imports_and_no_environment():
    assert leaf_violations(PACKAGE) == []


@pytest.mark.parametrize("planted", ["from trendcast.agent.settings import Settings",
                                     "import trendcast.retrieval.docstore", "from eval import suite",
                                     "import os\nX = os.environ.get('A')"])
def test_the_guard_fails_on_a_planted_import(tmp_path, planted):
    """The guard can fail: the same check on a copy of forecasting/ with one illegal line added to metrics.py."""
    copy = tmp_path / "forecasting"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "metrics.py").write_text((copy / "metrics.py").read_text() + "\n" + planted + "\n")
    assert leaf_violations(copy) != []


def test_nothing_imports_the_bare_package_names():
    """`agent.errors` and `trendcast.agent.errors` would be two modules holding two UserError classes."""
    roots = [REPO / p for p in PACKAGES] + [REPO / "tests", REPO / "bench", REPO / "trendcast" / "common"]
    assert bare_imports(roots) == []


def test_the_bare_names_guard_fails_on_a_planted_import(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("from agent.errors import UserError\n")
    assert bare_imports([tmp_path / "pkg"]) == ["pkg/m.py:1 imports agent.errors"]


def test_importing_the_store_does_not_import_statsforecast():
    code = ("import sys; from trendcast.forecasting import SalesStore, SalesMapping, ingest_sales, resolve_period; "
            "print('statsforecast' in sys.modules, "
            "any(m.startswith(('trendcast.agent', 'trendcast.retrieval')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
