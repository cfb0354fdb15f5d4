"""One POST to an OpenAI-compatible `/chat/completions`, its failures classified, and bounded transport retries.

Transient failures (timeouts, broken connections, HTTP 408, 429 and 5xx) are retried by tenacity with exponential
backoff (429 and 503: the server's Retry-After when it sends one), never past the caller's deadline. A refused
connection is not transient: nothing is listening, so it fails at once.

Timeouts bound each phase (connect, each read), not the whole call: a server that trickles a byte a second never
trips them. The hard bound is `Connection.abort()`, called by the client's watchdog at a request's deadline: it shuts
down the sockets the connection opened, which wakes whatever read or write is blocked on them.

A reply body is streamed and read up to `max_bytes`, no further: a bigger one comes back as a `Completion` with
`truncated` set, its first PREVIEW_BYTES kept for the log and its size (when the server declared it) — never parsed,
never held in memory whole. Error bodies are read up to ERROR_BODY_BYTES. Messages name the URL through
`redact.redact_url` (no credentials), and the base URL's query string, if any, follows the endpoint's path.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception

from trendcast.agent.llm.redact import redact_url

T = TypeVar("T")

MIN_TRY_S = 0.05  # no HTTP try is started with less time than this left
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0
DEFAULT_MAX_REPLY_BYTES = 1_048_576
PREVIEW_BYTES = 4096  # of a reply over the cap, this much is kept (for the call log)
ERROR_BODY_BYTES = 65_536
DETAIL_CHARS = 2000  # of a non-200 reply, this much is read (for its message)
CHUNK_BYTES = 65_536


class TransportError(Exception):
    """An HTTP-level failure. status: http_error | timeout | unreachable (the call log's vocabulary)."""

    def __init__(self, status: str, message: str, *, transient: bool = False, http_status: int | None = None,
                 retry_after: float | None = None, latency_s: float | None = None, detail: str | None = None):
        super().__init__(message)
        self.detail = detail  # the server's own error message (up to DETAIL_CHARS), for agent.llm.dialects
        self.status = status
        self.message = message
        self.transient = transient
        self.http_status = http_status
        self.retry_after = retry_after
        self.latency_s = latency_s


@dataclass
class Completion:
    content: str | None
    finish_reason: str | None
    latency_s: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    body: dict = field(default_factory=dict)
    size: int | None = None  # bytes of the reply body (declared by the server, or read); None: not known
    truncated: bool = False  # the body was over the cap: not read past it, content None, preview its first bytes
    preview: str = ""

    def size_text(self) -> str:
        return f"{self.size:,} bytes" if self.size is not None else "more bytes than the limit"

    @property
    def logged(self) -> str | None:
        """What the call log keeps of the reply: the content, or for a truncated reply its first bytes and size."""
        if not self.truncated:
            return self.content
        return f"{self.preview}\n… [truncated: the reply was {self.size_text()}; {len(self.preview):,} kept]"


class Connection:
    """One worker's HTTP client whose I/O another thread can cut short. Every TCP stream it opens is remembered
    (httpcore's `trace` request extension, passed by post_chat/get_models through `extensions`), and so is the phase
    the current call is in; `abort()` shuts the streams down. A connect in progress is bounded by its own timeout
    (its socket is not known before it connects) and shut down as soon as it completes."""

    def __init__(self, headers: dict[str, str], timeout: float, hosts: int = 1):
        # one request at a time; a connection kept alive to each of `hosts` servers (agent.llm.pool)
        limits = httpx.Limits(max_connections=hosts, max_keepalive_connections=hosts)
        # identity: the byte cap counts what the server sends, not what a compressed body might expand to
        self.http = httpx.Client(headers={"Accept-Encoding": "identity", **headers}, limits=limits, timeout=timeout)
        self.aborted = threading.Event()
        self.phase = "starting"
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self.extensions = {"trace": self._trace}

    def _trace(self, name: str, info: dict) -> None:
        step, _, stage = name.rpartition(".")
        if stage == "started" and step in _PHASES:
            self.phase = _PHASES[step]
        if name == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            with self._lock:
                self._streams.append(info["return_value"])
            if self.aborted.is_set():
                _shutdown(info["return_value"])

    def abort(self) -> None:
        """Make the call in progress (and any later one) fail at once; safe from any thread, idempotent."""
        self.aborted.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            _shutdown(stream)

    def close(self) -> None:
        try:
            self.http.close()
        except Exception:  # noqa: BLE001 - an aborted connection may already be half gone
            pass


_PHASES = {
    "connection.connect_tcp": "connecting", "connection.start_tls": "negotiating TLS",
    "http11.send_request_headers": "sending the request", "http11.send_request_body": "sending the request",
    "http11.receive_response_headers": "waiting for the reply",
    "http11.receive_response_body": "receiving the reply",
}


def _shutdown(stream: Any) -> None:
    try:
        sock = stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - already closed, or not a socket stream
        pass


def endpoint(url: str, path: str) -> str:
    """{url}/{path}, with url's query string (if any) after the path."""
    base, sep, query = url.partition("?")
    return f"{base.rstrip('/')}/{path}" + (f"?{query}" if sep else "")


def post_chat(http: httpx.Client, url: str, body: dict, timeout: float, extensions: dict | None = None,
              max_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> Completion:
    """POST body to {url}/chat/completions; a Completion (truncated when over max_bytes), or TransportError."""
    shown, started = redact_url(url), time.monotonic()
    head, data, size = _fetch(http, "POST", endpoint(url, "chat/completions"), shown, timeout, extensions, max_bytes,
                              json=body)
    latency = time.monotonic() - started
    if data is None:
        return Completion(content=None, finish_reason=None, latency_s=latency, size=size, truncated=True,
                          preview=head.preview)
    try:
        payload = json.loads(data)
        choice = payload["choices"][0]
        message = choice.get("message") or {}
        usage = payload.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise TransportError(
            "http_error", f"LLM at {shown} answered HTTP 200 with a body that is not a chat completion: "
            f"{_text(data[:200])!r}", latency_s=latency,
        ) from exc
    return Completion(
        content=message.get("content"), finish_reason=choice.get("finish_reason"), latency_s=latency,
        prompt_tokens=int(usage.get("prompt_tokens") or 0), completion_tokens=int(usage.get("completion_tokens") or 0),
        body=payload, size=size,
    )


def get_models(http: httpx.Client, url: str, timeout: float, extensions: dict | None = None,
               max_bytes: int = DEFAULT_MAX_REPLY_BYTES) -> list[str]:
    """Model ids served at {url}/models (vLLM serves one), or TransportError."""
    shown = redact_url(url)
    _, data, _ = _fetch(http, "GET", endpoint(url, "models"), shown, timeout, extensions, max_bytes)
    if data is None:
        raise TransportError("http_error", f"LLM at {shown}/models answered with more than {max_bytes:,} bytes")
    try:
        return [str(item["id"]) for item in json.loads(data)["data"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError("http_error", f"LLM at {shown}/models answered with no model list") from exc


class _Head:
    """A streamed response's status and headers, and the first bytes of a body that went over the cap."""

    def __init__(self, response: httpx.Response):
        self.status_code, self.headers, self.preview = response.status_code, response.headers, ""


def _fetch(http: httpx.Client, method: str, target: str, shown: str, timeout: float, extensions: dict | None,
           max_bytes: int, **kwargs: Any) -> tuple[_Head, bytes | None, int | None]:
    """Send a request and stream its body in, at most max_bytes of it: (head, the body or None when it is over the
    cap, its size: read, or declared, or None). A non-200 answer is raised as TransportError, as is any failure."""
    started = time.monotonic()
    try:
        with http.stream(method, target, timeout=timeout, extensions=extensions, **kwargs) as response:
            head, declared = _Head(response), _declared_size(response)
            limit = max_bytes if response.status_code == 200 else ERROR_BODY_BYTES
            data, over = _read(response, limit, PREVIEW_BYTES if declared is not None and declared > limit else None)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a TransportError
        raise _classify_exception(exc, shown, timeout, time.monotonic() - started) from exc
    if head.status_code != 200:
        raise _http_error(head, data, shown, time.monotonic() - started)
    if over:
        head.preview = _text(data[:PREVIEW_BYTES])
        return head, None, declared
    return head, data, len(data)


def _declared_size(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        return None
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _read(response: httpx.Response, limit: int, stop_at: int | None) -> tuple[bytes, bool]:
    """The body up to `limit` bytes (or, `stop_at` given, the first `stop_at` once the body is known to be over):
    (bytes, whether the body went over the limit)."""
    buf = bytearray()
    for chunk in response.iter_bytes(CHUNK_BYTES):
        buf += chunk
        if stop_at is not None and len(buf) >= stop_at:
            return bytes(buf), True
        if len(buf) > limit:
            return bytes(buf[:limit]), True
    return bytes(buf), stop_at is not None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def with_retries(fn: Callable[[int], T], *, max_retries: int, deadline: float) -> T:
    """fn(retry) with retry = 0, 1, ...: transient TransportErrors are retried up to max_retries times while the
    backoff still fits before `deadline` (time.monotonic()); otherwise the last error is raised."""
    retrying = Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, TransportError) and exc.transient),
        wait=_planned_wait,
        stop=_Stop(max_retries, deadline),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            return fn(attempt.retry_state.attempt_number - 1)
    raise AssertionError("unreachable: tenacity either returns or reraises")  # pragma: no cover


class _Stop:
    def __init__(self, max_retries: int, deadline: float):
        self.max_retries = max_retries
        self.deadline = deadline

    def __call__(self, state: RetryCallState) -> bool:
        if state.attempt_number > self.max_retries:
            return True
        return time.monotonic() + _planned_wait(state) + MIN_TRY_S >= self.deadline


def _planned_wait(state: RetryCallState) -> float:
    """Backoff before the next try, computed once per try (stop and wait both ask, in either order)."""
    planned = getattr(state, "_trendcast_wait", None)
    if planned is not None and planned[0] == state.attempt_number:
        return planned[1]
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransportError) and exc.retry_after is not None:
        wait = exc.retry_after
    else:
        wait = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (state.attempt_number - 1)) * random.uniform(0.8, 1.2)
    setattr(state, "_trendcast_wait", (state.attempt_number, wait))  # tenacity's state has no field of ours
    return wait


def _classify_exception(exc: Exception, url: str, timeout: float, latency: float) -> TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return TransportError("timeout", f"LLM at {url} did not answer within {timeout:.1f}s", transient=True,
                              latency_s=latency)
    if isinstance(exc, httpx.ConnectError):
        reason = "connection refused" if "refused" in str(exc).lower() else (str(exc) or type(exc).__name__)
        return TransportError("unreachable", f"LLM unreachable at {url}: {reason}", latency_s=latency)
    if isinstance(exc, httpx.TransportError):  # connection reset, protocol error: worth another try
        return TransportError("unreachable", f"connection to LLM at {url} failed: {exc or type(exc).__name__}",
                              transient=True, latency_s=latency)
    return TransportError("unreachable", f"LLM request to {url} failed: {type(exc).__name__}: {exc}",
                          latency_s=latency)


def _http_error(response: _Head, data: bytes, url: str, latency: float) -> TransportError:
    code = response.status_code
    detail = _server_message(data)
    message = f"LLM at {url} answered HTTP {code}" + (f": {detail[:200]}" if detail else "")
    return TransportError("http_error", message, transient=code in (408, 429) or code >= 500, http_status=code,
                          retry_after=_retry_after(response) if code in (429, 503) else None, latency_s=latency,
                          detail=detail)


def _server_message(data: bytes, limit: int = DETAIL_CHARS) -> str:
    try:
        payload: Any = json.loads(data)
    except ValueError:
        return " ".join(_text(data).split())[:limit]
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return " ".join(str(error.get("message", "") or error.get("detail", "") or error).split())[:limit]
        return " ".join(str(error).split())[:limit]
    return ""


def _retry_after(response: _Head) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
