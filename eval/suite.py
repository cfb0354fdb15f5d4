"""Eval suites: YAML data files (lm-evaluation-harness style) loaded into strict pydantic models.

A suite names the data, the series, the rolling origins, the horizon, the baseline models and the variants to
compare. `include: base.yaml` (a path relative to the including file, or a shipped suite's name) makes a variant
suite: mappings are merged key by key, other values replaced, and `variants` are merged by name (a variant whose
name is already there updates it; `drop: true` removes it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trendcast.eval.errors import SuiteError

SUITES_DIR = Path(__file__).resolve().parent / "suites"
COMBINED = "combined"  # the baseline that combines the suite's models the way forecasting.baseline does
CALENDAR = "+cal"  # suffix of a baseline with calendar effects (baseline.calendar: forecasting.calendar_effects)
# A suite's name and its variants' names become folder names (runs/<suite>-<stamp>/, cells/<variant>/): they
# must be slugs, so a name from a file never climbs out of its folder. A name that is not one is rejected (the
# file's author picks the name, not us), a one-line SuiteError naming the file and the field: exit code 2.
SUITE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
VARIANT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$"
MAX_NAME = 100


def inside(root: Path, *parts: str, what: str) -> Path:
    """`root / parts`, checked to lie strictly inside `root` once both are resolved ('..' and symlinks followed):
    a SuiteError naming `what` otherwise. Every output path built from a name in a file goes through here."""
    path = Path(root).joinpath(*parts)
    base, resolved = Path(root).resolve(), path.resolve()
    if resolved == base or base not in resolved.parents:
        raise SuiteError(f"{what} {'/'.join(map(str, parts))!r} would be written outside {root}")
    return path


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SalesFile(_Strict):
    path: str
    mapping: dict[str, Any]  # the keyword arguments of forecasting.ingest.SalesMapping


class DocsFile(_Strict):
    path: str
    kind: str = "news"
    dataset: str | None = None
    mapping: dict[str, Any]  # the keyword arguments of retrieval.DocMapping


class Data(_Strict):
    """`workspace` (default): the workspace the command runs in. `files`: ingested into a fresh run workspace."""
    source: Literal["workspace", "files"] = "workspace"
    sales: list[SalesFile] = Field(default_factory=list)
    docs: list[DocsFile] = Field(default_factory=list)
    index: bool = True  # with `files`: embed the documents and build the index

    @model_validator(mode="after")
    def _files_given(self) -> "Data":
        if self.source == "files" and not self.sales:
            raise ValueError("data.source 'files' needs at least one data.sales file")
        return self


class SeriesSel(_Strict):
    levels: list[str] = Field(default_factory=list)  # hierarchy levels, e.g. ["3-digit", "4-digit"]
    ids: list[str] = Field(default_factory=list)  # explicit unique_ids (added to the levels' series)
    dataset: str | None = None  # only series of this dataset
    exclude: list[str] = Field(default_factory=list)
    limit: int | None = None  # the first N after sorting by id (quick runs)


class Origins(_Strict):
    """Rolling origins: `YYYY-MM` means the end of that month (the last observed period); `YYYY-MM-DD` a date."""
    start: str
    end: str
    step: int = Field(default=1, ge=1)  # in periods of the data's frequency

    @field_validator("start", "end", mode="before")
    @classmethod
    def _str(cls, v):
        return v.isoformat() if isinstance(v, dt.date) else str(v)

    def dates(self, freq: str) -> list[dt.date]:
        start, end = as_of_date(self.start), as_of_date(self.end)
        if end < start:
            raise SuiteError(f"origins: end {self.end} is before start {self.start}")
        if freq.startswith("M"):
            idx = pd.date_range(start, end, freq=f"{self.step}ME")
        elif freq.startswith("W"):
            idx = pd.date_range(start, end, freq=f"{7 * self.step}D")
        else:
            idx = pd.date_range(start, end, freq=f"{self.step}D")
        return [d.date() for d in idx]


class Baseline(_Strict):
    models: list[str] = Field(default_factory=lambda: ["AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive"])
    refit_every: int = Field(default=1, ge=1)  # refit the models every k origins; in between, only new data
    train_window: int | None = None  # periods fed to the models (None: forecasting's default, 120 months)
    calendar: bool = False  # also every model and the combination with calendar effects: `<name>+cal` baselines

    def names(self) -> set[str]:
        """The baselines a variant may name."""
        plain = set(self.models) | {COMBINED}
        return plain | ({n + CALENDAR for n in plain} if self.calendar else set())


class LLMEndpoint(_Strict):
    """None fields are taken from the settings (TRENDCAST_LLM_URL / _MODEL, or --llm-url / --llm-model)."""
    url: str | None = None
    name: str | None = None


class Variant(_Strict):
    name: str = Field(pattern=VARIANT_NAME, max_length=MAX_NAME)  # also a folder name in the run
    adjuster: str = "none"  # a registered adjuster: the built-ins or a `trendcast.adjusters` plug-in
    baseline: str = COMBINED  # one of the suite's baseline models, or "combined"
    prompt: str | None = None  # llm: template name@version
    model: LLMEndpoint | None = None  # llm
    drop: bool = False  # in an including suite: remove this variant

    @field_validator("adjuster")
    @classmethod
    def _known_adjuster(cls, name: str) -> str:
        from trendcast.agent.engine import adjuster_names

        names = adjuster_names()
        if name not in names:
            raise ValueError(f"unknown adjuster {name!r}; choose one of {', '.join(names)}")
        return name

    @model_validator(mode="after")
    def _llm_fields(self) -> "Variant":
        if self.adjuster != "llm" and (self.prompt or self.model):
            raise ValueError(f"variant {self.name!r}: prompt/model only apply to the llm adjuster")
        return self


class Window(_Strict):
    """A span of origins scored on its own beside the whole run (`YYYY-MM`: that month; `YYYY-MM-DD`: a date);
    `outside: true` scores every origin NOT in the span instead."""
    name: str = Field(pattern=VARIANT_NAME, max_length=MAX_NAME)
    start: str
    end: str
    outside: bool = False

    @field_validator("start", "end", mode="before")
    @classmethod
    def _str(cls, v):
        return v.isoformat() if isinstance(v, dt.date) else str(v)

    def contains(self, origins) -> "pd.Series":
        """Which origins count (a boolean array)."""
        lo = pd.Timestamp(self.start + "-01" if len(self.start) == 7 else self.start)
        hi = pd.Timestamp(as_of_date(self.end))
        o = pd.to_datetime(pd.Series(origins)).reset_index(drop=True)
        inside_ = (o >= lo) & (o <= hi)
        return ~inside_ if self.outside else inside_


class Bootstrap(_Strict):
    resamples: int = Field(default=2000, ge=200)
    seed: int = 0
    unit: Literal["cell", "origin"] = "cell"  # what a resample draws: cells, or whole origins (all their series)


class Suite(_Strict):
    name: str = Field(max_length=MAX_NAME)  # the run folder's name starts with it
    version: int = 1
    description: str = ""
    data: Data = Field(default_factory=Data)
    series: SeriesSel = Field(default_factory=SeriesSel)
    origins: Origins
    horizon: str = "next-month"
    baseline: Baseline = Field(default_factory=Baseline)
    variants: list[Variant]
    reference: str = COMBINED  # skill is measured against this variant
    bootstrap: Bootstrap = Field(default_factory=Bootstrap)
    windows: list[Window] = Field(default_factory=list)  # spans of origins scored on their own (the shock, ...)
    n_jobs: int = Field(default=2, ge=1)  # worker processes for fits and situations; not in the fingerprint
    # where the bulk baselines run (forecasting.distributed); None: the settings' (TRENDCAST_ENGINE); --engine
    # overrides. Not in the fingerprint either: every engine gives the same numbers (tests/test_engine.py)
    engine: Literal["local", "dask", "ray", "spark"] | None = None
    engine_address: str | None = None  # the scheduler; None: the settings', else a local cluster of n_jobs workers

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not re.fullmatch(SUITE_NAME, v):
            raise ValueError(f"{v!r} is not a safe name: it names the run folder, so letters, digits and . _ + - "
                             "only, starting with a letter or digit")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Suite":
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names repeat: {names}")
        if not self.variants:
            raise ValueError("a suite needs at least one variant")
        known = self.baseline.names()
        for v in self.variants:
            if v.baseline not in known:
                raise ValueError(f"variant {v.name!r}: baseline {v.baseline!r} is not one of {sorted(known)}")
        if self.reference not in names:
            raise ValueError(f"reference {self.reference!r} is not a variant ({', '.join(names)})")
        return self

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def fingerprint(self) -> str:
        """sha256 of the resolved suite (after includes), to tell runs of different configurations apart."""
        config = self.model_dump(mode="json", exclude={"n_jobs", "engine", "engine_address"})
        blob = json.dumps(config, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def select(self, only: list[str] | None = None, skip: list[str] | None = None) -> "Suite":
        """The same suite with fewer variants (the reference is always kept)."""
        keep = [v for v in self.variants if v.name == self.reference
                or ((not only or v.name in only) and v.name not in (skip or []))]
        unknown = set(only or []) | set(skip or [])
        unknown -= {v.name for v in self.variants}
        if unknown:
            raise SuiteError(f"no variant named {', '.join(sorted(unknown))} in suite {self.name!r} "
                             f"(variants: {', '.join(v.name for v in self.variants)})")
        return self.model_copy(update={"variants": keep})


def as_of_date(text: str) -> dt.date:
    """`YYYY-MM` → the last day of that month; `YYYY-MM-DD` → that date."""
    try:
        if len(text) == 7:
            return (pd.Timestamp(f"{text}-01") + pd.offsets.MonthEnd(0)).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SuiteError(f"origins: {text!r} is neither YYYY-MM nor YYYY-MM-DD") from None


def suite_path(name_or_path: str | Path) -> Path:
    """A path to a YAML file, or the name of a suite shipped in eval/suites/."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise SuiteError(f"{p}: suite file not found")
        return p
    shipped = SUITES_DIR / f"{name_or_path}.yaml"
    if not shipped.is_file():
        raise SuiteError(f"{name_or_path!r} is neither a file nor a shipped suite ({', '.join(shipped_suites())})")
    return shipped


def shipped_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def load_raw(path: Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The YAML mapping of a suite file with its `include:` chain resolved."""
    path = path.resolve()
    if path in _seen:
        raise SuiteError(f"{path}: include cycle ({' → '.join(p.name for p in _seen + (path,))})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: a suite is a YAML mapping")
    _absolute_paths(raw, path.parent)
    inc = raw.pop("include", None)
    if inc is None:
        return raw
    base_path = path.parent / inc if (path.parent / inc).is_file() else suite_path(inc)
    return merge(load_raw(base_path, _seen + (path,)), raw)


def _absolute_paths(raw: dict, folder: Path) -> None:
    """Data file paths are relative to the suite file that names them."""
    data = raw.get("data")
    for key in ("sales", "docs"):
        for item in (data or {}).get(key) or [] if isinstance(data, dict) else []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                item["path"] = str((folder / Path(item["path"]).expanduser()).resolve())


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if key == "variants" and isinstance(value, list) and isinstance(base.get(key), list):
            out[key] = _merge_variants(base[key], value)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge(base[key], value)
        else:
            out[key] = value
    return out


def _merge_variants(base: list, over: list) -> list:
    by_name = {v.get("name"): dict(v) for v in base if isinstance(v, dict)}
    order = list(by_name)
    for v in over:
        name = v.get("name") if isinstance(v, dict) else None
        if name in by_name:
            by_name[name] = merge(by_name[name], v)
        else:
            by_name[name] = v
            order.append(name)
    return [by_name[n] for n in order if not by_name[n].get("drop")]


def load_suite(name_or_path: str | Path) -> Suite:
    path = suite_path(name_or_path)
    raw = load_raw(path)
    try:
        return Suite.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top)"
        raise SuiteError(f"{path}: {where}: {first['msg']} ({exc.error_count()} error(s))") from None
