"""Many OpenAI-compatible servers behind one client: which one each HTTP try goes to, and which are out.

`Pool(urls, per_server, cooldown_s)`: every try takes a slot with `acquire` and gives it back with `release`. A try
goes to the server with the fewest requests in flight (ties in turn), never more than `per_server` at a time on one
server; a caller that waits for a free slot waits until its deadline at most. A server is taken out of the rotation
when a connection to it is refused, or after FAIL_LIMIT outages in a row (5xx, timeouts, dropped connections); it
comes back for a new try (a probe) `cooldown_s` later, or when the server's Retry-After says. An answer, even an
HTTP 4xx, puts it back. When every server is out, tries go to the one due back first: it fails at once (or answers),
so the client's bounded retries and the callers' fallbacks hold as with one server. One server: the pool is that
server, as before.

`ping_all` checks every server at once (`trendcast llm ping`), and `notes` says which servers were out during a run,
for the answers' warnings.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from trendcast.agent.llm.redact import redact_url
from trendcast.agent.llm.replies import one_line
from trendcast.agent.llm.requests import Ping
from trendcast.agent.llm.transport import Connection, TransportError, get_models
from trendcast.agent.llm.watchdog import bounded

FAIL_LIMIT = 3  # outages in a row that take a server out of the rotation (a refused connection takes it out at once)
WAIT_STEP_S = 0.1


@dataclass
class Endpoint:
    url: str
    shown: str  # the URL as messages name it (no credentials)
    in_flight: int = 0
    sent: int = 0  # tries it was given
    failures: int = 0  # outages in a row
    dead_until: float = 0.0  # time.monotonic() until which it is out of the rotation
    downs: int = 0  # times it was taken out
    why: str | None = None  # the failure that took it out last

    def out(self, now: float) -> bool:
        return now < self.dead_until


def is_outage(exc: TransportError) -> bool:
    """Does this failure say the server is not serving (as opposed to answering, if with an error)?"""
    return exc.status in ("unreachable", "timeout") or (exc.http_status or 0) >= 500 or (
        exc.status == "http_error" and exc.http_status is None)


class Pool:
    def __init__(self, urls: list[str], per_server: int, cooldown_s: float):
        self.endpoints = [Endpoint(u, redact_url(u)) for u in urls]
        self.per_server, self.cooldown_s = per_server, cooldown_s
        self._cond = threading.Condition()
        self._turn = 0

    @property
    def capacity(self) -> int:
        return self.per_server * len(self.endpoints)

    def acquire(self, deadline: float, avoid: tuple[Endpoint, ...] = (),
                aborted: threading.Event | None = None) -> Endpoint | None:
        """A slot on the server for the next try (one not in `avoid` while another is in the rotation); waits for a
        free one until `deadline` (time.monotonic()) or `aborted`: None then."""
        with self._cond:
            while True:
                now = time.monotonic()
                ep = self._pick(now, avoid)
                if ep is not None:
                    ep.in_flight += 1
                    ep.sent += 1
                    return ep
                if now >= deadline or (aborted is not None and aborted.is_set()):
                    return None
                self._cond.wait(min(deadline - now, WAIT_STEP_S))

    def _pick(self, now: float, avoid: tuple[Endpoint, ...]) -> Endpoint | None:
        n = len(self.endpoints)
        order = [self.endpoints[(self._turn + k) % n] for k in range(n)]
        live = [e for e in order if not e.out(now)] or [min(order, key=lambda e: e.dead_until)]
        live = [e for e in live if e not in avoid] or live
        free = [e for e in live if e.in_flight < self.per_server]
        if not free:
            return None
        ep = min(free, key=lambda e: e.in_flight)
        self._turn = (self.endpoints.index(ep) + 1) % n
        return ep

    def release(self, ep: Endpoint, error: TransportError | None = None) -> None:
        """The try on `ep` is over: answered (error None, or one that is not an outage), or failed with `error`."""
        with self._cond:
            ep.in_flight -= 1
            if error is None or not is_outage(error):
                ep.failures, ep.dead_until = 0, 0.0
            else:
                ep.failures += 1
                if ep.failures >= FAIL_LIMIT or not error.transient:
                    ep.dead_until = time.monotonic() + (error.retry_after or self.cooldown_s)
                    ep.downs += 1
                    ep.why = " ".join(error.message.split())
            self._cond.notify_all()

    def another(self, avoid: tuple[Endpoint, ...]) -> bool:
        """Is a server not in `avoid` in the rotation (for a failed try to move to at once)?"""
        now = time.monotonic()
        with self._cond:
            return any(e not in avoid and not e.out(now) for e in self.endpoints)

    def downs(self) -> list[int]:
        with self._cond:
            return [e.downs for e in self.endpoints]

    def notes(self, since: list[int]) -> list[str]:
        """One line per server taken out of the rotation since `since` (a `downs()`), or out now."""
        if len(self.endpoints) < 2:
            return []
        now, out = time.monotonic(), []
        with self._cond:
            live = sum(not e.out(now) for e in self.endpoints)
            for e, before in zip(self.endpoints, since):
                if e.downs > before or e.out(now):
                    state = (f"out of the rotation for {e.dead_until - now:.0f}s more" if e.out(now)
                             else "back in the rotation")
                    out.append(f"LLM server {e.shown} was taken out of the rotation ({e.why}); {state}; "
                               f"{live} of {len(self.endpoints)} servers answering")
        return out

    def ping_all(self, headers: dict[str, str], limit: float, max_bytes: int, redact) -> list[Ping]:
        """Every server's Ping, checked at once; a server that does not answer is taken out of the rotation."""
        def one(ep: Endpoint) -> Ping:
            started, conn = time.monotonic(), Connection(headers, limit)
            done, models, exc = bounded(lambda: get_models(conn.http, ep.url, limit, conn.extensions, max_bytes),
                                        conn, limit)
            latency = time.monotonic() - started
            with self._cond:
                ep.in_flight += 1  # a ping takes no slot while it runs; release() counts its outcome
            if done and exc is None:
                self.release(ep)
                return Ping(True, ep.shown, models or [], latency)
            if not done:
                error = f"LLM at {ep.shown} did not answer within {limit:.1f}s"
            elif isinstance(exc, TransportError):
                error = exc.message
            else:
                assert exc is not None  # done without an exception returned above
                error = f"LLM at {ep.shown}: {one_line(exc)}"
            self.release(ep, exc if isinstance(exc, TransportError) else TransportError("timeout", error))
            return Ping(False, ep.shown, latency_s=latency, error=redact(error))

        with ThreadPoolExecutor(len(self.endpoints), thread_name_prefix="llm-ping") as ex:
            return list(ex.map(one, self.endpoints))
