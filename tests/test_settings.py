"""Settings declared once: every field of Settings and LLMSettings has exactly one variable, the variable reaches it,
options win, a bad value names its variable or option and the range, and README's table lists exactly these."""
from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest

from trendcast.agent.settings import LLMSettings, Settings, SettingsError, variables

REPO = Path(__file__).resolve().parents[1]
# fields whose valid values a type cannot tell: (variable's text, the value that must arrive)
PROBES = {"baseline_models": (" AutoETS, Naive ", ("AutoETS", "Naive"))}


def _plain(annotation):
    """X for `X | None`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation, = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation


def _bounds(cls, field) -> dict:
    found = {}
    for m in cls.model_fields[field].metadata:
        found.update({k: getattr(m, k) for k in ("gt", "ge", "lt", "le") if getattr(m, k, None) is not None})
    return found


def probe(cls, field, tmp_path) -> tuple[str, object]:
    """A variable's text for `field` and the value it must give: valid, and not the default."""
    if field in PROBES:
        return PROBES[field]
    info = cls.model_fields[field]
    kind, default = _plain(info.annotation), info.get_default(call_default_factory=True)
    if typing.get_origin(kind) is typing.Literal:
        value = next(c for c in typing.get_args(kind) if c != default)
        return value, value
    if kind is bool:
        return ("0", False) if default else ("1", True)
    if kind in (int, float):
        b = _bounds(cls, field)
        low = b.get("ge", b.get("gt", 0))
        value = kind((default if default is not None else low) + 1)
        if value > b.get("le", value) or value >= b.get("lt", value + 1):
            value = kind(default - 1)
        return str(value), value
    if kind is str:
        return f"probe-{field}", f"probe-{field}"
    if kind is Path:
        return str(tmp_path / field), tmp_path / field
    raise AssertionError(f"{cls.__name__}.{field}: no probe for {kind} (add one to PROBES)")


def _owner(settings: Settings, cls):
    return settings if cls is Settings else settings.llm


@pytest.mark.parametrize("var", list(variables()))
def test_every_setting_is_reachable_by_its_variable_and_by_no_other(var, tmp_path):
    cls, field = variables()[var]
    text, expected = probe(cls, field, tmp_path)
    base = Settings.from_env(env={})
    got = Settings.from_env(env={var: text})
    assert getattr(_owner(got, cls), field) == expected
    changed = {(c, f) for c in (Settings, LLMSettings) for f in c.variable_fields()
               if getattr(_owner(got, c), f) != getattr(_owner(base, c), f)}
    assert changed == {(cls, field)}


def test_one_variable_per_field():
    fields = [(c, f) for c in (Settings, LLMSettings) for f in c.variable_fields()]
    assert len(variables()) == len(fields) and set(variables().values()) == set(fields)
    assert all(v.startswith("TRENDCAST_LLM_") for v, (c, _) in variables().items() if c is LLMSettings)
    assert not any(v.startswith("TRENDCAST_LLM_") for v, (c, _) in variables().items() if c is Settings)
    assert Settings.variable_fields() == [f for f in Settings.model_fields if f != "llm"]
    assert "TRENDCAST_LLM" not in variables()  # the nested settings have no JSON variable of their own


def test_documented_names_kept():
    assert LLMSettings.variable("timeout_s") == "TRENDCAST_LLM_TIMEOUT"
    assert LLMSettings.variable("budget_s") == "TRENDCAST_LLM_BUDGET"
    assert LLMSettings.variable("cooldown_s") == "TRENDCAST_LLM_COOLDOWN"
    assert Settings.variable("home") == "TRENDCAST_HOME"


def test_options_win_none_is_ignored_and_an_empty_variable_is_unset():
    env = {"TRENDCAST_N_EVIDENCE": "3", "TRENDCAST_PROMPT": "zero-shot", "TRENDCAST_LLM_TIMEOUT": "7",
           "TRENDCAST_LLM_URL": "http://a/v1", "TRENDCAST_TRAIN_WINDOW": ""}
    s = Settings.from_env(env=env, n_evidence=5, prompt=None, llm={"timeout_s": 9, "url": None})
    assert (s.n_evidence, s.prompt, s.llm.timeout_s, s.llm.url, s.train_window) == (5, "zero-shot", 9.0,
                                                                                    "http://a/v1", None)
    assert s.llm.model_fields_set == {"timeout_s", "url"}  # what the user set (agent.llm.local keeps it)


def test_the_mapping_replaces_the_environment_and_direct_construction_reads_none(monkeypatch):
    monkeypatch.setenv("TRENDCAST_N_EVIDENCE", "3")
    monkeypatch.setenv("TRENDCAST_LLM_MAX_REASKS", "5")
    assert (Settings.from_env().n_evidence, Settings.from_env().llm.max_reasks) == (3, 5)
    assert (Settings.from_env(env={}).n_evidence, Settings.from_env(env={}).llm.max_reasks) == (8, 2)
    assert Settings.from_env(env={"trendcast_n_evidence": "3"}).n_evidence == 8  # the name as declared, no other
    assert (Settings().n_evidence, LLMSettings().max_reasks, Settings().llm.max_reasks) == (8, 2, 2)
    assert (Settings(n_evidence=4).n_evidence, LLMSettings(timeout_s=5).timeout_s) == (4, 5.0)


def _outside(cls, field):
    b = _bounds(cls, field)
    if "le" in b or "lt" in b:
        return b.get("le", b.get("lt")) + 1
    return b.get("ge", b.get("gt")) - 1


BOUNDED = [v for v, (c, f) in variables().items() if _bounds(c, f)]


@pytest.mark.parametrize("var", BOUNDED)
def test_a_value_out_of_range_names_the_variable_and_the_range(var):
    cls, field = variables()[var]
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env={var: str(_outside(cls, field))})
    text = str(err.value)
    assert len(text.splitlines()) == 1 and text.startswith(f"bad setting {var}=") and "(allowed: " in text


def test_a_bad_option_names_the_option_not_the_variable():
    with pytest.raises(SettingsError, match=r"^bad setting --n-evidence=101: .*\(allowed: 0 <= value <= 100\)$"):
        Settings.from_env(env={"TRENDCAST_N_EVIDENCE": "3"}, n_evidence=101)
    with pytest.raises(SettingsError, match=r"^bad setting TRENDCAST_BASELINE_MODELS='AutoETS,Prophet': .*Prophet"):
        Settings.from_env(env={"TRENDCAST_BASELINE_MODELS": "AutoETS,Prophet"})


def test_an_api_key_is_never_shown():
    secret = "sk-never-shown-123"
    s = Settings.from_env(env={"TRENDCAST_LLM_API_KEY": secret})
    assert s.llm.api_key == secret and secret not in repr(s) and secret not in str(s)
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env={}, llm={"api_key": 12345})
    assert "--api-key" in str(err.value) and "12345" not in str(err.value)


def _readme_rows() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):]
    section = section[:section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = m.group(2).strip()
    return rows


def _shown(default) -> str | None:
    """How README's table writes a declared default (None: in words)."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, int):
        return str(default)
    if isinstance(default, float):
        return f"{default:g}"
    if isinstance(default, str):
        return f"`{default}`"
    if isinstance(default, tuple):
        return f"`{','.join(default)}`"
    return None


def test_readme_configuration_table_lists_exactly_the_variables_with_their_defaults():
    rows = _readme_rows()
    assert sorted(rows) == sorted(variables())
    for var, (cls, field) in variables().items():
        shown = _shown(cls.model_fields[field].get_default(call_default_factory=False))
        if shown is not None:
            assert shown in rows[var], (var, shown, rows[var])


def test_help_lists_every_variable():
    from click.testing import CliRunner

    from trendcast.agent.cli.main import cli

    out = CliRunner().invoke(cli, ["--help"]).output
    assert all(var in out for var in variables())
