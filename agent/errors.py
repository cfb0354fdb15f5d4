"""The user's errors: what exits with code 2 and one line, no traceback.

`UserError` is the base of every user-facing error. Agent's and eval's errors subclass it; the leaves
(forecasting, retrieval, prompts) may not import agent, so their input errors are registered as virtual
subclasses here (`issubclass(forecasting.errors.InputError, UserError)` holds once `register_leaf_errors()` ran —
the CLI runs it before it looks at an exception).
"""
from __future__ import annotations

from abc import ABCMeta


class UserError(Exception, metaclass=ABCMeta):
    """Input, usage or settings the user must fix: exit code 2, a one-line message naming file, row or option."""

    exit_code = 2


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_registered = False


def register_leaf_errors() -> None:
    """Make the leaves' input errors UserErrors (imported late: the CLI must start fast)."""
    global _registered
    if _registered:
        return
    from trendcast.forecasting.errors import InputError as SalesInputError
    from trendcast.prompts.spec import PromptError
    from trendcast.retrieval.errors import RetrievalError
    from trendcast.common.stores import StoreBusyError, StoreError

    for cls in (SalesInputError, RetrievalError, PromptError, StoreBusyError, StoreError):
        UserError.register(cls)
    _registered = True


def is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, UserError):  # agent's and eval's own: no need to import the leaves (prompts pulls langchain)
        return True
    register_leaf_errors()
    return isinstance(exc, UserError)


def is_user_warning(category: type) -> bool:
    """A warning meant for the user as one line (a store's: stored, but its checkpoint failed)."""
    from trendcast.common.stores import StoreWarning

    return isinstance(category, type) and issubclass(category, StoreWarning)
