"""The `trendcast` command line: thin. Parse options, build Settings, call a library function, print.

Subcommands outside agent's core (`report`, `eval`) come from the `trendcast.commands` entry points (pyproject),
so this module imports none of their packages and no package imports it back except to reuse its helpers.
"""
from __future__ import annotations

import datetime as dt
import json
from importlib.metadata import entry_points
from pathlib import Path

import click

from trendcast.agent.errors import is_user_error, one_line
from trendcast.agent.settings import Settings


class CLIUserError(click.ClickException):
    """A user error on its way out: one line on stderr, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return " ".join(str(self.message).split())


class _Group(click.Group):
    """Turns every UserError (agent.errors) into exit code 2 with one line and no traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if is_user_error(exc):
                raise CLIUserError(one_line(exc)) from None
            raise


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
@click.option("--home", type=click.Path(path_type=Path),
              help="Workspace folder (default: env TRENDCAST_HOME, else the user data dir).")
@click.option("--embed-model", help="sentence-transformers model name or path (default: env TRENDCAST_EMBED_MODEL, "
              "else the bundled all-MiniLM-L6-v2).")
@click.version_option(package_name="trendcast")
@click.pass_context
def cli(ctx, home, embed_model):
    """trendcast: how will category X trend next month? Baselines, news, and an LLM, scored honestly."""
    ctx.obj = Settings.from_env(home=home, embed_model=embed_model)  # a bad setting: exit 2, naming it


def _register() -> None:
    from trendcast.agent import cli_ask, cli_data, cli_llm  # noqa: F401  (commands register themselves on `cli`)

    for ep in entry_points(group="trendcast.commands"):
        try:
            cli.add_command(ep.load(), ep.name)
        except ModuleNotFoundError as exc:  # an optional part that is not installed
            if not ep.value.startswith(f"{exc.name}"):
                raise


_register()


def main() -> None:
    cli(prog_name="trendcast")
