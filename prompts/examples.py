"""Few-shot answers: the TrendAdjustment that would have been right for a past situation with a known outcome."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable


def outcome_answer_json(
    baseline_total: float,
    actual_total: float,
    *,
    direction_of: Callable[[float], str],
    min_pct: float = -90.0,
    max_pct: float = 200.0,
    confidence: float = 0.7,
    drivers: Iterable[dict] = (),
    rationale: str | None = None,
) -> str:
    """JSON of the right adjustment: change_pct = 100 * (actual / baseline - 1), rounded to 0.1 and clipped to the
    bounds; its direction is `direction_of(change_pct)` (the caller's rule: the product has one, in forecasting). drivers are {evidence_id, effect, note} dicts the caller vouches for."""
    if not (math.isfinite(baseline_total) and math.isfinite(actual_total)) or baseline_total <= 0:
        raise ValueError(f"need a positive finite baseline and a finite actual, got {baseline_total}, {actual_total}")
    change = round(min(max_pct, max(min_pct, 100.0 * (actual_total / baseline_total - 1.0))), 1)
    direction = direction_of(change)
    if rationale is None:
        rationale = f"The outcome was {actual_total:,.1f} against a baseline of {baseline_total:,.1f} ({change:+.1f}%)."
    answer = {"direction": direction, "change_pct": change, "confidence": confidence, "drivers": list(drivers),
              "rationale": rationale}
    return json.dumps(answer, ensure_ascii=False)
