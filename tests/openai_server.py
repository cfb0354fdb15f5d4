"""A real local HTTP server speaking the OpenAI chat-completions protocol, for tests.

    with OpenAIServer(queue("not json", valid_adjustment(change_pct=4.0))) as server:
        LLMClient(LLMSettings(url=server.url, model="m")).run([...])
        server.chat_bodies  # every request body it received

A responder is called as responder(body, call_index) for each POST /v1/chat/completions (call_index counts from 0)
and returns a reply spec: a content string, an int HTTP status, the string "hang" (never answer), or a `Reply` for
anything else (a delay before replying, headers such as Retry-After, a finish_reason, a raw non-JSON body, a reply
trickled one byte at a time or one that hangs after its headers, a huge reply: `HUGE`, valid JSON padded with an
extra field to 50 MB; `ECHO_AUTH`, an error whose body echoes the request's Authorization header and path, as
proxies and debug servers do).

`server.fail = 503` (any reply spec) makes every chat request from then on get that instead (a server that starts
failing; `None` heals it); `server.peak_in_flight` is the most chat requests it was handling at once.

A trickled or hanging reply stops when the client hangs up; `server.hangups` records it (call index, time.monotonic()),
so a test can check that the client gave up on the server, not merely that it said so. `together(n, ...)` holds
requests until n are in at once: a test of concurrency asserts `peak_in_flight`, not a speed.
"""
from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

import pytest


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay: float = 0.0  # seconds to sleep before answering
    hang: bool = False  # never answer (until the server stops)
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    raw_body: str | None = None  # sent as is instead of a chat.completion / error JSON
    trickle: float = 0.0  # > 0: send the response one byte every `trickle` seconds, status line first
    trickle_from: str = "status"  # "body": send status line and headers at once, then trickle the body
    trickle_max_s: float = 30.0  # give up trickling (and close) after this long, so no test can hang on it
    hang_after_headers: bool = False  # send status line and headers (with Content-Length), then nothing
    pad_bytes: int = 0  # > 0: a huge reply, valid JSON plus an extra "padding" field of this many bytes
    pad_in: str = "content"  # "content": the padding is in the message content (a TrendAdjustment JSON, by default);
    # "body": beside a normal content, in the chat.completion body
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (no Content-Length: its size is unknown)
    echo_auth: bool = False  # the error message (or content) quotes the request's Authorization header and path


HANG = Reply(hang=True)
TRICKLE = Reply(trickle=1.0)  # one byte a second; with content None the reply is a valid TrendAdjustment
HUGE = Reply(pad_bytes=50 * 1024 * 1024)  # a 50 MB reply: a valid TrendAdjustment plus a huge extra field
ECHO_AUTH = Reply(status=401, echo_auth=True)  # "401: bad credentials in Authorization: Basic dXNlcjpw… for /v1/…"
ReplySpec = Union[str, int, Reply]
Responder = Callable[[dict, int], ReplySpec]


def as_reply(spec: ReplySpec) -> Reply:
    if isinstance(spec, Reply):
        return spec
    if isinstance(spec, bool) or not isinstance(spec, (str, int)):
        raise TypeError(f"a reply spec is a str, an int status or a Reply, not {spec!r}")
    if isinstance(spec, int):
        return Reply(status=spec)
    return HANG if spec == "hang" else Reply(content=spec)


def _responder(spec: ReplySpec | Responder) -> Responder:
    return spec if callable(spec) else (lambda body, i: spec)


# --- scripts ------------------------------------------------------------------------------------------------------

def always(spec: ReplySpec | Responder) -> Responder:
    """Every request gets this reply (or whatever this responder says)."""
    return _responder(spec)


def queue(*specs: ReplySpec | Responder, then: ReplySpec | Responder | None = None) -> Responder:
    """The i-th request gets the i-th reply; past the end `then`, or HTTP 500 "reply queue exhausted"."""
    def respond(body: dict, i: int) -> ReplySpec:
        if i < len(specs):
            return _responder(specs[i])(body, i)
        if then is not None:
            return _responder(then)(body, i)
        return Reply(status=500, content=f"reply queue exhausted after {len(specs)} replies")
    return respond


def fail_every(n: int, then: ReplySpec | Responder, status: int = 500) -> Responder:
    """Requests n, 2n, 3n, … (1-based) get HTTP `status`; the others `then`."""
    def respond(body: dict, i: int) -> ReplySpec:
        return Reply(status=status) if (i + 1) % n == 0 else _responder(then)(body, i)
    return respond


class together:
    """Responder: each request is held until `n` requests are held at once (then all of them go on), or for `wait_s`
    at most: a client that sends n at a time is answered at once, and `server.peak_in_flight` reaching n proves it did
    so whatever the machine's load; a client that sends fewer is slowed down (wait_s once: the barrier then stays
    open), never stuck. One instance may serve several servers: `peak` is the most requests it held at once."""

    def __init__(self, n: int, then: ReplySpec | Responder, wait_s: float = 10.0):
        self.then, self.wait_s = _responder(then), wait_s
        self.barrier = threading.Barrier(n)
        self.peak, self._held, self._lock = 0, 0, threading.Lock()

    def __call__(self, body: dict, i: int) -> ReplySpec:
        with self._lock:
            self._held += 1
            self.peak = max(self.peak, self._held)
        try:
            self.barrier.wait(self.wait_s)
        except threading.BrokenBarrierError:
            pass
        finally:
            with self._lock:
                self._held -= 1
        return self.then(body, i)


def sleep_each(seconds: float, then: ReplySpec | Responder) -> Responder:
    """Every request waits `seconds`, then gets `then`."""
    def respond(body: dict, i: int) -> ReplySpec:
        reply = as_reply(_responder(then)(body, i))
        return Reply(**{**reply.__dict__, "delay": reply.delay + seconds})
    return respond


# --- TrendAdjustment replies ----------------------------------------------------------------------------------------

_CITABLE = re.compile(r"evidence ids you may cite:\s*(.+)", re.IGNORECASE)


def evidence_ids_in(body: dict) -> list[str]:
    """The ids a prompt allows citing: its line "Evidence ids you may cite: D1, D2" (none: empty)."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            match = _CITABLE.search(message.get("content") or "")
            if match:
                ids = re.split(r"[,\s]+", match.group(1).strip().rstrip("."))
                return [x for x in ids if re.fullmatch(r"\w+", x) and x != "none"]
    return []


def adjustment_reply(body: dict, change_pct: float = 5.0, confidence: float = 0.6, flat_band_pct: float = 1.0,
                     cite: str | None = None) -> str:
    """A valid TrendAdjustment JSON for this request, citing `cite` or the first citable evidence id."""
    ids = evidence_ids_in(body)
    cite = cite if cite is not None else (ids[0] if ids else None)
    direction = "flat" if abs(change_pct) <= flat_band_pct else ("up" if change_pct > 0 else "down")
    drivers = [{"evidence_id": cite, "effect": "neutral" if direction == "flat" else direction,
                "note": "test driver"}] if cite else []
    return json.dumps({"direction": direction, "change_pct": change_pct, "confidence": confidence,
                       "drivers": drivers, "rationale": "Scripted reply from the test server."})


def valid_adjustment(**kwargs: Any) -> Responder:
    """Responder: a valid TrendAdjustment for each request (see adjustment_reply)."""
    return lambda body, i: adjustment_reply(body, **kwargs)


# --- the server -----------------------------------------------------------------------------------------------------

@dataclass
class RecordedRequest:
    method: str
    path: str
    body: dict | None
    headers: dict[str, str]  # Authorization left out
    has_auth: bool
    time: float
    size: int = 0  # bytes of the request body as received


class OpenAIServer:
    def __init__(self, responder: Responder | ReplySpec | None = None, *, model: str = "test-model",
                 api_key: str | None = None, models_reply: Reply | None = None):
        self.responder = _responder(responder if responder is not None else valid_adjustment())
        self.model = model
        self.models_reply = models_reply  # pacing (trickle, hang_after_headers, delay) for GET /v1/models
        self.hangups: list[tuple[int | None, float]] = []  # (chat call index or None, when): trickled, hanging replies
        self.api_key = api_key  # when set, requests without "Bearer <api_key>" get HTTP 401, as vllm --api-key does
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._chat_calls = 0
        self.fail: ReplySpec | None = None  # set: every chat request gets this reply instead of the responder's
        self.in_flight = 0
        self.peak_in_flight = 0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_bodies(self) -> list[dict]:
        return [r.body for r in self.requests if _route(r.path).endswith("/chat/completions") and r.body is not None]

    def hung_up_on(self, n: int, within: float = 2.0) -> list[int | None]:
        """The chat call indexes (None: a model list) of the replies the client hung up on, sorted, once n of them
        are recorded or `within` seconds passed (the server looks for a hang-up every 50 ms)."""
        until = time.monotonic() + within
        while len(self.hangups) < n and time.monotonic() < until:
            time.sleep(0.02)
        with self._lock:
            return sorted((index for index, _ in self.hangups), key=lambda i: -1 if i is None else i)

    def start(self) -> "OpenAIServer":
        self._httpd = _HTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, record: RecordedRequest) -> int | None:
        """Store a request; for a chat completion return its 0-based call index."""
        with self._lock:
            self._requests.append(record)
            if record.method == "POST" and _route(record.path).endswith("/chat/completions"):
                self._chat_calls += 1
                return self._chat_calls - 1
            return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:  # a client that gave up is not an error
        pass


def _make_handler(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as written (no 40 ms delayed-ACK stall per reply)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self._recorded(None)
            if _route(self.path) == "/v1/models":
                pace = server.models_reply or Reply()
                if pace.delay and server._stopping.wait(pace.delay):
                    return None
                self._send(200, {"object": "list", "data": [
                    {"id": server.model, "object": "model", "created": int(time.time()), "owned_by": "test"}]},
                    pace=pace)
            else:
                self._send(404, _error(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            index = self._recorded(body, length)
            if _route(self.path) != "/v1/chat/completions":
                return self._send(404, _error(404, f"no route {self.path}"))
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                return self._send(401, _error(401, "Unauthorized"))
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                return self._send(400, _error(400, "body must be a JSON object with messages"))
            with server._lock:
                server.in_flight += 1
                server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
            try:
                return self._answer(body, index)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _answer(self, body: dict, index: int | None) -> None:
            failing = server.fail
            reply = as_reply(server.responder(body, index) if failing is None else failing)
            if reply.hang:  # until the server stops (120 s at most) or the client hangs up, which is recorded
                if self._wait_for_hangup(120.0, time.monotonic() + 120.0):
                    with server._lock:
                        server.hangups.append((index, time.monotonic()))
                self.close_connection = True
                return None
            if reply.delay and server._stopping.wait(reply.delay):
                return None
            if reply.echo_auth:
                echoed = (f"bad credentials in Authorization: {self.headers.get('Authorization')!s} for {self.path} "
                          f"(api-key header: {self.headers.get('api-key')!s})")
                reply = Reply(**{**reply.__dict__, "content": f"{reply.content or ''} {echoed}".strip()})
            if ((reply.trickle or reply.hang_after_headers or reply.pad_bytes) and reply.content is None
                    and reply.raw_body is None):
                reply = Reply(**{**reply.__dict__, "content": adjustment_reply(body)})
            if reply.pad_bytes and reply.status == 200 and reply.raw_body is None:
                return self._send(200, _padded(body, index, reply), reply.headers, reply, index)
            if reply.raw_body is not None:
                return self._send(reply.status, reply.raw_body, reply.headers, reply, index)
            if reply.status != 200:
                return self._send(reply.status, _error(reply.status, reply.content), reply.headers, reply, index)
            return self._send(200, _completion(body, index, reply), reply.headers, reply, index)

        def _recorded(self, body: dict | None, size: int = 0) -> int | None:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "authorization"}
            return server._record(RecordedRequest(self.command, self.path, body, headers,
                                                  "Authorization" in self.headers, time.monotonic(), size))

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None,
                  pace: Reply | None = None, index: int | None = None) -> None:
            data = payload if isinstance(payload, bytes) else (
                payload if isinstance(payload, str) else json.dumps(payload)).encode("utf-8")
            if pace is not None and (pace.trickle or pace.hang_after_headers):
                return self._paced(status, data, headers or {}, pace, index)
            chunked = pace is not None and pace.chunked
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header(*(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(data)))))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                step = 1 << 20
                for start in range(0, len(data), step):  # a MB at a time, until the client hangs up
                    part = data[start:start + step]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _paced(self, status: int, data: bytes, headers: dict[str, str], pace: Reply, index: int | None) -> None:
            """The response written by hand: headers then nothing, or byte by byte until the client hangs up."""
            self.close_connection = True
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
            head = "".join([f"HTTP/1.1 {status} {phrase}\r\n", "Content-Type: application/json\r\n",
                            f"Content-Length: {len(data)}\r\n"] + [f"{k}: {v}\r\n" for k, v in headers.items()]
                           + ["\r\n"]).encode("latin-1")
            started, gone = time.monotonic(), False
            try:
                if pace.hang_after_headers or pace.trickle_from == "body":
                    self.wfile.write(head)
                    rest = b"" if pace.hang_after_headers else data
                else:
                    rest = head + data
                for i in range(len(rest)):
                    self.wfile.write(rest[i:i + 1])
                    gone = self._wait_for_hangup(pace.trickle, started + pace.trickle_max_s)
                    if gone is not False:
                        break
                if pace.hang_after_headers:
                    gone = self._wait_for_hangup(pace.trickle_max_s, started + pace.trickle_max_s)
            except OSError:  # broken pipe, reset: the client hung up
                gone = True
            if gone:
                with server._lock:
                    server.hangups.append((index, time.monotonic()))
            return None

        def _wait_for_hangup(self, seconds: float, give_up: float) -> bool | None:
            """Wait `seconds`: True as soon as the client hangs up, None when the server stops or it is time to
            give up, else False."""
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                if _client_gone(self.connection, timeout=min(0.05, max(0.0, until - time.monotonic()))):
                    return True
                if server._stopping.is_set() or time.monotonic() > give_up:
                    return None
            return False

    return Handler


def _client_gone(sock: socket.socket, timeout: float = 0.0) -> bool:
    """Has the peer closed (or shut down) its end, within `timeout`? A readable socket that reads nothing says so."""
    try:
        readable, _, _ = select.select([sock], [], [], timeout)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _completion(body: dict, index: int, reply: Reply) -> dict:
    prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body["messages"])
    completion_tokens = len((reply.content or "").split())
    return {
        "id": f"chatcmpl-test-{index}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                     "finish_reason": reply.finish_reason, "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _padded(body: dict, index: int, reply: Reply) -> bytes:
    """A chat.completion with `reply.pad_bytes` of padding: an extra "padding" field inside its content (when that is
    a JSON object, else appended to it) or beside the content in the completion body."""
    pad = "x" * reply.pad_bytes
    if reply.pad_in == "content":
        try:
            obj = json.loads(reply.content or "")
        except ValueError:
            obj = None
        content = json.dumps({**obj, "padding": pad}) if isinstance(obj, dict) else f"{reply.content} {pad}"
        return json.dumps(_completion(body, index, Reply(**{**reply.__dict__, "content": content}))).encode("utf-8")
    return json.dumps({**_completion(body, index, reply), "padding": pad}).encode("utf-8")


def _route(path: str) -> str:
    """A request path without its query string or trailing slash."""
    return path.partition("?")[0].rstrip("/")


def _error(status: int, message: str | None) -> dict:
    """vLLM's error body."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return {"object": "error", "message": message or phrase, "type": phrase.replace(" ", ""), "param": None,
            "code": status}


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def openai_server():
    """Factory fixture: openai_server(responder, **kwargs) starts a server, stopped after the test."""
    started: list[OpenAIServer] = []

    def start(responder: Responder | ReplySpec | None = None, **kwargs: Any) -> OpenAIServer:
        server = OpenAIServer(responder, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
