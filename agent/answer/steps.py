"""The steps of a multi-step period (next 3 months, next quarter, next year, a range): what an answer shows beside
the period total.

The baseline forecasts each step (forecasting.baseline.BaselineForecast.steps: per-step medians of its members,
whose sum differs a little from the period total, the median of the members' totals); the adjusted forecast is the
period total times (1 + adjustment), with 80/95 % bounds that may come from the adjuster's record (trust) and
widen for recent breaks. A step's baseline, forecast and bounds are the period's shared out in proportion to the
step medians: the steps add up to the totals the answer states, a one-step period's step is the period itself,
and the bounds read as if the steps' errors move together (a break hits every month alike), which is the
cautious reading."""
from __future__ import annotations

import numpy as np
import pandas as pd

from trendcast.agent.answer.model import StepOut


def period_steps(baseline, forecast) -> list[StepOut]:
    """The steps of `baseline` (a BaselineForecast), each its share of the baseline's and the forecast's (a
    ForecastOut) totals and bounds."""
    steps = getattr(baseline, "steps", None)
    if steps is None or len(steps) == 0:
        return []
    means = steps["mean"].astype(float).to_numpy()
    shares = means / means.sum() if means.sum() else np.full(len(means), 1.0 / len(means))
    return [StepOut(start=pd.Timestamp(ds).date(), baseline=baseline.total * w, forecast=forecast.total * w,
                    lo_80=forecast.lo_80 * w, hi_80=forecast.hi_80 * w, lo_95=forecast.lo_95 * w,
                    hi_95=forecast.hi_95 * w)
            for ds, w in zip(steps["ds"], shares)]


def steps_table(a):
    """A rich Table of an answer's steps; None for a one-step period (its total is the step)."""
    if len(getattr(a, "steps", None) or []) < 2:
        return None
    from rich.table import Table

    t = Table(show_header=True, header_style="bold", title=f"{len(a.steps)} steps", title_justify="left")
    for col in ("step", "baseline", "forecast", "80 % interval"):
        t.add_column(col, justify="left" if col == "step" else "right")
    for s in a.steps:
        t.add_row(str(s.start), f"{s.baseline:,.1f}", f"{s.forecast:,.1f}", f"{s.lo_80:,.1f} .. {s.hi_80:,.1f}")
    t.add_row("[bold]total[/]", f"{sum(s.baseline for s in a.steps):,.1f}",
              f"[bold]{sum(s.forecast for s in a.steps):,.1f}[/]", "")
    return t
