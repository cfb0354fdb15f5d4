"""Prompt size in tokens: the server's own tokenizer where it offers one, else a conservative estimate.

Servers differ: llama-cpp-python has `POST /extras/tokenize/count {"input"}`; vLLM has `POST /tokenize {"model",
"messages"}` (the chat template applied: exact); llama.cpp's llama-server has `POST /tokenize {"content"}`. All sit
at the server's root, beside `/v1`. The first that answers is remembered; when none does (or the server is down) the
estimate stands in, and a server that cannot be reached is not asked again. Never raises.
"""
from __future__ import annotations

import math
import threading

import httpx

CHARS_PER_TOKEN = 3.0  # conservative for English prose (BPE tokenizers average ~4); digits count one token each
# (SmolLM2, Llama 3, Qwen split numbers into single digits or short groups)
PER_MESSAGE = 6  # chat-template tokens around each message (role markers, separators)
ASK_TIMEOUT_S = 3.0


def estimate(messages: list[dict]) -> int:
    """An upper-leaning estimate of a chat prompt's tokens."""
    text = "".join(m.get("content") or "" for m in messages)
    digits = sum(ch.isdigit() for ch in text)
    punct = sum(ch in ",.;:-%()[]{}\"'" for ch in text)
    rest = len(text) - digits - punct
    return digits + punct + math.ceil(rest / CHARS_PER_TOKEN) + PER_MESSAGE * len(messages) + 3


def _root(url: str) -> str:
    base = url.partition("?")[0].rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


class TokenCounter:
    """count(messages) -> (tokens, "server" | "estimate")."""

    def __init__(self, url: str | None, model: str | None = None, headers: dict[str, str] | None = None,
                 timeout_s: float = ASK_TIMEOUT_S):
        self.root = _root(url) if url else None
        self.model = model
        self.headers = headers or {}
        self.timeout_s = min(timeout_s, ASK_TIMEOUT_S)
        self._way: str | None = None  # the endpoint that worked
        self._dead = self.root is None
        self._lock = threading.Lock()

    def count(self, messages: list[dict], model: str | None = None) -> tuple[int, str]:
        if not self._dead:
            try:
                n = self._ask(messages, model or self.model)
            except Exception:  # noqa: BLE001 - an estimate is always at hand
                n = None
            if n is not None:
                return n, "server"
        return estimate(messages), "estimate"

    def _ask(self, messages: list[dict], model: str | None) -> int | None:
        text = "\n".join(m.get("content") or "" for m in messages)
        ways = [self._way] if self._way else ["llama-cpp-python", "vllm", "llama.cpp"]
        with httpx.Client(headers=self.headers, timeout=self.timeout_s) as http:
            for way in ways:
                try:
                    n = self._one(http, way, messages, text, model)
                except (httpx.ConnectError, httpx.TimeoutException):
                    with self._lock:
                        self._dead = True  # nothing there (or too slow): estimate from now on
                    return None
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    continue
                if n is not None and n >= estimate(messages) / 8:  # not an empty tokenization
                    with self._lock:
                        self._way = way
                    return n
        with self._lock:
            self._dead = True  # no tokenizer endpoint: do not ask again
        return None

    def _one(self, http: httpx.Client, way: str, messages: list[dict], text: str, model: str | None) -> int | None:
        if way == "llama-cpp-python":
            r = http.post(f"{self.root}/extras/tokenize/count", json={"input": text})
            extra = PER_MESSAGE * len(messages) + 3
        elif way == "vllm":
            r = http.post(f"{self.root}/tokenize", json={"model": model, "messages": messages})
            extra = 0
        else:
            r = http.post(f"{self.root}/tokenize", json={"content": text})
            extra = PER_MESSAGE * len(messages) + 3
        if r.status_code != 200:
            return None
        data = r.json()
        n = data.get("count")
        if n is None and isinstance(data.get("tokens"), list):
            n = len(data["tokens"])
        return None if n is None else int(n) + extra
