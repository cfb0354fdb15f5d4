"""Terminal tables for `trendcast series` and `trendcast logs` (rich): laid out for an 80-column terminal by default
(short cells of two lines, only the text columns wrap, ids wrapped at their hyphens so that every id reads whole),
or `wide`: one line per row with every field, as wide as it needs (for `less -S`, a wide terminal, or grep).

Every value from data goes through `_e`, so that rich never reads it as markup and no control
character reaches the terminal (agent.visible).
"""
from __future__ import annotations

import textwrap
from typing import Literal, cast

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trendcast.agent.visible import visible

ID_WIDTH = 20  # the id column's most, in the 80-column layout: longer ids wrap (after a hyphen, comma or space)
EMPTY_WORKSPACE = "no series yet: run `trendcast demo` or `trendcast ingest sales FILE`"
FREQ_NAMES = {"MS": "monthly", "M": "monthly", "ME": "monthly", "D": "daily"}


def _e(x) -> str:
    return "" if x is None else escape(visible(str(x)))


def wrap_id(series_id: str, width: int = ID_WIDTH) -> str:
    """An id in lines of at most `width`, broken after hyphens, commas or spaces where it can (never elided: two
    ids that share a long prefix stay two different ids on screen)."""
    text = str(series_id)
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=True, break_long_words=True)) or text


def freq_name(freq: str) -> str:
    f = str(freq or "")
    return FREQ_NAMES.get(f) or ("weekly" if f.startswith("W") else f)


def _day(value) -> str:
    return str(value or "")[:10]


def print_series(table, console: Console | None = None, wide: bool = False) -> None:
    """The workspace's series, or a hint when it has none."""
    c = console or Console()
    if table.empty:
        c.print(_e(EMPTY_WORKSPACE), highlight=False)
        return
    if wide:
        t = Table("id", "name", "level", "freq", "from", "to", "n", "dataset", box=box.SIMPLE_HEAD,
                  show_edge=False, header_style="bold")
        for r in table.itertuples(index=False):
            t.add_row(_e(r.unique_id), _e(r.name), _e(r.level), _e(r.freq), _e(_day(r.start)), _e(_day(r.end)),
                      _e(r.n_obs), _e(getattr(r, "dataset", "")))
        _print_wide(c, t)
        return
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0), leading=1, header_style="bold",
              title=f"{len(table):,} series", title_justify="left")
    t.add_column("id", no_wrap=True, max_width=ID_WIDTH)
    t.add_column("name", ratio=1, min_width=16, overflow="fold")
    t.add_column("level\nfreq", no_wrap=True, max_width=12)
    t.add_column("from\nto", no_wrap=True)
    t.add_column("n", justify="right", no_wrap=True)
    for r in table.itertuples(index=False):
        t.add_row(_e(wrap_id(r.unique_id)), _e(r.name), f"{_e(r.level)}\n[dim]{_e(freq_name(r.freq))}[/]",
                  f"{_e(_day(r.start))}\n{_e(_day(r.end))}", _e(r.n_obs))
    c.print(t)


def _clock(time) -> str:
    """HH:MM:SS of a call log time (ISO, UTC)."""
    text = str(time or "")
    return text[11:19] if len(text) >= 19 and text[10] in "T " else text[:19]


def _log_error(r: dict, limit: int = 240) -> str:
    """The error cell: the problem kind in bold (a rejected reply), then the error text, markup-escaped."""
    kind, error = r.get("problem"), str(r.get("error") or "")
    if kind and error.startswith(f"{kind}: "):
        error = error[len(kind) + 2:]
    error = error if len(error) <= limit else error[:limit - 1] + "…"
    if kind:
        return f"[bold]{_e(kind)}[/]" + (f": {_e(error)}" if error else "")
    return _e(error)


def print_logs(rows, console: Console | None = None, wide: bool = False) -> None:
    """One row per LLM call, in cells of two or three short lines so that it reads at 80 columns; the error column
    (the problem kind of a rejected reply first) takes the rest of the width. One model for every call: named in the
    title, else in each row. `wide`: one line per call, every field, the error whole."""
    c = console or Console()
    if not rows:
        c.print("no LLM calls logged yet: the llm adjuster logs them (`trendcast llm serve` starts a local\n"
                "server and prints the TRENDCAST_LLM_URL to set)", highlight=False)
        return
    if wide:
        t = Table("id", "time", "model", "tag", "prompt", "try", "status", "dialect", "s", "tokens", "cached",
                  "error", box=box.SIMPLE_HEAD, show_edge=False, header_style="bold")
        for r in rows:
            t.add_row(_e(r["id"]), _e(r.get("time")), _e(r.get("model")), _e(r.get("tag")), _e(r.get("prompt_id")),
                      _e(_attempt(r)), _e(r.get("status")), _e(r.get("dialect")), f"{(r.get('latency_s') or 0):.2f}",
                      _e(_tokens(r)), "yes" if r.get("cached") else "", _log_error(r, limit=100_000))
        _print_wide(c, t)
        return
    models = {r.get("model") for r in rows if r.get("model")}
    common = next(iter(models)) if len(models) == 1 else None
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0), leading=1, header_style="bold",
              title=f"LLM calls, model {_e(common)}" if common else None, title_justify="left")
    t.add_column("id\ntime", no_wrap=True)
    t.add_column("tag\nprompt" + ("" if common else "\nmodel"), overflow="fold", max_width=16)
    t.add_column("try status\ndialect", overflow="fold", max_width=14)
    t.add_column("s\ntokens", justify="right", no_wrap=True)
    t.add_column("error", overflow="fold", ratio=1, min_width=16)
    for r in rows:
        what = f"{_e(r.get('tag') or '')}\n[dim]{_e(r.get('prompt_id') or '')}[/]"
        if not common and r.get("model"):
            what += f"\n[dim]{_e(r.get('model'))}[/]"
        t.add_row(f"{_e(r['id'])}\n{_e(_clock(r.get('time')))}", what,
                  f"{_e(_attempt(r))} {_e(r.get('status'))}\n[dim]{_e(r.get('dialect') or '')}[/]",
                  f"{(r.get('latency_s') or 0):.2f}s\n{_tokens(r)}", _log_error(r))
    c.print(t)


def _attempt(r: dict) -> str:
    return f"{r.get('attempt')}" + (f".{r['retry']}" if r.get("retry") else "")  # try.retry


def _tokens(r: dict) -> str:
    return f"{r.get('prompt_tokens') or 0}+{r.get('completion_tokens') or 0}"


def _print_wide(c: Console, t: Table) -> None:
    """A table at its natural width, whatever the terminal's: nothing wraps or is cut."""
    for col in t.columns:
        col.no_wrap = True
    # rich types the property as str; its values are the names Console takes (rich.console._COLOR_SYSTEMS_NAMES)
    system = cast(Literal["standard", "256", "truecolor", "windows"] | None, c.color_system)
    wide = Console(file=c.file, width=100_000, color_system=system, force_terminal=c.is_terminal, highlight=False)
    wide.print(t, crop=False)
