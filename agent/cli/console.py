"""Printing for people (rich): answers and search hits (series and logs: agent.tables).

Every value that comes from data (names, headlines, sources, rationales, warnings, log fields) goes through `_e`, so
that rich never reads it as markup: a headline with `[but]` keeps its words, one with `[/r/retail]` cannot crash;
and no control character reaches the terminal (agent.visible: `ESC[2J` is shown, not obeyed).
"""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trendcast.agent.visible import visible

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
    return "" if x is None else escape(visible(str(x)))


def _n(x) -> str:
    return "—" if x is None else f"{x:,.1f}"


def _pct(x) -> str:
    return "—" if x is None else f"{x:+.1f} %"


def _span(span) -> str:
    """` 2020-02-01..2020-02-29, 1 step`: what a comparison total sums."""
    if span is None:
        return ""
    return f" [dim]{span.start}..{span.end}, {span.steps} step{'s' if span.steps != 1 else ''}[/]"


def llm_line(adj) -> str | None:
    """`LLM: smollm2 · dialect json_object · 2 re-asks (direction_sign, copied_example)` for an answer the LLM was
    involved in: its own, or one where the LLM's request failed or its proposal was not applied and another adjuster
    stands in (the warnings say why). None for the others."""
    dialect = getattr(adj, "dialect", None)
    kinds = list(getattr(adj, "llm_problems", None) or [])
    if adj.source != "llm" and not (dialect or kinds or adj.attempts):
        return None
    if adj.source == "llm":
        parts = [f"LLM: {adj.model}" if adj.model else "LLM"]
    else:
        parts = [f"LLM: not applied, {adj.source} stands in"]
    if dialect:
        parts.append(f"dialect {dialect}")
    if adj.cached:
        parts.append("cached reply")
    elif kinds:
        parts.append(f"{len(kinds)} re-ask{'s' if len(kinds) != 1 else ''}" if adj.source == "llm" else
                     f"{len(kinds)} rejected repl{'ies' if len(kinds) != 1 else 'y'}")
    elif adj.source == "llm":
        parts.append("valid on the first reply")
    line = " · ".join(parts)
    return f"{line} ({', '.join(kinds)})" if kinds else line


def trust_line(adj) -> str | None:
    """`proposed -23.9 % × trust 1.00 → applied -23.9 %; trust down 1.00 (prior: no record) ...` (None: nothing was
    weighed)."""
    if getattr(adj, "proposed_pct", None) is None or adj.trust is None:
        return None
    rec = adj.record or {}
    return (f"proposed {_pct(adj.proposed_pct)} × trust {adj.trust:.2f} → applied {_pct(adj.pct)}; "
            f"record {rec.get('key', '?')}: {rec.get('summary', '')}")


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
    from trendcast.agent.answer.steps import steps_table

    if (st := steps_table(a)) is not None:
        c.print(st)
    h = a.history
    # one comparison a line: with the spans they no longer fit one 80-column line, and a wrapped label reads badly
    c.print(f"vs last period{_span(h.last_period)} ({_n(h.last_period_total)}): {_pct(f.change_vs_last_period_pct)}")
    c.print(f"vs same period last year{_span(h.last_year)} ({_n(h.same_period_last_year)}): "
            f"{_pct(f.change_vs_last_year_pct)}")
    c.print(f"direction: [bold]{_e(f.direction or 'n/a')}[/]")
    if getattr(a, "direction_note", None):
        c.print(f"[dim]{_e(a.direction_note)}[/]", highlight=False)
    adj = a.adjustment
    who = adj.model or adj.source
    if adj.prompt:
        who += f", prompt {adj.prompt}"
    c.print(f"adjustment by {_e(who)}: {_e(adj.rationale)}")
    trust = trust_line(adj)
    if trust:
        c.print(f"[dim]{_e(trust)}[/]", highlight=False)
    llm = llm_line(adj)
    if llm:
        c.print(f"[dim]{_e(llm)}[/]", highlight=False)
    trimmed = getattr(adj, "prompt_trimmed", None)
    if trimmed:
        c.print(f"[dim]{_e(trimmed)}[/]", highlight=False)  # one line: what was left out, agent.prompt_fit
    if a.evidence:
        c.print("[bold]evidence[/]")
        cited = set(adj.evidence_ids)
        for e in a.evidence:
            mark = "*" if e.id in cited else " "
            flag = "[red]![/] " if e.flagged else ""  # reads like instructions to a model
            c.print(f" {mark} {_e(e.id):>7} {e.date or '—'} [dim]{_e(e.source)}[/] {flag}{_e(e.text)}",
                    highlight=False)
    if a.scheduled:
        c.print("[bold]scheduled[/] [dim](inside the period, known by as-of)[/]")
        for e in a.scheduled:
            known = f"known since {e.known}" if e.known else "calendar"
            c.print(f"   {e.event_date} {_e(e.text)} [dim]({_e(known)})[/]", highlight=False)
    for w in a.warnings:
        c.print(f"[yellow]warning:[/] {_e(w.message)} [dim]({_e(w.code)})[/]", highlight=False)


def print_hits(hits, console: Console | None = None) -> None:
    c = console or Console()
    if not hits:
        c.print("no matching documents")
    for h in hits:
        c.print(f"{h.score:.3f} {_e(h.id):>7} {h.date or '—'} [dim]{_e(h.kind)}/{_e(h.source)}[/] {_e(h.text)}",
                highlight=False)
