"""The one LLM interface: a batch of chat requests with a JSON schema in, a list of validated results out.

`LLMClient(settings.llm, calllog).run(requests)` sends the requests concurrently (at most `llm.concurrency` at a
time) to an OpenAI-compatible server (vLLM), asks for structured output with `response_format` of type
`json_schema`, validates each reply, re-asks with the validation error when it fails, and never raises for LLM
problems: each `LLMResult` says ok or why not, in one line. No request outlives `llm.budget_s`.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
from pydantic import BaseModel

from agent.llm.calllog import CallLog, request_hash
from agent.llm.replies import clean_reply, describe_problem, reask_message
from agent.llm.transport import MIN_TRY_S, Completion, TransportError, get_models, post_chat, with_retries
from agent.schema import inline_refs
from agent.settings import LLMSettings

Message = dict[str, str]


@dataclass
class ChatRequest:
    """One question for the model, and how to check its reply: either `validate(text)` (returns the parsed value,
    raises ValidationError/ValueError) or `model_cls` validated from JSON under the pydantic `validation_context`.
    A rejection's message is shown to the model on a re-ask. json_schema None: the model_cls's schema, or, without
    model_cls, no structured output."""

    messages: list[Message]
    json_schema: dict | None = None
    schema_name: str | None = None
    validate: Callable[[str], Any] | None = None
    model_cls: type[BaseModel] | None = None
    validation_context: dict | None = None
    prompt_id: str | None = None  # e.g. "few-shot@1"
    tag: str | None = None  # e.g. "4431@2024-03-31" (series id and as-of), shown in the call log
    metadata: dict | None = None  # free JSON-able details for the call log

    def __post_init__(self) -> None:
        if (self.validate is None) == (self.model_cls is None):
            raise TypeError("ChatRequest needs exactly one of validate= or model_cls=")
        if self.model_cls is not None:
            if self.json_schema is None:
                self.json_schema = inline_refs(self.model_cls.model_json_schema())
            self.schema_name = self.schema_name or self.model_cls.__name__

    def parse(self, text: str) -> Any:
        """The validated value of a reply's text, or the exception that rejects it."""
        if self.validate is not None:
            return self.validate(text)
        return self.model_cls.model_validate_json(text, context=self.validation_context)

    def response_format(self) -> dict | None:
        if self.json_schema is None:
            return None
        return {"type": "json_schema", "json_schema": {"name": self.schema_name or "answer",
                                                        "schema": self.json_schema, "strict": True}}


@dataclass
class LLMResult:
    ok: bool
    value: Any = None  # what validate returned (ok only)
    error: str | None = None  # one line (not ok only)
    status: str = "ok"  # ok | cache_hit | invalid | http_error | timeout | unreachable | not_configured
    attempts: int = 0  # asks sent (1 + re-asks); 0 for a cache hit
    calls: int = 0  # HTTP calls, transport retries included
    cached: bool = False
    latency_s: float = 0.0  # wall time for the whole request
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    raw: str | None = None  # the last reply's text as the server sent it
    model: str | None = None


@dataclass
class Ping:
    ok: bool
    url: str | None
    models: list[str] = field(default_factory=list)
    latency_s: float = 0.0
    error: str | None = None


class LLMClient:
    def __init__(self, llm: LLMSettings, calllog: CallLog | None = None):
        self.llm = llm
        self.calllog = calllog
        self.url = (llm.url or "").rstrip("/")
        self._model = llm.model

    def _http(self, connections: int) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.llm.api_key}"} if self.llm.api_key else {}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.Client(headers=headers, limits=limits, timeout=self.llm.timeout_s)

    def ping(self) -> Ping:
        """Is the server up, and which models does it serve? For `doctor`-style checks; never raises."""
        if not self.url:
            return Ping(False, None, error=_NOT_CONFIGURED)
        started = time.monotonic()
        try:
            with self._http(1) as http:
                models = get_models(http, self.url, min(self.llm.timeout_s, 10.0))
        except TransportError as exc:
            return Ping(False, self.url, latency_s=time.monotonic() - started, error=exc.message)
        return Ping(True, self.url, models, time.monotonic() - started)

    def models(self) -> list[str]:
        """Model ids the server serves (empty when it cannot be reached)."""
        return self.ping().models

    def run(self, requests: list[ChatRequest],
            progress: Callable[[int], None] | None = None) -> list[LLMResult]:
        """One LLMResult per request, in order. progress(1) is called as each one finishes (a rich/tqdm advance)."""
        if not requests:
            return []
        if not self.url:
            return [LLMResult(False, error=_NOT_CONFIGURED, status="not_configured") for _ in requests]
        workers = max(1, min(self.llm.concurrency, len(requests)))
        results: list[LLMResult | None] = [None] * len(requests)
        with self._http(workers) as http, ThreadPoolExecutor(workers, thread_name_prefix="llm") as pool:
            model_error = self._resolve_model(http)
            futures = {pool.submit(_Run(self, http, req, model_error).execute): i for i, req in enumerate(requests)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(1)
        return results  # type: ignore[return-value]

    def _resolve_model(self, http: httpx.Client) -> TransportError | None:
        """Without a configured model, use the first one the server lists (vLLM serves one). The error, if any."""
        if self._model is not None:
            return None
        try:
            models = get_models(http, self.url, min(self.llm.timeout_s, self.llm.budget_s))
        except TransportError as exc:
            return TransportError(exc.status, f"cannot find the model to use: {exc.message}")
        if not models:
            return TransportError("http_error", f"no model configured and {self.url}/models lists none")
        self._model = models[0]
        return None


_NOT_CONFIGURED = (
    "no LLM configured (set TRENDCAST_LLM_URL to an OpenAI-compatible base URL, e.g. http://localhost:8000/v1)"
)


class _Run:
    """The life of one request: cache, asks, transport retries, re-asks, logging."""

    def __init__(self, client: LLMClient, http: httpx.Client, req: ChatRequest, model_error: TransportError | None):
        self.c, self.llm, self.http, self.req = client, client.llm, http, req
        self.model_error = model_error
        self.started = self.deadline = 0.0
        self.result = LLMResult(False, status="timeout")
        self.last_row: int | None = None
        self.tries = 0  # HTTP tries in the current attempt
        self.model = client._model
        self.key: str | None = None

    def execute(self) -> LLMResult:
        req, llm, res = self.req, self.llm, self.result
        self.started = time.monotonic()  # the budget runs from when a worker picks the request up
        self.deadline = self.started + llm.budget_s
        if self.model_error is not None:
            return self._fail(self.model_error.status, self.model_error.message)
        res.model = self.model
        response_format = req.response_format()
        self.key = request_hash(self.c.url, self.model, req.messages, response_format, llm.temperature,
                                llm.max_tokens)
        if self._cacheable() and self._from_cache():
            return res
        messages = list(req.messages)
        problem = None
        for attempt in range(1, llm.max_reasks + 2):
            if self.deadline - time.monotonic() < MIN_TRY_S:
                why = f"; last reply failed validation: {problem}" if problem else ""
                return self._fail("timeout", f"LLM time budget of {llm.budget_s:g}s used up after "
                                             f"{attempt - 1} attempt(s){why}")
            body = {"model": self.model, "messages": messages, "temperature": llm.temperature,
                    "max_tokens": llm.max_tokens}
            if response_format is not None:
                body["response_format"] = response_format
            res.attempts = attempt
            try:
                done = with_retries(partial(self._try, body, attempt), max_retries=llm.max_retries,
                                    deadline=self.deadline)
            except TransportError as exc:
                tries = f" (after {self.tries} tries)" if self.tries > 1 else ""
                return self._fail(exc.status, exc.message + tries)
            res.raw = done.content
            try:
                value = req.parse(clean_reply(done.content))
            except Exception as exc:  # noqa: BLE001 - any rejection by validate is the model's to fix
                problem = describe_problem(exc)
                if done.finish_reason == "length":
                    problem = f"the reply was cut off at max_tokens={llm.max_tokens}; {problem}"
                self._log(done, body, attempt, 0, "invalid", error=problem)
                messages = messages + [{"role": "assistant", "content": done.content or ""},
                                       {"role": "user", "content": reask_message(problem, done.finish_reason,
                                                                                 llm.max_tokens)}]
                continue
            parsed = _dump(value)
            self._log(done, body, attempt, 0, "ok", parsed=parsed, final=True)
            if self._cacheable() and self.c.calllog is not None:
                self.c.calllog.cache_put(self.key, self.model, done.content or "", parsed)
            res.ok, res.value, res.status = True, value, "ok"
            return self._finish()
        return self._fail("invalid", f"LLM reply failed validation {res.attempts} times: {problem}")

    def _try(self, body: dict, attempt: int, retry: int) -> Completion:
        left = self.deadline - time.monotonic()
        if left < MIN_TRY_S:
            raise TransportError("timeout", f"LLM time budget of {self.llm.budget_s:g}s used up")
        self.result.calls += 1
        self.tries = retry + 1
        try:
            done = post_chat(self.http, self.c.url, body, min(self.llm.timeout_s, left))
        except TransportError as exc:
            self._record(body, attempt, retry, exc.status, error=exc.message, latency_s=exc.latency_s)
            raise
        self.result.usage["prompt_tokens"] += done.prompt_tokens
        self.result.usage["completion_tokens"] += done.completion_tokens
        return done

    def _cacheable(self) -> bool:
        return self.llm.use_cache and self.llm.temperature == 0 and self.c.calllog is not None

    def _from_cache(self) -> bool:
        hit = self.c.calllog.cache_get(self.key)
        if hit is None:
            return False
        try:  # validate again: the validation context may differ from the one that cached it
            value = self.req.parse(clean_reply(hit["reply_raw"]))
        except Exception:  # noqa: BLE001 - a stale entry is simply not used
            return False
        res = self.result
        res.ok, res.value, res.status, res.cached, res.raw = True, value, "cache_hit", True, hit["reply_raw"]
        self._record({"messages": self.req.messages, "response_format": self.req.response_format()}, 0, 0,
                     "cache_hit", raw=hit["reply_raw"], parsed=_dump(value), latency_s=0.0, final=True)
        return True

    def _log(self, done: Completion, body: dict, attempt: int, retry: int, status: str, *, error: str | None = None,
             parsed: str | None = None, final: bool = False) -> None:
        self._record(body, attempt, retry, status, raw=done.content, parsed=parsed, error=error,
                     latency_s=done.latency_s, tokens=(done.prompt_tokens, done.completion_tokens), final=final)

    def _record(self, body: dict, attempt: int, retry: int, status: str, *, raw: str | None = None,
                parsed: str | None = None, error: str | None = None, latency_s: float | None = None,
                tokens: tuple[int, int] | None = None, final: bool = False) -> None:
        log = self.c.calllog
        if log is None:
            return
        self.last_row = log.record(
            status=status, model=self.model, url=self.c.url, prompt_id=self.req.prompt_id, tag=self.req.tag,
            attempt=attempt, retry=retry, messages=body.get("messages"), response_format=body.get("response_format"),
            raw_reply=raw, parsed_json=parsed, error=error, latency_s=latency_s,
            prompt_tokens=tokens[0] if tokens else None, completion_tokens=tokens[1] if tokens else None,
            cached=status == "cache_hit", request_hash=self.key, final=final, metadata=self.req.metadata,
        )

    def _fail(self, status: str, error: str) -> LLMResult:
        res = self.result
        res.ok, res.status, res.error = False, status, " ".join(error.split())
        if self.c.calllog is not None:
            if self.last_row is not None:
                self.c.calllog.mark_final(self.last_row)
            else:  # nothing was sent: leave one row saying why
                self._record({"messages": self.req.messages}, res.attempts, 0, status, error=res.error,
                             latency_s=0.0, final=True)
        return self._finish()

    def _finish(self) -> LLMResult:
        self.result.latency_s = time.monotonic() - self.started
        return self.result


def _dump(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
