"""The `trendcast` command line: thin. Parse options, build Settings, call a library function, print.

Subcommands outside agent's core (`report`, `eval`) come from the `trendcast.commands` entry points (pyproject),
so this module imports none of their packages and no package imports it back except to reuse its helpers.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import click

from trendcast.agent.cli.base import Group
from trendcast.agent.settings import Settings, variables

VARIABLES_HELP = ("Settings, one variable each (an option given wins; README's Configuration table says defaults and "
                  "meanings): " + ", ".join(variables()) + ".")


@click.group(cls=Group, epilog=VARIABLES_HELP)
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
    from trendcast.agent.cli import ask, data, llm  # noqa: F401  (commands register themselves on `cli`)

    for ep in entry_points(group="trendcast.commands"):
        try:
            cli.add_command(ep.load(), ep.name)
        except ModuleNotFoundError as exc:  # an optional part that is not installed
            if not ep.value.startswith(f"{exc.name}"):
                raise


_register()


def main() -> None:
    cli(prog_name="trendcast")
