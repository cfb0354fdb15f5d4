"""trendcast: one import namespace for the five packages the design fixes.

The source tree keeps them as top-level folders (agent/, retrieval/, forecasting/, prompts/, eval/); a wheel installs
them as trendcast.agent, trendcast.retrieval, ... (setuptools `package-dir`, pyproject.toml), so nothing named
`agent` or `eval` lands at the top of site-packages where another project's could collide. In a checkout,
trendcast/agent, trendcast/retrieval, ... are committed symbolic links to those folders, so Python, import-linter and
the type checker all see one package, `trendcast`, laid out as the wheel lays it out (tests/test_install.py checks the
links against the wheel's contents). trendcast.common is the bottom layer below all five.
"""
