"""Which exceptions are the user's to fix (exit code 2, one line, no traceback)."""
from __future__ import annotations

import click


class UserError(click.ClickException):
    exit_code = 2

    def format_message(self) -> str:  # one line, always
        return " ".join(str(self.message).split())


def user_error_types() -> tuple[type[BaseException], ...]:
    """Every package's 'your input is wrong' exception (imported late: the CLI must start fast)."""
    from agent.question import QuestionError
    from forecasting.errors import InputError as SalesInputError
    from eval.errors import SuiteError
    from prompts.spec import PromptError
    from retrieval.errors import RetrievalError

    return (QuestionError, SalesInputError, RetrievalError, PromptError, SuiteError)
