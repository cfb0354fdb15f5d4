"""The one LLM interface: a batch of chat requests with a JSON schema in, a list of validated results out.

`LLMClient(settings.llm, calllog).run(requests)` sends the requests concurrently (at most `llm.concurrency` at a
time on each server) to one or more OpenAI-compatible servers (vLLM, llama.cpp, llama-cpp-python, …; several spread
the load and stand in for one that is down: agent.llm.pool), asks for structured output in the
server's dialect (agent.llm.dialects: json_schema, json_object + schema, vLLM's structured_outputs; `auto` finds it),
validates each reply, re-asks with a precise message naming the problem's kind (agent.llm.problems) when it fails,
and never raises: each
`LLMResult` says ok or why not, in one line, whatever failed (the server, the call log, a bug). No request outlives
`llm.budget_s` of wall-clock time: the calling thread is a watchdog that cuts a request's connection at its deadline
and answers for it if its worker does not (see `LLMClient.run` for a batch's deadline). No reply is read past
`llm.max_reply_bytes`, nor echoed back to the model when it is over the cap (`replies.reask_turns`). Every message,
result and call-log row names the endpoint without its credentials, and masks them (`redact.Redactor`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from trendcast.agent.llm.batch import Batch
from trendcast.agent.llm.calllog import CallLog
from trendcast.agent.llm.dialects import DialectChoice
from trendcast.agent.llm.pool import Pool
from trendcast.agent.llm.redact import Redactor
from trendcast.agent.llm.replies import one_line
from trendcast.agent.llm.request_run import RequestRun
from trendcast.agent.llm.requests import ChatRequest, LLMResult, Ping
from trendcast.agent.llm.tokens import TokenCounter
from trendcast.agent.llm.transport import Connection
from trendcast.agent.llm.watchdog import Watchdog
from trendcast.agent.settings import LLMSettings


class LLMClient:
    def __init__(self, llm: LLMSettings, calllog: CallLog | None = None):
        self.llm = llm
        self.calllog = calllog
        self.pool = Pool(llm.urls, llm.concurrency, llm.cooldown_s)
        self.url = llm.urls[0] if llm.urls else ""  # the first server names the pool (cache keys, dialect memory)
        self.shown = ", ".join(e.shown for e in self.pool.endpoints)  # the URLs as messages name them
        self.redact = Redactor(",".join(llm.urls), llm.api_key)
        self._model = llm.model
        self._choices: dict[str, DialectChoice] = {}
        self._choices_lock = threading.Lock()
        self._tokens: TokenCounter | None = None

    @property
    def tokens(self) -> "TokenCounter":
        """Prompt token counts: the server's tokenizer where it has one, else an estimate (agent.llm.tokens)."""
        if self._tokens is None:
            self._tokens = TokenCounter(self.url, self._model, self._headers(), self.llm.timeout_s)
        return self._tokens

    def dialect_choice(self, model: str) -> DialectChoice:
        """The structured-output dialect for `model` at this server, shared by every request this client sends:
        the setting's, or under `auto` the one remembered in the call log for (url, model), else json_schema."""
        with self._choices_lock:
            choice = self._choices.get(model)
            if choice is None:
                log, remembered = self.calllog, None
                if self.llm.dialect == "auto" and log is not None:
                    try:
                        remembered = log.dialect_get(self.url, model)
                    except Exception:  # noqa: BLE001 - an unreadable memory only costs one refusal
                        remembered = None
                remember = None if log is None else (lambda d: log.dialect_put(self.url, model, d))
                choice = self._choices[model] = DialectChoice(self.llm.dialect, remembered, remember)
            return choice

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.llm.api_key}"} if self.llm.api_key else {}

    def ping(self) -> Ping:
        """Is a server up, and which models does it serve? `endpoints`: each server's own Ping (all checked at
        once). For `doctor`-style checks; never raises, and returns within min(timeout_s, 10) seconds (plus the
        watchdog's margin) whatever the servers do."""
        if not self.url:
            return Ping(False, None, error=_NOT_CONFIGURED)
        each = self.pool.ping_all(self._headers(), min(self.llm.timeout_s, 10.0), self.llm.max_reply_bytes,
                                  self.redact)
        up = [p for p in each if p.ok]
        first = (up or each)[0]
        return Ping(bool(up), self.shown, first.models, first.latency_s,
                    error=None if up else "; ".join(p.error or "" for p in each), endpoints=each)

    def models(self) -> list[str]:
        """Model ids the server serves (empty when it cannot be reached)."""
        return self.ping().models

    def run(self, requests: list[ChatRequest],
            progress: Callable[[int], None] | None = None) -> list[LLMResult]:
        """One LLMResult per request, in order; never raises. progress(1) is called as each one finishes (a
        rich/tqdm advance; an exception it raises is ignored).

        Deadlines, wall-clock, whatever the server does (trickling bytes, hanging after the headers): each request
        gets `budget_s` from when a worker picks it up (cache, model discovery, transport retries and re-asks
        included). `concurrency` requests run at a time, so a batch of n requests has the deadline
        `budget_s * ceil(n / concurrency)` from the call; a request picked up late gets what is left of it, and one
        not picked up by then fails without being sent. run() returns by that deadline plus at most half a second.
        """
        if not requests:
            return []
        if not self.url:
            return [LLMResult(False, error=_NOT_CONFIGURED, status="not_configured") for _ in requests]
        try:
            batch, since = Batch(self, len(requests)), self.pool.downs()
            results = Watchdog(
                len(requests), workers=batch.workers, deadline=batch.deadline, progress=progress,
                connect=lambda: Connection(self._headers(), self.llm.timeout_s, len(self.pool.endpoints)),
                start=lambda i, conn: RequestRun(batch, conn, requests[i]),
                late=lambda i: LLMResult(False, status="timeout", error=(
                    f"not sent: the LLM batch deadline ({batch.text}) passed before a worker was free")),
            ).run()
            notes = self.pool.notes(since)  # servers that were out during the batch: every answer says so
            for res in results:
                res.warnings = list(notes)
            return results
        except Exception as exc:  # noqa: BLE001 - a bug in the batch itself still gives one result per request
            error = self.redact(f"LLM batch failed inside trendcast: {one_line(exc)}")
            return [LLMResult(False, error=error, status="error") for _ in requests]


_NOT_CONFIGURED = (
    "no LLM configured (set TRENDCAST_LLM_URL to an OpenAI-compatible base URL, e.g. http://localhost:8000/v1)"
)
