"""The code's shape: one-way layers (import-linter), small modules, one env reader, user errors as exit code 2."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "eval", "prompts", "retrieval", "forecasting")
# reading a variable (setting one, as the embedder does for offline mode, is not reading configuration)
READS_ENV = re.compile(r"os\.getenv|os\.environ\.get|envvar=|os\.environ\[[^\]]+\](?!\s*=)")


def test_layers_contract_holds():
    """A bare `lint-imports` in the checkout: eval → agent → {prompts, retrieval, forecasting} → common, the pipeline's
    layers inside agent, eval through agent's facades (pyproject [tool.importlinter]). It reads the checkout itself:
    trendcast/agent, ... are links to the top-level folders."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 kept, 0 broken" in out.stdout
    deps = int(re.search(r"Analyzed \d+ files, (\d+) dependencies", out.stdout).group(1))
    assert deps > 200  # the real graph, not an empty one


def test_no_module_over_400_lines():
    big = {str(p.relative_to(REPO)): n for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert big == {}


def test_only_settings_reads_the_environment():
    readers = [str(p.relative_to(REPO)) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")
               if READS_ENV.search(p.read_text(encoding="utf-8"))]
    assert readers == []  # agent/settings.py reads it through pydantic-settings


@pytest.mark.parametrize("var, value, says", [
    ("TRENDCAST_LLM_TIMEOUT", "abc", "TRENDCAST_LLM_TIMEOUT='abc'"),
    ("TRENDCAST_LLM_TIMEOUT", "0", "greater than 0"),
    ("TRENDCAST_LLM_CONCURRENCY", "-1", "greater than or equal to 1"),
    ("TRENDCAST_LLM_BUDGET", "nan", "finite number"),
    ("TRENDCAST_LLM_MAX_RETRIES", "-3", "TRENDCAST_LLM_MAX_RETRIES='-3'"),
])
def test_a_bad_setting_exits_2_naming_the_variable(home, var, value, says):
    from trendcast.agent.cli.main import cli

    result = CliRunner().invoke(cli, ["series"], env={var: value})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and var in lines[0] and says in lines[0] and "Traceback" not in result.output


def test_a_home_that_is_a_file_exits_2(tmp_path):
    from trendcast.agent.cli.main import cli

    f = tmp_path / "not-a-folder"
    f.write_text("x")
    result = CliRunner().invoke(cli, ["series"], env={"TRENDCAST_HOME": str(f)})
    assert result.exit_code == 2 and "is a file, not a workspace folder" in result.output


def test_every_package_error_is_a_user_error():
    from trendcast.agent.errors import UserError, register_leaf_errors
    from trendcast.agent.question.parse import QuestionError
    from trendcast.agent.settings import SettingsError
    from trendcast.eval.errors import SuiteError
    from trendcast.forecasting.errors import InputError
    from trendcast.prompts.spec import PromptError
    from trendcast.retrieval.errors import RetrievalError

    register_leaf_errors()
    for cls in (QuestionError, SettingsError, SuiteError, InputError, PromptError, RetrievalError):
        assert issubclass(cls, UserError), cls
    assert not issubclass(RuntimeError, UserError)
