"""Versioned prompt templates: YAML files loaded into a strict PromptSpec, rendered with LangChain templates.

A template file holds one spec: `name`, `version`, `description`, `system`, `user` and, for few-shot prompts, an
`example` template rendered once per example into `{examples}`. A file may start from another spec with
`include: few-shot@1` and override fields. Templates are LangChain f-string templates over the variables of
`prompts.context` (literal braces are doubled); every value is passed as a value, never parsed, so JSON in examples
or evidence reaches the model byte for byte. `name@N` is exact; a bare `name` is its latest version.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, cast

import yaml
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trendcast.prompts.context import CONTEXT_VARIABLES, EXAMPLE_VARIABLES, PromptContext, example_variables

TEMPLATES_DIR = Path(__file__).parent / "templates"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class PromptError(ValueError):
    """A template that cannot be found or loaded; the message names the file or the prompt."""


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = Field(ge=1)
    description: str = ""
    system: str
    user: str
    example: str | None = None

    @field_validator("system", "user", "example")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _known_variables(self) -> "PromptSpec":
        used = set(self.chat_template.input_variables)
        unknown = used - CONTEXT_VARIABLES
        if unknown:
            raise ValueError(f"unknown template variables {sorted(unknown)}; known: {sorted(CONTEXT_VARIABLES)}")
        if "examples" in used and self.example is None:
            raise ValueError("the template uses {examples} but has no `example` template")
        if self.example is not None:
            unknown = set(_template(self.example, "example").input_variables) - EXAMPLE_VARIABLES
            if unknown:
                raise ValueError(f"unknown example variables {sorted(unknown)}; known: {sorted(EXAMPLE_VARIABLES)}")
        return self

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def few_shot(self) -> bool:
        return "examples" in self.chat_template.input_variables

    @cached_property
    def chat_template(self) -> ChatPromptTemplate:
        _template(self.system, "system")
        _template(self.user, "user")
        return ChatPromptTemplate.from_messages([("system", self.system), ("human", self.user)])

    def render(self, ctx: PromptContext) -> list[dict[str, str]]:
        """The chat messages for this context: [{"role": "system", ...}, {"role": "user", ...}]."""
        values = ctx.variables()
        if self.example is not None:
            example = _template(self.example, "example")
            values["examples"] = "\n\n".join(
                example.format(**_used(example, example_variables(ex, i))) for i, ex in enumerate(ctx.examples, 1)
            ) or "(no past examples available)"
        else:
            values["examples"] = ""
        chat = self.chat_template
        messages = chat.format_messages(**_used(chat, values))
        # text templates make text messages (a message's content may be a list of parts in general)
        return [{"role": _ROLES[m.type], "content": cast(str, m.content).strip()} for m in messages]


def _used(template, values: dict) -> dict:
    """The values a template refers to (older langchain-core refuses any other)."""
    return {k: values[k] for k in template.input_variables}


def _template(text: str, field: str) -> PromptTemplate:
    try:
        return PromptTemplate.from_template(text)
    except ValueError as exc:
        raise ValueError(f"{field} template does not parse ({exc}); write a literal brace as {{{{ or }}}}") from None


def list_prompts(extra_dir: str | Path | None = None) -> list[PromptSpec]:
    """Every spec, built-in and from extra_dir, sorted by name and version."""
    return sorted(_load_all(extra_dir).values(), key=lambda s: (s.name, s.version))


def load_prompt(ref: str, extra_dir: str | Path | None = None) -> PromptSpec:
    """`name@N` exactly, or the latest version of `name`."""
    specs = _load_all(extra_dir)
    name, _, version = ref.partition("@")
    if version:
        if not version.isdigit() or (name, int(version)) not in specs:
            raise PromptError(f"unknown prompt {ref!r} (available: {_available(specs)})")
        return specs[(name, int(version))]
    versions = [v for (n, v) in specs if n == name]
    if not versions:
        raise PromptError(f"unknown prompt {ref!r} (available: {_available(specs)})")
    return specs[(name, max(versions))]


def _available(specs: dict[tuple[str, int], PromptSpec]) -> str:
    return ", ".join(s.id for s in sorted(specs.values(), key=lambda s: (s.name, s.version))) or "none"


def _load_all(extra_dir: str | Path | None) -> dict[tuple[str, int], PromptSpec]:
    raw: dict[str, tuple[Path, dict[str, Any]]] = {}
    for folder in [TEMPLATES_DIR] + ([Path(extra_dir)] if extra_dir is not None else []):
        if not folder.is_dir():
            raise PromptError(f"{folder}: prompt template folder not found")
        for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
            data = _read_yaml(path)
            ref = f"{data.get('name')}@{data.get('version')}"
            if ref in raw:
                raise PromptError(f"{path}: prompt {ref} is already defined in {raw[ref][0]}")
            raw[ref] = (path, data)
    specs = {}
    for ref in raw:
        path, data = raw[ref]
        try:
            spec = PromptSpec(**_resolve(ref, raw, ()))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in exc.errors())
            raise PromptError(f"{path}: {problems}") from None
        specs[(spec.name, spec.version)] = spec
    return specs


def _resolve(ref: str, raw: dict[str, tuple[Path, dict[str, Any]]], seen: tuple[str, ...]) -> dict[str, Any]:
    path, data = raw[ref]
    base_ref = data.get("include")
    if base_ref is None:
        return data
    if base_ref in seen + (ref,):
        raise PromptError(f"{path}: include cycle {' -> '.join(seen + (ref, base_ref))}")
    if base_ref not in raw:
        raise PromptError(f"{path}: include {base_ref!r} is not a known prompt name@version")
    base = {k: v for k, v in _resolve(base_ref, raw, seen + (ref,)).items() if k not in ("name", "version")}
    return {**base, **{k: v for k, v in data.items() if k != "include"}}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: cannot read prompt template: {exc}") from None
    if not isinstance(data, dict):
        raise PromptError(f"{path}: a prompt template is a YAML mapping (name, version, system, user, ...)")
    return data
