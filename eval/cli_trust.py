"""`trendcast trust`: each adjuster's record, trust and forecast value added (eval.trust_table)."""
from __future__ import annotations

import click

from trendcast.agent.cli.base import emit_json, settings_of


@click.command("trust")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="Fit the trust on outcomes known by this date (default: every outcome in the record).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def trust(ctx, as_of, as_json):
    """Every adjuster × model × prompt with a record in this workspace's eval runs: proposals with known outcomes,
    the trust an answer applies now (down / up), and the forecast value added of its raw and trusted proposals
    (1 − error / baseline's error; 95 % paired bootstrap interval)."""
    from trendcast.eval.trust_table import trust_rows

    settings = settings_of(ctx)
    rows = trust_rows(settings, as_of=as_of.date() if as_of else None)
    if as_json:
        return emit_json(rows)
    if not rows:
        click.echo(f"no record yet in {settings.home}: run `trendcast eval run <suite>` (an adjuster's record is its "
                   "eval cells with known outcomes); until then answers apply each adjuster's prior trust")
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Adjusters' records (FVA: value added vs the baseline, + is better)")
    for col in ("record", "cells", "origins", "trust down", "trust up", "FVA raw [95% CI]", "FVA trusted [95% CI]"):
        t.add_column(col, justify="left" if col == "record" else "right")
    for r in rows:
        t.add_row(r["key"], str(r["n"]), f"{r['origins']}: {r['first'][:7]}..{r['last'][:7]}",
                  f"{r['trust_down']:.2f} ({r['n_down']})", f"{r['trust_up']:.2f} ({r['n_up']})",
                  _ci(r["fva_raw"]), _ci(r["fva_trusted"]))
    Console().print(t)


def _ci(e: dict) -> str:
    return f"{e['value']:+.3f} [{e['lo']:+.3f}, {e['hi']:+.3f}]"
