"""trendcast: one import namespace for the five packages the design fixes.

The source tree keeps them as top-level folders (agent/, retrieval/, forecasting/, prompts/, eval/); a wheel installs
them as trendcast.agent, trendcast.retrieval, ... (setuptools `package-dir`, pyproject.toml), so nothing named
`agent` or `eval` lands at the top of site-packages where another project's could collide. In a checkout (editable
install, or tests run from the repository root) this package's search path also covers the repository root, so
`trendcast.agent` is the folder agent/ itself.
"""
from __future__ import annotations

from pathlib import Path as _Path

_root = _Path(__file__).resolve().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "agent" / "__init__.py").is_file():
    __path__.append(str(_root))  # noqa: F821 - a package's __path__
del _Path, _root
