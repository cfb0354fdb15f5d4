"""What every command shares, the root group's and the subcommands' registered from other packages (`report`,
`eval`, `trust`): the user-error exit, the date option, the settings of a command, JSON output."""
from __future__ import annotations

import datetime as dt
import json
import warnings

import click

from trendcast.agent.errors import is_user_error, is_user_warning, one_line
from trendcast.agent.settings import Settings
from trendcast.agent.visible import visible, visible_json


class CLIUserError(click.ClickException):
    """A user error on its way out: one line on stderr, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return visible(" ".join(str(self.message).split()))  # a name from a file may carry terminal escapes


class Group(click.Group):
    """Turns every UserError (agent.errors) into exit code 2 with one line and no traceback; a user warning (a
    store's: stored, but its checkpoint failed) is one line on stderr, `warning: …`."""

    def invoke(self, ctx):
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise
            except Exception as exc:
                if is_user_error(exc):
                    raise CLIUserError(one_line(exc)) from None
                raise


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if is_user_warning(category):
        click.echo(f"warning: {visible(one_line(message))}", err=True)
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


_SHOW_WARNING = warnings.showwarning


class AdjusterChoice(click.Choice):
    """`--adjuster`: the names the adjuster registry knows when the option is read (agent.adjusters.plugins: the
    built-ins and every installed `trendcast.adjusters` entry point), not a list fixed here."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        from trendcast.agent.adjusters.plugins import adjuster_names

        return tuple(adjuster_names())

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ sets it: the registry is the one list
        pass


def date_arg(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def settings_of(ctx: click.Context) -> Settings:
    return ctx.find_root().obj


def emit_json(obj) -> None:
    click.echo(json.dumps(visible_json(obj), indent=2, default=str, ensure_ascii=False))
