"""forecasting stays a leaf package: no imports of agent/eval/prompts/retrieval, no environment variables."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from trendcast import forecasting
PACKAGE = Path(forecasting.__file__).parent
FORBIDDEN = {"agent", "eval", "prompts", "retrieval"}


def test_no_forbidden_imports_and_no_environment():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            assert not roots & FORBIDDEN, f"{path.name}:{node.lineno} imports {roots & FORBIDDEN}"
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                raise AssertionError(f"{path.name}:{node.lineno} reads the environment")


def test_importing_the_store_does_not_import_statsforecast():
    code = ("import sys; from forecasting import SalesStore, SalesMapping, ingest_sales, resolve_period; "
            "print('statsforecast' in sys.modules, any(m.split('.')[0] in {'agent', 'retrieval'} for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
