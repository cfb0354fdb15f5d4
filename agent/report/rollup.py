"""The report's roll-up: entries grouped by their parent series (a Walmart store for its departments), per parent
the sums of baseline and adjusted forecast, the change vs the summed last period, the badge counts and the
biggest mover inside (by the adjusted forecast's change, as the report's movers rank, among the material entries:
`material`).

Sums are over the entries that have an answer; `last_period_total` sums only those whose last period is known,
and `change_pct` compares the forecast of those same entries with it (so a department without a last period does
not make its store look like it jumps). Entries without a parent (a top level) are not rolled up.
"""
from __future__ import annotations

from pydantic import BaseModel, Field

ROLLUP_BADGES = ("break", "stale", "fallback")


class RollupRow(BaseModel):
    parent_id: str
    name: str
    categories: int
    failed: int = 0
    baseline_total: float = 0.0
    forecast_total: float = 0.0
    last_period_total: float | None = None
    change_pct: float | None = None  # forecast vs last period, over the entries with a known last period
    badges: dict[str, int] = Field(default_factory=dict)  # break / stale / fallback: entries carrying it
    top_mover: str | None = None  # series id of the entry with the largest |change|
    top_mover_name: str | None = None
    top_mover_change_pct: float | None = None


MATERIAL_SHARE = 0.05  # a mover's last period is at least this share of the report's median last period


def material_floor(entries) -> float:
    """The smallest last-period total a mover may have: MATERIAL_SHARE of the median over the entries that have one
    (0 when none has)."""
    import statistics

    lasts = [e.answer.history.last_period_total for e in entries
             if e.answer is not None and e.answer.history.last_period_total]
    return MATERIAL_SHARE * statistics.median(lasts) if lasts else 0.0


def material(entry, floor: float) -> bool:
    """Whether the entry's last period is big enough for its change to rank (entries without one rank as before:
    their change is vs last year)."""
    last = entry.answer.history.last_period_total if entry.answer is not None else None
    return not last or last >= floor


def rollup(entries, series) -> list[RollupRow]:
    """One row per parent of the entries (`series`: SalesStore.series(), for parent ids and names), in the
    order of the parents' ids; parents with the biggest |change| are not re-sorted (the table is a lookup)."""
    if series is None or "parent_id" not in series.columns:
        return []
    parent_of = dict(zip(series["unique_id"].astype(str), series["parent_id"]))
    name_of = dict(zip(series["unique_id"].astype(str), series["name"].astype(str)))
    groups: dict[str, list] = {}
    for e in entries:
        p = parent_of.get(e.series_id)
        if isinstance(p, str) and p:
            groups.setdefault(p, []).append(e)
    floor = material_floor(entries)  # the report's movers rule: a tiny department's +50,000 % is not the mover
    return [_row(p, name_of.get(p, p), es, floor)
            for p, es in sorted(groups.items(), key=lambda kv: _natural(kv[0]))]


def _row(parent: str, name: str, entries, floor: float = 0.0) -> RollupRow:
    ok = [e for e in entries if e.answer is not None]
    known = [e for e in ok if e.answer.history.last_period_total]
    last = sum(e.answer.history.last_period_total for e in known) if known else None
    fc_known = sum(e.answer.forecast.total for e in known)
    moves = [(abs(c), c, e) for e in ok if (c := e.change()) is not None and material(e, floor)]
    top = max(moves, key=lambda m: m[0]) if moves else None
    return RollupRow(
        parent_id=parent, name=name, categories=len(entries), failed=len(entries) - len(ok),
        baseline_total=sum(e.answer.baseline.total for e in ok), forecast_total=sum(e.answer.forecast.total for e in ok),
        last_period_total=last, change_pct=100.0 * (fc_known / last - 1.0) if last else None,
        badges={b: sum(b in e.badges for e in entries) for b in ROLLUP_BADGES},
        top_mover=top[2].series_id if top else None, top_mover_name=top[2].name if top else None,
        top_mover_change_pct=top[1] if top else None)


def _natural(text: str):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def parent_level(rows: list[RollupRow], series) -> str:
    """The level of the rolled-up parents ("Store"), or "parent" when they mix levels."""
    if not rows:
        return ""
    level_of = dict(zip(series["unique_id"].astype(str), series["level"].astype(str)))
    levels = {level_of.get(r.parent_id, "parent") for r in rows}
    return levels.pop() if len(levels) == 1 else "parent"
