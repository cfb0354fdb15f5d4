"""What the requests of one `LLMClient.run` share: the batch deadline, and the model, looked up once when the settings
name none (vLLM serves one: the first the server lists)."""
from __future__ import annotations

import itertools
import math
import threading
import time

from trendcast.agent.llm.pool import Endpoint, is_outage
from trendcast.agent.llm.transport import MIN_TRY_S, TransportError, get_models


class Batch:
    """What the requests of one run() share: the batch deadline, and the model, looked up once if not configured."""

    def __init__(self, client, n: int):  # client: agent.llm.client.LLMClient
        self.c = client
        self.workers = max(1, min(client.pool.capacity, n))  # `concurrency` on each server
        waves = math.ceil(n / self.workers)
        self.deadline = time.monotonic() + client.llm.budget_s * waves
        servers = len(client.pool.endpoints)
        self.text = (f"{client.llm.budget_s * waves:g}s for {n} requests, {self.workers} at a time"
                     + (f" on {servers} servers" if servers > 1 else "") + f", {client.llm.budget_s:g}s each")
        self._lock = threading.Lock()
        self._error: TransportError | None = None
        self._picked = itertools.count()

    def pick_up(self) -> bool:
        """Called as a worker picks a request up: is it one of the first wave (the first `workers` picked up)? Those
        share the batch's first budget, so a slow start of the workers is no reason to blame the batch deadline."""
        return next(self._picked) < self.workers

    def model_for(self, run) -> tuple[str | None, TransportError | None]:
        """The model to ask: the configured one, else the first the server lists (vLLM serves one), looked up by
        whichever request needs it first, within that request's budget; a failure fails the whole batch."""
        if self.c._model is not None:
            return self.c._model, None
        if not self._lock.acquire(timeout=max(0.0, run.deadline - time.monotonic())):
            return None, TransportError("timeout", "cannot find the model to use: "
                                        + run.budget_message("waiting for the model list"))
        try:
            if self.c._model is None and self._error is None:
                self._error = self._discover(run)
            return self.c._model, self._error
        finally:
            self._lock.release()

    def _discover(self, run) -> TransportError | None:
        """The model list from the first server in the rotation that gives one (each server tried once)."""
        pool, exc = self.c.pool, None
        tried: tuple[Endpoint, ...] = ()
        while exc is None or (is_outage(exc) and pool.another(tried)):
            ep = pool.acquire(run.deadline, tried, run.conn.aborted)
            if ep is None:
                return TransportError("timeout", "cannot find the model to use: " + run.budget_message(
                    "waiting for a free LLM server"))
            run.endpoint, tried, left = ep, tried + (ep,), run.deadline - time.monotonic()
            try:
                models = get_models(run.conn.http, ep.url, min(self.c.llm.timeout_s, max(left, MIN_TRY_S)),
                                    run.conn.extensions, self.c.llm.max_reply_bytes)
            except TransportError as failed:
                exc = failed
                pool.release(ep, None if run.conn.aborted.is_set() else exc)
                continue
            pool.release(ep)
            if not models:
                return TransportError("http_error", f"no model configured and {ep.shown}/models lists none")
            self.c._model = models[0]
            return None
        if run.conn.aborted.is_set():
            exc = TransportError("timeout", run.cut_reason or run.budget_message(""))
        return TransportError(exc.status, f"cannot find the model to use: {exc.message}")
