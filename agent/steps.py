"""The steps of a multi-step period (next 3 months, next quarter, next year, a range): what an answer shows beside
the period total.

The baseline forecasts each step (forecasting.baseline.BaselineForecast.steps: per-step medians of its members,
whose sum differs a little from the period total, the median of the members' totals); the adjusted forecast is the
period total times (1 + adjustment). A step's baseline and forecast are those totals shared out in proportion to
the step medians, so the steps add up to the totals the answer states; its 80/95 % bounds are the step's own,
scaled like its forecast (the period's bounds are not the sum of the steps': errors partly cancel, and with trust
applied they come from the record's past errors)."""
from __future__ import annotations

import pandas as pd

from trendcast.agent.answer import StepOut


def period_steps(baseline, forecast) -> list[StepOut]:
    """Each step of `baseline` (a BaselineForecast) scaled to `forecast` (a ForecastOut)."""
    steps = getattr(baseline, "steps", None)
    if steps is None or len(steps) == 0:
        return []
    summed = float(steps["mean"].sum())
    to_base = baseline.total / summed if summed else 1.0
    to_fc = forecast.total / summed if summed else 1.0
    return [StepOut(start=pd.Timestamp(r["ds"]).date(), baseline=float(r["mean"]) * to_base,
                    forecast=float(r["mean"]) * to_fc, lo_80=float(r["lo_80"]) * to_fc, hi_80=float(r["hi_80"]) * to_fc,
                    lo_95=float(r["lo_95"]) * to_fc, hi_95=float(r["hi_95"]) * to_fc)
            for _, r in steps.iterrows()]


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
