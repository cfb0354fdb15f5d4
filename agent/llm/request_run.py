"""The life of one request of an `LLMClient.run` batch (agent.llm.client): cache, model, asks in the server's
structured-output dialect, transport retries over the pool's servers (agent.llm.pool), re-asks after a reply that
fails validation, the call log. `RequestRun(batch, conn, req).execute()` never raises; the batch's watchdog may
`cut` it at its deadline and answer for it with `abandoned`.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from functools import partial

from trendcast.agent.llm import dialects, problems
from trendcast.agent.llm.batch import Batch
from trendcast.agent.llm.calllog import CallLog, request_hash
from trendcast.agent.llm.dialects import DialectChoice
from trendcast.agent.llm.pool import Endpoint, is_outage
from trendcast.agent.llm.replies import (clean_reply, describe_problem, dump_value, one_line, oversize_problem,
                                         reask_turns)
from trendcast.agent.llm.requests import ChatRequest, LLMResult
from trendcast.agent.llm.transport import MIN_TRY_S, Completion, Connection, TransportError, post_chat, with_retries


class _Refused(Exception):
    """The server refused the structured-output dialect (agent.llm.dialects.is_refusal), under `auto`."""


def _schema_part(body: dict):
    """What of a body carries the schema, for the call log: response_format, or vLLM's structured_outputs."""
    if "structured_outputs" in body:
        return {"structured_outputs": body["structured_outputs"]}
    return body.get("response_format")


class _LogError(Exception):
    """The call log failed: the request it belongs to cannot be audited, so it fails (the batch goes on)."""


class RequestRun:
    """The life of one request: cache, asks, transport retries, re-asks, logging. execute() never raises."""

    def __init__(self, batch: Batch, conn: Connection, req: ChatRequest):
        self.b, self.c, self.llm, self.conn, self.req = batch, batch.c, batch.c.llm, conn, req
        self.started = time.monotonic()  # the budget runs from when a worker picks the request up
        self.deadline = min(self.started + self.llm.budget_s, batch.deadline)
        self.first_wave = batch.pick_up()
        self.result = LLMResult(False, status="timeout")
        self.last_row: int | None = None
        self.tries = 0  # HTTP tries in the current attempt
        self.model: str | None = None
        self.key: str | None = None
        self.doing: str | None = None  # see _busy
        self.cut_at: float | None = None
        self.cut_reason: str | None = None
        self.choice: DialectChoice | None = None
        self.sending: str | None = None  # the dialect of the call in flight
        self.endpoint: Endpoint | None = None  # the server of the call in flight (or the last one)

    def budget_message(self, detail: str) -> str:
        # picked up late (after the first wave): the batch's deadline came first
        if not self.first_wave and self.deadline < self.started + self.llm.budget_s - 0.25:
            return f"the LLM batch deadline ({self.b.text}) passed {detail}"
        return f"LLM time budget of {self.llm.budget_s:g}s used up {detail}"

    def cut(self, now: float) -> None:
        """Called by the watchdog: stop this request's I/O now."""
        self.cut_reason = self.budget_message(f"while {self.doing or self.conn.phase} (LLM at {self.shown})")
        self.cut_at = now
        self.conn.abort()

    def abandoned(self, now: float) -> LLMResult:
        """The watchdog's answer for a cut request whose worker did not report."""
        res = self.result
        error = self.c.redact(" ".join((self.cut_reason or "timed out").split()))
        return LLMResult(False, status="timeout", error=error,
                         attempts=res.attempts, calls=res.calls, latency_s=now - self.started,
                         usage=dict(res.usage), model=self.model)

    def execute(self) -> LLMResult:
        try:
            return self._execute()
        except _LogError as exc:
            return self._fail("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug fails this request, not the batch
            return self._fail("error", f"LLM request failed inside trendcast: {one_line(exc)}")

    def _execute(self) -> LLMResult:
        req, llm, res = self.req, self.llm, self.result
        with self._busy("finding the model"):
            self.model, model_error = self.b.model_for(self)
        if model_error is not None:
            return self._fail(model_error.status, model_error.message)
        res.model = self.model
        if req.json_schema is not None:
            self.choice = self.c.dialect_choice(self.model)
        response_format = req.response_format()
        self.key = request_hash(self.c.url, self.model, req.messages, response_format, llm.temperature,
                                llm.max_tokens)
        if self._cacheable() and self._from_cache():
            return self._finish()
        messages = list(req.messages)
        problem = None
        for attempt in range(1, llm.max_reasks + 2):
            if self.deadline - time.monotonic() < MIN_TRY_S or self.conn.aborted.is_set():
                why = f"; last reply failed validation: {problem}" if problem else ""
                return self._fail("timeout", self.cut_reason or self.budget_message(f"after {attempt - 1} "
                                                                                   f"attempt(s){why}"))
            body = {"model": self.model, "messages": messages, "temperature": llm.temperature,
                    "max_tokens": llm.max_tokens}
            res.attempts = attempt
            try:
                done, body = self._send(body, attempt)
            except TransportError as exc:
                tries = f" (after {self.tries} tries)" if self.tries > 1 else ""
                return self._fail(exc.status, exc.message + tries)
            res.raw = done.logged
            try:
                if done.truncated:
                    raise ValueError(oversize_problem(done.size, llm.max_reply_bytes))
                with self._busy("validating the reply"):
                    value = req.parse(clean_reply(done.content))
            except Exception as exc:  # noqa: BLE001 - any rejection by validate is the model's to fix
                kind = problems.classify(exc, done.content, done.finish_reason, done.truncated)
                problem = problems.problem_text(kind, describe_problem(exc), done.content, llm.max_tokens)
                if kind == "length":
                    problem = f"the reply was cut off at max_tokens={llm.max_tokens}; {problem}"
                res.problems.append(kind)
                self._log(done, body, attempt, 0, "invalid", error=f"{kind}: {problem}", problem=kind)
                echoed = (done.content or "").strip() if kind == "whitespace_runaway" else done.content
                messages = messages + reask_turns(echoed, problem, done.finish_reason, llm.max_tokens,
                                                  truncated=done.truncated, size=done.size)
                continue
            parsed = dump_value(value)
            self._log(done, body, attempt, 0, "ok", parsed=parsed, final=True)
            if self._cacheable():
                self._cache_put(done.content or "", parsed)
            res.ok, res.value, res.status = True, value, "ok"
            return self._finish()
        return self._fail("invalid", f"LLM reply failed validation {res.attempts} times: {problem} "
                          f"(rejected as: {', '.join(res.problems)})")

    def _send(self, body: dict, attempt: int) -> tuple[Completion, dict]:
        """One ask (transport retries included): the completion and the body as sent. With a schema, the body asks
        in the client's dialect; under `auto` a refusal naming it moves to the next dialect, and while the dialect is
        not settled one request probes at a time (the others wait for it), so a batch pays at most one refused
        request per dialect the server does not take."""
        choice, llm = self.choice, self.llm
        if choice is None:
            return with_retries(partial(self._try, body, attempt), max_retries=llm.max_retries,
                                deadline=self.deadline), body
        schema = self.req.json_schema
        assert schema is not None  # a dialect choice is made only for a request with a schema (__init__)
        held = False
        if not choice.settled:
            with self._busy("waiting for another request to find the server's structured-output dialect"):
                held = choice.lock.acquire(timeout=max(0.0, self.deadline - time.monotonic()))
            if not held:
                raise TransportError("timeout", self.budget_message(
                    "waiting for another request to find the server's structured-output dialect"))
            if choice.settled:  # found while this one waited: no need to hold the others up
                choice.lock.release()
                held = False
        try:
            for _ in range(len(dialects.DIALECTS)):
                dialect = self.sending = self.result.dialect = choice.current  # as sent, answered or not
                sent = dialects.apply(body, dialect, self.req.schema_name or "answer", schema)
                try:
                    done = with_retries(partial(self._try, sent, attempt), max_retries=llm.max_retries,
                                        deadline=self.deadline)
                except _Refused as refused:
                    self.result.switched_from.append(dialect)
                    if choice.refused(dialect) is None:
                        raise TransportError("http_error", f"{refused} (structured output sent as {dialect}; "
                                             "no other dialect left to try)") from None
                    continue
                choice.accepted(dialect)
                return done, sent
            raise TransportError("http_error", f"the server at {self.c.shown} refused every structured-output "
                                 f"dialect ({', '.join(self.result.switched_from)})")
        finally:
            if held:
                choice.lock.release()

    @property
    def shown(self) -> str:
        return self.endpoint.shown if self.endpoint is not None else self.c.shown

    def _try(self, body: dict, attempt: int, retry: int) -> Completion:
        """One try on the pool: a server that fails it as an outage hands it to the next in the rotation at once
        (each server once); the last failure is raised, for with_retries to retry after a backoff or not."""
        tried: tuple[Endpoint, ...] = ()
        while True:
            with self._busy("waiting for a free LLM server"):
                ep = self.c.pool.acquire(self.deadline, tried, self.conn.aborted)
            if ep is None:
                raise TransportError("timeout", self.cut_reason or self.budget_message("waiting for a free LLM server"))
            self.endpoint, tried, failed = ep, tried + (ep,), None
            try:
                return self._try_on(body, attempt, retry)
            except TransportError as exc:
                failed = None if self.conn.aborted.is_set() else exc  # a cut is the budget's doing, not the server's
                if failed is None or not is_outage(exc) or not self.c.pool.another(tried):
                    raise
            finally:
                self.c.pool.release(ep, failed)

    def _try_on(self, body: dict, attempt: int, retry: int) -> Completion:
        left, ep = self.deadline - time.monotonic(), self.endpoint
        assert ep is not None  # _try sets it before each try
        if left < MIN_TRY_S or self.conn.aborted.is_set():
            raise TransportError("timeout", self.cut_reason or self.budget_message(""))
        self.result.calls += 1
        self.tries = retry + 1
        try:
            done = post_chat(self.conn.http, ep.url, body, min(self.llm.timeout_s, left),
                             self.conn.extensions, self.llm.max_reply_bytes)
        except TransportError as exc:
            if self.conn.aborted.is_set():  # cut by the watchdog: what broke is the budget, and it is not retried
                exc = TransportError("timeout", self.cut_reason or self.budget_message(""), latency_s=exc.latency_s)
            elif exc.status == "timeout" and left < self.llm.timeout_s:  # the budget's doing, not timeout_s's
                exc = TransportError("timeout", self.budget_message(f"while {self.conn.phase} (LLM at {self.shown})"),
                                     latency_s=exc.latency_s)
            # the dialect choice when the server refused the dialect it was sent in, else None
            refused = (self.choice if self.choice is not None and exc.status == "http_error"
                       and dialects.is_refusal(exc.http_status, exc.detail) else None)
            if refused is not None and not refused.auto:  # a fixed dialect the server does not take: no use retrying
                exc = TransportError("http_error", f"{exc.message} (structured output sent as {self.sending}; "
                                     "TRENDCAST_LLM_DIALECT=auto finds the dialect the server takes)",
                                     http_status=exc.http_status, latency_s=exc.latency_s, detail=exc.detail)
            self._record(body, attempt, retry, exc.status, error=exc.message, latency_s=exc.latency_s)
            if refused is not None and refused.auto:
                raise _Refused(exc.message) from None
            raise exc from None
        self.result.usage["prompt_tokens"] += done.prompt_tokens
        self.result.usage["completion_tokens"] += done.completion_tokens
        return done

    def _cacheable(self) -> bool:
        return self.llm.use_cache and self.llm.temperature == 0 and self.c.calllog is not None

    def _from_cache(self) -> bool:
        try:
            with self._busy("reading the reply cache"):
                hit = self.c.calllog.cache_get(self.key)
        except Exception:  # noqa: BLE001 - a cache that cannot be read is a miss (a broken log fails below)
            hit = None
        if hit is None:
            return False
        try:  # validate again: the validation context may differ from the one that cached it
            value = self.req.parse(clean_reply(hit["reply_raw"]))
        except Exception:  # noqa: BLE001 - a stale entry is simply not used
            return False
        self._record({"messages": self.req.messages, "response_format": self.req.response_format()}, 0, 0,
                     "cache_hit", raw=hit["reply_raw"], parsed=dump_value(value), latency_s=0.0, final=True)
        res = self.result
        res.ok, res.value, res.status, res.cached, res.raw = True, value, "cache_hit", True, hit["reply_raw"]
        return True

    def _cache_put(self, reply: str, parsed: str | None) -> None:
        try:
            with self._busy("writing the reply cache"):
                self.c.calllog.cache_put(self.key, self.model, reply, parsed)
        except Exception:  # noqa: BLE001 - the reply is valid and logged; only its cache entry is lost
            pass

    def _log(self, done: Completion, body: dict, attempt: int, retry: int, status: str, *, error: str | None = None,
             parsed: str | None = None, final: bool = False, problem: str | None = None) -> None:
        self._record(body, attempt, retry, status, raw=done.logged, parsed=parsed, error=error,
                     latency_s=done.latency_s, tokens=(done.prompt_tokens, done.completion_tokens), final=final,
                     problem=problem)

    def _record(self, body: dict, attempt: int, retry: int, status: str, *, raw: str | None = None,
                parsed: str | None = None, error: str | None = None, latency_s: float | None = None,
                tokens: tuple[int, int] | None = None, final: bool = False, problem: str | None = None) -> None:
        log = self.c.calllog
        if log is None:
            return
        try:
            with self._busy("writing the call log"):
                self.last_row = log.record(
                    status=status, model=self.model, url=self.endpoint.url if self.endpoint else self.c.url,
                    prompt_id=self.req.prompt_id, tag=self.req.tag,
                    attempt=attempt, retry=retry, messages=body.get("messages"),
                    response_format=_schema_part(body), raw_reply=self.c.redact(raw), parsed_json=parsed,
                    error=self.c.redact(error),
                    latency_s=latency_s, prompt_tokens=tokens[0] if tokens else None,
                    completion_tokens=tokens[1] if tokens else None, cached=status == "cache_hit",
                    request_hash=self.key, final=final, metadata=self.req.metadata,
                    dialect=None if status == "cache_hit" else self.sending, problem=problem,
                )
        except Exception as exc:  # noqa: BLE001
            raise _LogError(_log_error(log, exc)) from exc

    def _fail(self, status: str, error: str) -> LLMResult:
        res = self.result
        res.ok, res.value, res.status, res.error = False, None, status, self.c.redact(" ".join(error.split()))
        log = self.c.calllog
        if log is not None:
            try:
                if self.last_row is not None:
                    log.mark_final(self.last_row)
                else:  # nothing was logged: leave one row saying why
                    self._record({"messages": self.req.messages}, res.attempts, 0, status, error=res.error,
                                 latency_s=0.0, final=True)
            except Exception as exc:  # noqa: BLE001 - the failure stands; say that it is not logged either
                if "call log" not in res.error:
                    res.error += f"; not logged: {_log_error(log, exc)}"
        return self._finish()

    @contextmanager
    def _busy(self, doing: str):
        """What the request is busy with outside HTTP, for the watchdog's message should it be cut then."""
        self.doing = doing
        try:
            yield
        finally:
            self.doing = None

    def _finish(self) -> LLMResult:
        self.result.latency_s = time.monotonic() - self.started
        self.result.server = self.endpoint.shown if self.endpoint is not None else None
        return self.result


def _log_error(log: CallLog, exc: BaseException) -> str:
    if isinstance(exc, _LogError):
        return str(exc)
    return f"the LLM call log {getattr(log, 'path', '')} could not be written ({one_line(exc)})"
