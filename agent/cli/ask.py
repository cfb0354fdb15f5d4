"""`trendcast ask`, `trendcast demo`, `trendcast logs`."""
from __future__ import annotations

from pathlib import Path

import click

from trendcast.agent.cli.base import AdjusterChoice, date_arg, emit_json, settings_of
from trendcast.agent.cli.main import cli
from trendcast.agent.visible import visible_json_text

HORIZONS = ["next-month", "next-week", "next-quarter", "next-4-weeks"]


def _answer_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")(f)
    f = click.option("--no-cache", is_flag=True, help="Bypass the LLM response cache.")(f)
    f = click.option("--prompt", help="Prompt template name[@version] (default: env TRENDCAST_PROMPT, else "
                     "few-shot).")(f)
    f = click.option("--adjuster", type=AdjusterChoice(),
                     help="Default: llm when TRENDCAST_LLM_URL is set, else carry.")(f)
    f = click.option("--as-of", callback=date_arg, help="Forecast as of this date (default: last observed period).")(f)
    return f


def _with_llm(settings, prompt, no_cache):
    upd = {}
    if prompt:
        upd["prompt"] = prompt
    if no_cache:
        upd["llm"] = settings.llm.model_copy(update={"use_cache": False})
    return settings.model_copy(update=upd) if upd else settings


@cli.command()
@click.argument("question")
@click.option("--horizon", help="Override the horizon: next-month, next-quarter, next-year, next-N-months, "
              "month:+N (N months on), month:YYYY-MM, quarter:YYYY-QN, half:YYYY-HN, year:YYYY, "
              "range:YYYY-MM..YYYY-MM; weekly data: next-week, next-N-weeks.")
@click.option("--series", "series_id", help="Skip category matching: this series id.")
@_answer_options
@click.pass_context
def ask(ctx, question, horizon, series_id, as_of, adjuster, prompt, no_cache, as_json):
    """Answer a question like "how will clothing stores trend next month?"."""
    from trendcast.agent.engine import answer

    settings = _with_llm(settings_of(ctx), prompt, no_cache)
    a = answer(settings, question, as_of=as_of, horizon=horizon, series_id=series_id, adjuster=adjuster)
    if as_json:
        click.echo(visible_json_text(a.model_dump_json(indent=2, exclude={"history": {"recent"}})))
    else:
        from trendcast.agent.cli.console import print_answer

        print_answer(a)


@cli.command()
@click.option("--question", default="how will clothing stores trend next month?", show_default=True)
@click.option("--as-of", callback=date_arg, default="2020-03-31", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder with the bundled data (default: the copy shipped in the package, agent/data/).")
@click.option("--adjuster", type=AdjusterChoice())
@click.option("--llm", "llm_kind", type=click.Choice(["local"]),
              help="local: start a CPU LLM server (llama-cpp-python + the bundled SmolLM2-135M-Instruct, or "
              "TRENDCAST_LLM_GGUF), answer with the llm adjuster through it, stop it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(ctx, question, as_of, data_dir, adjuster, llm_kind, as_json):
    """Build a workspace from the bundled real data (US Census retail sales + news) and answer a question."""
    from contextlib import nullcontext

    from trendcast.agent.cli.demo import build_demo_workspace
    from trendcast.agent.engine import answer

    settings = settings_of(ctx)
    server = None
    if llm_kind == "local":
        from trendcast.agent.llm.local import LocalServer

        if adjuster not in (None, "llm"):
            raise click.UsageError(f"--llm local answers with the llm adjuster, not --adjuster {adjuster}")
        server = LocalServer.from_settings(settings)  # a missing package or model: exit 2 before any work
    build_demo_workspace(settings, data_dir, echo=click.echo)
    with server or nullcontext():
        if server is not None:
            click.echo(f"local LLM: {server.model} at {server.url} ({server.gguf.name}, up in {server.started_s:.1f}s)")
            settings = settings.model_copy(update={"llm": server.client_settings(settings.llm)})
            adjuster = "llm"
        a = answer(settings, question, as_of=as_of, adjuster=adjuster)
    if as_json:
        click.echo(visible_json_text(a.model_dump_json(indent=2, exclude={"history": {"recent"}})))
        return
    from trendcast.agent.cli.console import print_answer

    click.echo(f"\n$ trendcast ask {question!r} --as-of {as_of}\n")
    print_answer(a)


@cli.command()
@click.option("-n", "limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Every field of every call (messages, reply), as JSON.")
@click.option("--wide", is_flag=True, help="One line per call with every column (laid out for 80 columns "
              "otherwise).")
@click.pass_context
def logs(ctx, limit, as_json, wide):
    """Show the most recent LLM calls (prompt, reply, latency, tokens, errors)."""
    from trendcast.agent.workspace import calllog

    settings = settings_of(ctx)
    # no call log yet: nothing to show, and a read-only command creates no llm.sqlite
    rows = calllog(settings).recent(limit) if settings.llm_db.exists() else []
    if as_json:
        emit_json(rows)
        return
    from trendcast.agent.cli.tables import print_logs

    print_logs(rows, wide=wide)
