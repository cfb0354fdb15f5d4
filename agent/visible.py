"""The one rule for untrusted text on its way to a terminal, Markdown, HTML or JSON: control characters made visible.

Text that trendcast did not write itself — LLM replies and rationales, document texts, category names and ids from
the user's files, servers' error messages — may carry terminal escape sequences: `ESC[2J` clears the screen,
`ESC[31m` colours what follows, `ESC]0;…BEL` sets the window title; a carriage return or backspaces overwrite what
was printed before it, and bidirectional overrides reorder what a reader sees. `visible(text)` replaces each such
character with its escape as text (ESC → `\\x1b`, U+202E → `\\u202e`), so that what was there can still be read but
nothing acts on a terminal. Newline and tab stay (an LLM's rationale may have paragraphs); every other C0 control,
DEL, every C1 control (U+0080-U+009F: 8-bit CSI and OSC included) and the bidirectional controls do not.

The console (agent.render, agent.tables, errors and notes the CLI prints), the Markdown and HTML reports (the
templates' `finalize`), their SVG charts, and every JSON trendcast prints or writes (`visible_json`,
`visible_json_text`) pass text through here.
"""
from __future__ import annotations

import json
import re
from typing import Any

# C0 but tab and newline, DEL, C1; bidirectional embeddings, overrides and isolates, and the line/paragraph
# separators (a terminal may break a line there)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
# the same characters as a JSON text writes them: \u00XX escapes (C0, DEL, C1 by an ASCII-only writer) or raw
_JSON_CONTROL = re.compile(r"\\u00(?:0[0-8bcdef]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F])|\\u20(?:2[a-eA-E89]|6[6-9])|"
                           "[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _shown(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: Any) -> Any:
    """`text` with every control character but newline and tab replaced by its escape (`\\x1b`); a value that is
    not a string is returned as it is (a markupsafe.Markup stays Markup)."""
    if not isinstance(text, str) or not _CONTROL.search(text):
        return text
    out = _CONTROL.sub(_shown, str(text))
    return type(text)(out) if type(text) is not str else out


def visible_json(value: Any) -> Any:
    """A JSON-able value with every string in it (dict keys included) through `visible`."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_json(k): visible_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_json(v) for v in value]
    return value


def visible_json_text(text: str, indent: int | None = 2) -> str:
    """A JSON document with every string in it through `visible`; the text as it is when no string needs it (the
    common case: formatting is then exactly the writer's)."""
    if not _JSON_CONTROL.search(text):
        return text
    return json.dumps(visible_json(json.loads(text)), indent=indent, ensure_ascii=False)
