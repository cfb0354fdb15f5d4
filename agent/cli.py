"""The `trendcast` command line: thin. Parse options, build Settings, call a library function, print."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from agent.errors import UserError, user_error_types
from agent.settings import Settings


class _Group(click.Group):
    """Turns the packages' input errors into exit code 2 with one line and no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except user_error_types() as exc:
            raise UserError(str(exc)) from None


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def settings_of(ctx: click.Context) -> Settings:
    return ctx.find_root().obj


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


@click.group(cls=_Group)
@click.option("--home", type=click.Path(path_type=Path), envvar="TRENDCAST_HOME",
              help="Workspace folder (default: the user data dir; env TRENDCAST_HOME).")
@click.option("--embed-model", envvar="TRENDCAST_EMBED_MODEL",
              help="sentence-transformers model name or path (default: bundled all-MiniLM-L6-v2).")
@click.version_option(package_name="trendcast")
@click.pass_context
def cli(ctx, home, embed_model):
    """trendcast: how will category X trend next month? Baselines, news, and an LLM, scored honestly."""
    ctx.obj = Settings.from_env(home=home, embed_model=embed_model)


def _register() -> None:
    from agent import cli_ask, cli_data  # noqa: F401  (commands register themselves on `cli`)

    for modname, attr in (("agent.cli_report", "report"), ("eval.cli", "eval_group")):
        try:
            module = __import__(modname, fromlist=[attr])
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue
        cli.add_command(getattr(module, attr))


_register()


def main() -> None:
    cli(prog_name="trendcast")

