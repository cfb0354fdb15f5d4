"""Printing for people (rich): answers, search hits, series, logs.

Every value that comes from data (names, headlines, sources, rationales, warnings, log fields) goes through `_e`, so
that rich never reads it as markup: a headline with `[but]` keeps its words, one with `[/r/retail]` cannot crash.
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    vals = [float(v) for v in values]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(BARS[min(int((v - lo) / span * (len(BARS) - 1) + 0.5), len(BARS) - 1)] for v in vals)


def _e(x) -> str:
    """A data value as literal text inside rich markup."""
    return "" if x is None else escape(str(x))


def _n(x) -> str:
    return "—" if x is None else f"{x:,.1f}"


def _pct(x) -> str:
    return "—" if x is None else f"{x:+.1f} %"


def _span(span) -> str:
    """` 2020-02-01..2020-02-29, 1 step`: what a comparison total sums."""
    if span is None:
        return ""
    return f" [dim]{span.start}..{span.end}, {span.steps} step{'s' if span.steps != 1 else ''}[/]"


def print_answer(a, console: Console | None = None) -> None:
    c = console or Console()
    unit = f" ({_e(a.unit)})" if a.unit else ""
    tg = a.target
    c.print(f"[bold]{_e(tg.name)}[/] [dim]{_e(tg.series_id)} · {_e(tg.level)} · matched {_e(tg.resolved_by)}[/]")
    c.print(f"Forecast for [bold]{a.period.start} .. {a.period.end}[/] as of {a.as_of}{unit}")
    recent = [y for _, y in a.history.recent[-24:]]
    if recent:
        c.print(f"last {len(recent)} periods  {sparkline(recent)}  {_n(recent[-1])}")
    t = Table(show_header=True, header_style="bold")
    for col in ("", "total", "80 % interval", "95 % interval"):
        t.add_column(col, justify="right" if col else "left")
    b, f = a.baseline, a.forecast
    t.add_row(f"baseline [dim]{_e(b.model)}[/]", _n(b.total), f"{_n(b.lo_80)} .. {_n(b.hi_80)}",
              f"{_n(b.lo_95)} .. {_n(b.hi_95)}")
    t.add_row(f"[bold]forecast[/] [dim]({_e(a.adjustment.source)} {_pct(a.adjustment.pct)})[/]",
              f"[bold]{_n(f.total)}[/]", f"{_n(f.lo_80)} .. {_n(f.hi_80)}", f"{_n(f.lo_95)} .. {_n(f.hi_95)}")
    c.print(t)
    h = a.history
    # one comparison a line: with the spans they no longer fit one 80-column line, and a wrapped label reads badly
    c.print(f"vs last period{_span(h.last_period)} ({_n(h.last_period_total)}): {_pct(f.change_vs_last_period_pct)}")
    c.print(f"vs same period last year{_span(h.last_year)} ({_n(h.same_period_last_year)}): "
            f"{_pct(f.change_vs_last_year_pct)}")
    c.print(f"direction: [bold]{_e(f.direction or 'n/a')}[/]")
    adj = a.adjustment
    who = adj.model or adj.source
    if adj.prompt:
        who += f", prompt {adj.prompt}"
    c.print(f"adjustment by {_e(who)}: {_e(adj.rationale)}")
    if a.evidence:
        c.print("[bold]evidence[/]")
        cited = set(adj.evidence_ids)
        for e in a.evidence:
            mark = "*" if e.id in cited else " "
            flag = "[red]![/] " if e.flagged else ""  # reads like instructions to a model
            c.print(f" {mark} {_e(e.id):>7} {e.date or '—'} [dim]{_e(e.source)}[/] {flag}{_e(e.text)}",
                    highlight=False)
    for w in a.warnings:
        c.print(f"[yellow]warning:[/] {_e(w)}", highlight=False)


def print_hits(hits, console: Console | None = None) -> None:
    c = console or Console()
    if not hits:
        c.print("no matching documents")
    for h in hits:
        c.print(f"{h.score:.3f} {_e(h.id):>7} {h.date or '—'} [dim]{_e(h.kind)}/{_e(h.source)}[/] {_e(h.text)}",
                highlight=False)


def print_series(table, console: Console | None = None) -> None:
    c = console or Console()
    t = Table("id", "name", "level", "freq", "from", "to", "n")
    for r in table.itertuples(index=False):
        t.add_row(_e(r.unique_id), _e(r.name), _e(r.level), _e(r.freq), _e(str(r.start)[:10]), _e(str(r.end)[:10]),
                  _e(r.n_obs))
    c.print(t)


def print_logs(rows, console: Console | None = None) -> None:
    c = console or Console()
    t = Table("id", "time", "model", "prompt", "tag", "try", "status", "latency", "tokens", "error")
    for r in rows:
        tokens = f"{r.get('prompt_tokens') or 0}+{r.get('completion_tokens') or 0}"
        keys = ("model", "prompt_id", "tag", "attempt", "status")
        fields = [str(r["id"]), str(r["time"])[:19]] + [str(r.get(k)) for k in keys]
        t.add_row(*map(_e, fields), f"{(r.get('latency_s') or 0):.2f}s", tokens, _e((r.get("error") or "")[:60]))
    c.print(t)
