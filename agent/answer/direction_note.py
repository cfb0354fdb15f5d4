"""One line for an answer whose adjustment and forecast point different ways: the forecast's direction is against
the last period, the adjustment's against the baseline — a seasonal baseline can make a cut forecast still go up
("forecast is up vs March because the baseline expects April higher; the adjustment lowers it by 48 %")."""
from __future__ import annotations

import datetime as dt


def _name(start: dt.date, end: dt.date) -> str:
    """"March" for a calendar month, "2020-03-02..2020-03-29" otherwise."""
    import pandas as pd

    if start.day == 1 and end == (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date():
        return f"{start:%B}"
    return f"{start.isoformat()}..{end.isoformat()}"


def _moves(pct: float) -> str:
    if abs(pct) < 0.05:
        return "leaves it unchanged"
    return f"{'raises' if pct > 0 else 'lowers'} it by {abs(pct):.1f} %"


def direction_note(*, adjustment_direction: str, applied_pct: float, forecast, baseline_total: float,
                   last_total: float | None, last_span, period, broke: bool = False) -> str | None:
    """The line, or None when the directions agree or the forecast's direction is unknown. `forecast`: the
    answer's ForecastOut; `last_span`: the comparison span the forecast's change is against; `broke`: the last
    period was a break (agent.carry), which the baseline's change then mostly reflects."""
    from trendcast.forecasting.comparisons import pct_change

    if forecast.direction is None or forecast.direction == adjustment_direction or last_span is None:
        return None
    base_change = pct_change(baseline_total, last_total)
    if base_change is None:
        return None
    last, now = _name(last_span.start, last_span.end), _name(period.start, period.end)
    cause = (f"{last} broke from its pattern and the baseline has not absorbed it" if broke else
             "its season and trend")
    why = f"the baseline puts {now} {base_change:+.1f} % against {last} ({cause})"
    return (f"forecast is {forecast.direction} vs {last} ({forecast.change_vs_last_period_pct:+.1f} %) because "
            f"{why}; the adjustment ({adjustment_direction}) {_moves(applied_pct)}")
