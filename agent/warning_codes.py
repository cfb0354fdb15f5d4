"""The warnings an answer carries: each a code (what kind of risk, for reports' badges and scripts) and a message
(for people). Every code is defined here, once.

The forecasting leaf stays string-based: its warnings (forecasting.baseline) become `baseline` warnings here.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

BREAK = "break"  # the last observed period broke from the baseline's pattern (agent.carry.break_text)
STALE_AS_OF = "stale_as_of"  # as-of is past the series' last observed period
SERIES_STOPPED = "series_stopped"  # the series stopped well before as-of while others continue
STALE_EVIDENCE = "stale_evidence"  # the newest evidence is older than the evidence window
NO_SPECIFIC_EVIDENCE = "no_specific_evidence"  # nothing in the index is about the category
INTERVAL_CLIPPED = "interval_clipped"  # bounds (or the forecast) of non-negative data clipped at zero
FALLBACK = "fallback"  # the adjuster asked for did not answer: another one did
LLM_BOUND = "llm_bound"  # an LLM adjustment at a bound of the allowed change, applied
LLM_SERVER_DOWN = "llm_server_down"  # one of several LLM servers was out of the rotation; the others answered
FLAGGED_EVIDENCE = "flagged_evidence"  # a document reads like instructions to a model (agent.injection)
NO_INDEX = "no_index"  # the workspace has no document index: no evidence
NO_RECORD = "no_record"  # the adjuster had too few past outcomes to learn from: baseline kept
RECORD_UNAVAILABLE = "record_unavailable"  # record.sqlite could not be read or written (agent.answers_log)
BASELINE = "baseline"  # from the statistical baseline (forecasting.baseline: fits, fallbacks, gaps)

Code = Literal["break", "stale_as_of", "series_stopped", "stale_evidence", "no_specific_evidence",
               "interval_clipped", "fallback", "llm_bound", "llm_server_down", "flagged_evidence", "no_index",
               "no_record", "record_unavailable", "baseline"]

# the codes that say the answer's numbers or evidence are at risk (a report badges them)
STALE = frozenset({STALE_AS_OF, SERIES_STOPPED, STALE_EVIDENCE})


class WarningOut(BaseModel):
    code: Code
    message: str

    def __str__(self) -> str:
        return self.message


def warn(code: str, message: str) -> WarningOut:
    return WarningOut(code=code, message=message)


def messages(warnings) -> list[str]:
    """The messages of some warnings (eval's record rows keep text)."""
    return [w.message for w in warnings]


def has(warnings, code: str) -> bool:
    return any(w.code == code for w in warnings)
