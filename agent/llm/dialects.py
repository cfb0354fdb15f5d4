"""How a JSON schema is sent to an OpenAI-compatible server: the three structured-output dialects, and `auto`.

- `json_schema`: `response_format: {"type": "json_schema", "json_schema": {name, schema, strict}}` — OpenAI, vLLM
  >= 0.12, llama.cpp's llama-server, Ollama.
- `json_object`: `response_format: {"type": "json_object", "schema": schema}` — llama-cpp-python's server (it refuses
  json_schema with HTTP 500 "response_format.type: Input should be 'text' or 'json_object'").
- `structured_outputs`: vLLM's native `structured_outputs: {"json": schema}` (`guided_json` before vLLM 0.12).

`auto` starts with json_schema (or with what this (url, model) accepted before, remembered in the workspace's call
log: then no request probes) and, when the server refuses a request naming the structured-output field, switches to the next dialect once per
dialect. One request probes at a time (`DialectChoice.probe`): a batch of many costs at most one refused request per
dialect that does not work. Whatever the dialect, the reply is validated: a server that ignores the schema and sends
free text is caught there and re-asked, never applied.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable

DIALECTS = ("json_schema", "json_object", "structured_outputs")

# a refusal names the field it refused (llama-cpp-python: "response_format.type"; vLLM: "structured_outputs";
# others: "json_schema", "guided_json", "response format")
_REFUSAL = re.compile(r"response[_ ]format|json_schema|json_object|structured_outputs|guided_json|extra_forbidden|"
                      r"extra inputs are not permitted", re.IGNORECASE)


def apply(body: dict, dialect: str, name: str, schema: dict) -> dict:
    """A copy of a chat-completions body asking for `schema` in `dialect`."""
    out = dict(body)
    if dialect == "json_schema":
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": name, "schema": schema,
                                                                         "strict": True}}
    elif dialect == "json_object":
        out["response_format"] = {"type": "json_object", "schema": schema}
    elif dialect == "structured_outputs":
        out["structured_outputs"] = {"json": schema}
    else:
        raise ValueError(f"unknown structured-output dialect {dialect!r} (one of {', '.join(DIALECTS)})")
    return out


def is_refusal(http_status: int | None, detail: str | None) -> bool:
    """Did the server refuse the request because of how the schema was sent? A 4xx (not 408/429) or 5xx whose
    message names the structured-output field."""
    if http_status is None or http_status < 400 or http_status in (408, 429):
        return False
    return bool(_REFUSAL.search(detail or ""))


class DialectChoice:
    """The dialect for one client: fixed by the setting, or found by `auto` and remembered through `remember`.

    `current` is the dialect to send now; `settled` once a server accepted it (any HTTP 200). `refused(d)` moves on to
    the next dialect not yet tried and returns it (None: every one was refused, or the setting fixes it)."""

    def __init__(self, setting: str, remembered: str | None = None,
                 remember: Callable[[str], None] | None = None):
        self.auto = setting == "auto"
        first = remembered if self.auto and remembered in DIALECTS else ("json_schema" if self.auto else setting)
        if first not in DIALECTS:
            raise ValueError(f"unknown structured-output dialect {setting!r} (auto or one of {', '.join(DIALECTS)})")
        self.current = first
        self.settled = not self.auto or remembered == first  # a remembered dialect is not probed again
        self.switched_from: list[str] = []  # dialects refused, in order
        self._tried = {first}
        self._remember = remember
        self._was_remembered = remembered == first and self.auto
        self.lock = threading.Lock()  # held by the one request probing an unsettled dialect

    def accepted(self, dialect: str) -> None:
        """A server answered HTTP 200 to a request sent in `dialect`: it is the one (remembered when auto)."""
        if self.settled or dialect != self.current:
            return
        self.settled = True
        if self.auto and self._remember is not None and not self._was_remembered:
            try:
                self._remember(dialect)
            except Exception:  # noqa: BLE001 - a workspace that cannot remember only costs a refusal next time
                pass

    def refused(self, dialect: str) -> str | None:
        """The server refused `dialect`: the next one to try, or None (not auto, or nothing left)."""
        if not self.auto:
            return None
        if dialect != self.current:  # another request moved on already
            return self.current
        left = [d for d in DIALECTS if d not in self._tried]
        if not left:
            return None
        self.switched_from.append(dialect)
        self.current = left[0]
        self._tried.add(self.current)
        self.settled = False
        self._was_remembered = False
        return self.current
