"""How member forecasts become one baseline: the one combination rule, used by `forecasting.baseline.forecast_period`
and by eval's bulk baselines (eval.cells) alike.

Members are StatsForecast models under stable aliases (their names in `forecasting.models.MODELS`), each wrapped in
`forecasting.models.Guarded`, and the fallback model (SeasonalNaive; Naive for a fit without seasons) is always
fitted beside them — as a member when it is one, else as one more column under its own name. StatsForecast's own
`fallback_model` is never used: it fills a failed model's columns with the fallback's forecast under the failed
model's name, so nobody can tell what ran. `Guarded` gives NaN instead, and this rule decides, per series and
period, from each column's period total and bounds (`forecasting.intervals.period_sum`):

1. A member whose period total is not finite FAILED (it raised, or forecast NaN/inf): the fallback stands in for it
   and the member is listed as ``AutoARIMA→SeasonalNaive`` in `members` and named in `warnings`. When the fallback
   failed too, the member is left out (warning).
2. A member (or stand-in) whose total is finite but whose 80/95 % bounds are not is DROPPED, with a warning: an
   unknown interval never becomes a zero-width one.
3. Each distinct forecast counts ONCE in the median. A stand-in is the fallback's forecast: when the fallback is
   itself a member (SeasonalNaive in the default set) or stands in for another member too, it is listed in
   `members` but not counted again — otherwise SeasonalNaive would get two votes of four.
4. The point total and each bound are medians over the counted members; `label` names them (one member: its name;
   several: ``Ensemble(median of AutoETS,AutoTheta,SeasonalNaive)``).

So `members` says what ran for every member that produced a usable forecast, and `label` says what the median
counted; total == median of the counted members' totals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from trendcast.forecasting.constants import BOUNDS

VALUES = ("total", *BOUNDS)
ARROW = "→"


@dataclass
class Combination:
    label: str  # what the median counted: one member's name, "Ensemble(median of a,b,c)", or "" (none)
    values: dict[str, float]  # total, lo_80, hi_80, lo_95, hi_95: medians over the counted members (NaN if none)
    members: dict[str, float]  # every usable member under what ran ("AutoARIMA→SeasonalNaive") → its period total
    counted: dict[str, str]  # counted member (as in `members`) → the forecast column it is
    ran: dict[str, str]  # member name → the column that stands for it (itself, or the fallback), usable ones only
    warnings: list[str] = field(default_factory=list)


def forecast_models(fitted: Sequence, fallback) -> tuple[list, list[str], str | None]:
    """The models to hand StatsForecast (each member, then the fallback unless it is a member, all `Guarded`),
    the member names, and the fallback's column (None: no fallback)."""
    from trendcast.forecasting.models import guard, model_name

    names = [model_name(m) for m in fitted]
    models = [guard(m) for m in fitted]
    fb = None if fallback is None else model_name(fallback)
    if fb is not None and fb not in names:
        models.append(guard(fallback))
    return models, names, fb


def combine_members(names: Sequence[str], fallback: str | None, results: Mapping[str, Mapping[str, float]],
                    errors: Mapping[str, str | None] | None = None) -> Combination:
    """Apply the rule above. `results`: column → period total and bounds (``total, lo_80, ...``), for every member
    and the fallback; `errors`: member → why it failed, where known (shown in the warning)."""
    errors = errors or {}
    warnings: list[str] = []
    used: list[tuple[str, str, str]] = []  # (member, member as it ran, forecast column)
    for name in names:
        col = name
        if not np.isfinite(results[name]["total"]):
            why = f"{name} failed" + (f" ({errors[name]})" if errors.get(name) else "")
            if fallback is None or fallback == name or not np.isfinite(results[fallback]["total"]):
                warnings.append(f"{why} and no fallback could stand in: left out")
                continue
            col = fallback
            warnings.append(f"{why}: {fallback} stands in ({name}{ARROW}{fallback})")
        key = name if col == name else f"{name}{ARROW}{col}"
        if not all(np.isfinite(results[col][b]) for b in BOUNDS):
            warnings.append(f"{key} gave non-finite interval bounds: left out")
            continue
        used.append((name, key, col))
    by_col: dict[str, str] = {}
    for _, key, col in used:  # the member itself, when it is one, stands for its column; else the first stand-in
        if col not in by_col or key == col:
            by_col[col] = key
    counted = {key: col for _, key, col in used if by_col[col] == key}
    warnings += [f"{key} is the same forecast as {by_col[col]}: counted once in the median"
                 for _, key, col in used if key not in counted]
    with np.errstate(all="ignore"):
        values = {k: float(np.median([results[c][k] for c in counted.values()])) if counted else float("nan")
                  for k in VALUES}
    label = ",".join(counted) if len(counted) <= 1 else f"Ensemble(median of {','.join(counted)})"
    return Combination(label=label, values=values, members={key: float(results[col]["total"]) for _, key, col in used},
                       counted=counted, ran={name: col for name, _, col in used}, warnings=warnings)


ROLLING_ORIGINS = 12  # past origins whose errors choose the members (eval's rolling combination)
ROLLING_TOP = 2  # members averaged


def pick_by_record(errors: Mapping[str, float], top: int = ROLLING_TOP) -> list[str]:
    """The `top` members with the lowest mean past error (finite ones only), best first.

    The rolling combination of eval: on the MRTS suite (origins 2018-01..2020-06) the mean of the two members with
    the lowest mean |log error| over the last 12 known origins scored MASE 1.366 against the best single member's
    1.387 and the median of all four's 1.412 (the best member alone, chosen the same way: 1.383)."""
    ok = sorted((e, name) for name, e in errors.items() if np.isfinite(e))
    return [name for _, name in ok[:top]]
