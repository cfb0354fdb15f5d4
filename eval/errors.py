"""The eval harness's 'your input is wrong' error (the CLI turns it into exit code 2 and one line)."""
from __future__ import annotations

from trendcast.agent.errors import UserError


class SuiteError(UserError, ValueError):
    """A suite file, a run folder or a command's arguments are wrong: the message names the file and the field."""
