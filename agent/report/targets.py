"""Which categories a report covers (a hierarchy level, or named categories) and its as-of date."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from trendcast.agent.question.parse import QuestionError
from trendcast.agent.question.resolve import Target, resolve_category


def split_list(values) -> list[str]:
    """`("a,b", "c")` → `["a", "b", "c"]`: comma lists, possibly given several times."""
    out = []
    for v in values or ():
        out += [x.strip() for x in str(v).split(",") if x.strip()]
    return out


def select_targets(series: pd.DataFrame, levels: list[str] | None = None, categories: list[str] | None = None,
                   semantic=None) -> tuple[list[Target], str]:
    """The report's categories and a label saying how they were chosen. Neither levels nor categories: every
    series in the workspace."""
    if series.empty:
        raise QuestionError("the workspace holds no sales yet: run `trendcast ingest sales FILE` (or `trendcast demo`)")
    if levels and categories:
        raise QuestionError("give --level or --categories, not both")
    if categories:
        targets, seen = [], set()
        for text in categories:
            t = resolve_category(text, series, semantic=semantic)
            if t.series_id not in seen:
                seen.add(t.series_id)
                targets.append(t)
        return targets, "categories " + ", ".join(t.name for t in targets)
    if levels:
        known = [str(x) for x in series["level"].drop_duplicates()]
        unknown = [lv for lv in levels if lv not in known]
        if unknown:
            raise QuestionError(f"no series at level {', '.join(map(repr, unknown))}; levels in the workspace: "
                                f"{', '.join(known)}")
        rows = series[series["level"].astype(str).isin(levels)]
        label = "level " + ", ".join(levels)
    else:
        rows, label = series, "all series"
    order = sorted(range(len(rows)), key=lambda i: (str(rows["level"].iloc[i]), str(rows["unique_id"].iloc[i])))
    rows = rows.iloc[order]
    return [Target.from_row(r, "level") for _, r in rows.iterrows()], label


def report_as_of(series: pd.DataFrame, targets: list[Target]) -> dt.date:
    """The end of the last observed period over the report's series (one as-of for the whole report), as `ask`
    takes it for one series."""
    from trendcast.forecasting.periods import default_as_of

    ends = series.set_index(series["unique_id"].astype(str))["end"]
    return max(default_as_of(pd.DataFrame({"ds": [ends.loc[t.series_id]], "y": [0.0]}), t.freq) for t in targets)


def iso_week(d: dt.date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"
