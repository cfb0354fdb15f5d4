"""`trendcast llm serve` (a real LLM on this machine's CPU, no GPU, no hub) and `trendcast llm ping`."""
from __future__ import annotations

import time
from pathlib import Path

import click

from trendcast.agent.cli.base import settings_of
from trendcast.agent.cli.main import cli


@cli.group()
def llm():
    """The LLM: serve one locally on CPU (llama-cpp-python + a small GGUF model), or check the configured one."""


@llm.command()
@click.option("--port", type=click.IntRange(1, 65535), help="Port on 127.0.0.1 (default: a free one).")
@click.option("--model", "gguf", type=click.Path(path_type=Path),
              help="A GGUF model file (default: env TRENDCAST_LLM_GGUF, else the bundled SmolLM2-135M-Instruct).")
@click.option("--threads", type=click.IntRange(1, 1024), help="CPU threads (default: llama.cpp's own choice).")
@click.pass_context
def serve(ctx, port, gguf, threads):
    """Start an OpenAI-compatible server, print the exports that point trendcast at it, serve until Ctrl-C."""
    from trendcast.agent.llm.local import LocalLLMError, LocalServer, cpu_client_exports, log_tail
    from trendcast.common.processes import Interrupted, interrupts

    settings = settings_of(ctx)
    server = LocalServer.from_settings(settings, port=port, gguf=gguf, threads=threads)
    click.echo(f"starting llama_cpp.server: {server.gguf} (context {server.n_ctx} tokens), log {server.log_path}",
               err=True)
    try:
        with interrupts(), server:
            click.echo(f"export TRENDCAST_LLM_URL={server.url}")
            click.echo(f"export TRENDCAST_LLM_MODEL={server.model}")
            click.echo(f"export {cpu_client_exports()}")  # a CPU reads a long prompt in a minute, not a second
            click.echo(f"# serving {server.model} at {server.url} (up in {server.started_s:.1f}s): paste the "
                       f"exports above in another shell, then `trendcast llm ping`. Ctrl-C stops it.", err=True)
            while server.alive():
                time.sleep(0.5)
            assert server.proc is not None  # started by `with server`
            raise LocalLLMError(f"the local LLM server exited with code {server.proc.returncode} "
                                f"(log {server.log_path}): {log_tail(server.log_path)}")
    except Interrupted as exc:
        click.echo(f"{exc.name}: local LLM server stopped", err=True)


@llm.command()
@click.option("--url", help="Base URL to check, or several, comma-separated (default: env TRENDCAST_LLM_URL).")
@click.pass_context
def ping(ctx, url):
    """Is the configured LLM server up (each of them, when several), and which models does it serve? Exit code 1
    when none answers."""
    from trendcast.agent.llm.client import LLMClient
    from trendcast.agent.visible import visible

    llm_settings = settings_of(ctx).llm
    if url:
        llm_settings = llm_settings.model_copy(update={"url": url})
    p = LLMClient(llm_settings).ping()
    echo = lambda text: click.echo(visible(text))  # noqa: E731 - servers' errors and model ids are their text
    if len(p.endpoints) > 1:  # several servers: one line each; exit code 1 only when none answers
        up = sum(e.ok for e in p.endpoints)
        echo(f"{'ok' if up else 'down'}: {up} of {len(p.endpoints)} LLM servers answering")
        for e in p.endpoints:
            models = ", ".join(e.models) or "(none)"
            echo(f"  up    {e.url} answered in {e.latency_s * 1000:.0f} ms; models: {models}" if e.ok
                 else f"  down  {e.error}")
        if not up:
            ctx.exit(1)
    elif not p.ok:
        echo(f"down: {p.error}")
        ctx.exit(1)
    else:
        echo(f"ok: {p.url} answered in {p.latency_s * 1000:.0f} ms; models: {', '.join(p.models) or '(none)'}")
    if llm_settings.model and p.models and llm_settings.model not in p.models:
        click.echo(f"warning: TRENDCAST_LLM_MODEL={llm_settings.model} is not among the models it serves")
