"""Printing for people (rich): answers, search hits, series, logs."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values) -> str:
    vals = [float(v) for v in values]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    return "".join(BARS[min(int((v - lo) / span * (len(BARS) - 1) + 0.5), len(BARS) - 1)] for v in vals)


def _n(x) -> str:
    return "—" if x is None else f"{x:,.1f}"


def _pct(x) -> str:
    return "—" if x is None else f"{x:+.1f} %"


def print_answer(a, console: Console | None = None) -> None:
    c = console or Console()
    unit = f" ({a.unit})" if a.unit else ""
    c.print(f"[bold]{a.target.name}[/] [dim]{a.target.series_id} · {a.target.level} · matched {a.target.resolved_by}[/]")
    c.print(f"Forecast for [bold]{a.period.start} .. {a.period.end}[/] as of {a.as_of}{unit}")
    recent = [y for _, y in a.history.recent[-24:]]
    if recent:
        c.print(f"last {len(recent)} periods  {sparkline(recent)}  {_n(recent[-1])}")
    t = Table(show_header=True, header_style="bold")
    for col in ("", "total", "80 % interval", "95 % interval"):
        t.add_column(col, justify="right" if col else "left")
    b, f = a.baseline, a.forecast
    t.add_row(f"baseline [dim]{b.model}[/]", _n(b.total), f"{_n(b.lo_80)} .. {_n(b.hi_80)}",
              f"{_n(b.lo_95)} .. {_n(b.hi_95)}")
    t.add_row(f"[bold]forecast[/] [dim]({a.adjustment.source} {_pct(a.adjustment.pct)})[/]", f"[bold]{_n(f.total)}[/]",
              f"{_n(f.lo_80)} .. {_n(f.hi_80)}", f"{_n(f.lo_95)} .. {_n(f.hi_95)}")
    c.print(t)
    c.print(f"vs last period ({_n(a.history.last_period_total)}): {_pct(f.change_vs_last_period_pct)}   "
            f"vs same period last year ({_n(a.history.same_period_last_year)}): {_pct(f.change_vs_last_year_pct)}   "
            f"direction: [bold]{f.direction}[/]")
    adj = a.adjustment
    who = adj.model or adj.source
    if adj.prompt:
        who += f", prompt {adj.prompt}"
    c.print(f"adjustment by {who}: {adj.rationale}")
    if a.evidence:
        c.print("[bold]evidence[/]")
        cited = set(adj.evidence_ids)
        for e in a.evidence:
            mark = "*" if e.id in cited else " "
            c.print(f" {mark} {e.id:>7} {e.date or '—'} [dim]{e.source or ''}[/] {e.text}", highlight=False)
    for w in a.warnings:
        c.print(f"[yellow]warning:[/] {w}", highlight=False)


def print_hits(hits, console: Console | None = None) -> None:
    c = console or Console()
    if not hits:
        c.print("no matching documents")
    for h in hits:
        c.print(f"{h.score:.3f} {h.id:>7} {h.date or '—'} [dim]{h.kind}/{h.source or ''}[/] {h.text}", highlight=False)


def print_series(table, console: Console | None = None) -> None:
    c = console or Console()
    t = Table("id", "name", "level", "freq", "from", "to", "n")
    for r in table.itertuples(index=False):
        t.add_row(str(r.unique_id), str(r.name), str(r.level), str(r.freq), str(r.start)[:10], str(r.end)[:10],
                  str(r.n_obs))
    c.print(t)


def print_logs(rows, console: Console | None = None) -> None:
    c = console or Console()
    t = Table("id", "time", "model", "prompt", "tag", "try", "status", "latency", "tokens", "error")
    for r in rows:
        tokens = f"{r.get('prompt_tokens') or 0}+{r.get('completion_tokens') or 0}"
        t.add_row(str(r["id"]), str(r["time"])[:19], str(r.get("model")), str(r.get("prompt_id")), str(r.get("tag")),
                  str(r.get("attempt")), str(r.get("status")), f"{(r.get('latency_s') or 0):.2f}s", tokens,
                  (r.get("error") or "")[:60])
    c.print(t)
