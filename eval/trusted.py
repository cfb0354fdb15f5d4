"""Trusted variants: every adjusted variant again, its proposals weighed by its own record as the product would.

For a variant `v` and origin t, the record is v's raw cells at earlier origins whose outcome period was observed by
t (agent.record.known_rows — the one clock); agent.trust.learn fits the trust weights and interval quantiles on it,
per record key (an LLM variant's fallback cells have the fallback adjuster's key and record), and
`engine.trusted_forecast` (agent.assemble.adjusted_forecast, the function `ask` shows) makes the cell's forecast from the proposal and that
trust. The result is variant `v+trust`, and a table of the trust learned at every origin.
"""
from __future__ import annotations

import pandas as pd

from trendcast.eval.cells import BOUNDS

SUFFIX = "+trust"
TRUST_COLUMNS = ["variant", "origin", "key", "trust_down", "trust_up", "n_down", "n_up", "n", "q80", "q95"]


def trusted_name(variant: str) -> str:
    return variant + SUFFIX


def add_trusted(cells: pd.DataFrame, base: pd.DataFrame, suite, freq: str, flat_band_pct: float
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells with a `+trust` variant per adjusted variant, the trust table). `cells`: the raw cells of every
    variant (eval.variants.CELL_COLUMNS); `base`: the grid with baselines and actuals."""
    from trendcast.agent import engine
    
    from trendcast.forecasting.conformal import log_sigma

    grid = base[["unique_id", "origin", "period_start", "period_end", "actual", "last"]]
    if "key" not in cells.columns:  # a run made before cells kept their record key
        cells = cells.assign(key=cells["source"])
    for col in ("ext_down", "ext_up"):
        if col not in cells.columns:
            cells = cells.assign(**{col: 0.0})
    out, trust_rows = [cells], []
    for v in suite.variants:
        if v.adjuster == "none":
            continue
        raw = cells[cells["variant"] == v.name].merge(grid, on=["unique_id", "origin"], how="left")
        raw = raw.assign(baseline_lo_80=raw["lo_80"] / (1 + raw["pct"] / 100),
                         baseline_hi_80=raw["hi_80"] / (1 + raw["pct"] / 100))
        raw["sigma"] = [log_sigma(t, lo, hi) for t, lo, hi in zip(raw["baseline"], raw["baseline_lo_80"],
                                                                  raw["baseline_hi_80"])]
        rows = []
        for origin, now in raw.groupby("origin", sort=True):
            past = engine.known_rows(raw[raw["origin"] < origin].dropna(subset=["actual"]), freq,
                              pd.Timestamp(origin).date())
            learned = {}
            for key in sorted(now["key"].unique()):
                learned[key] = engine.learn_trust(past[past["key"] == key], key)
                t = learned[key]
                trust_rows.append({"variant": v.name, "origin": origin, "key": key, "trust_down": t.down,
                                   "trust_up": t.up, "n_down": t.n_down, "n_up": t.n_up, "n": t.n, "q80": t.q80,
                                   "q95": t.q95})
            for cell in now.itertuples(index=False):
                t = learned[cell.key]
                b = _Baseline(cell.baseline, cell.baseline_lo_80, cell.baseline_hi_80)
                f = engine.trusted_forecast(b, cell.pct, t, ext=(cell.ext_down, cell.ext_up), last_total=cell.last,
                                            flat_band_pct=flat_band_pct)
                row = {c: getattr(cell, c) for c in cells.columns}
                row.update(variant=trusted_name(v.name), forecast=f.total, **{k: getattr(f, k) for k in BOUNDS},
                           pct=t.applied(cell.pct))
                rows.append(row)
        out.append(pd.DataFrame(rows, columns=cells.columns))
    return pd.concat(out, ignore_index=True), pd.DataFrame(trust_rows, columns=TRUST_COLUMNS)


class _Baseline:
    """What adjusted_forecast reads of a baseline: its total and 80 % bounds (the 95 % ones are not used when the
    interval comes from the record)."""

    def __init__(self, total: float, lo_80: float, hi_80: float):
        self.total, self.lo_80, self.hi_80 = float(total), float(lo_80), float(hi_80)
