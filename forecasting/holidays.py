"""A US retail holiday calendar, computed (never downloaded): the federal holidays, Easter Sunday, Black Friday and
Cyber Monday. The demo workspace ingests it as events known ahead (agent.demo)."""
from __future__ import annotations

import pandas as pd
from dateutil.easter import easter
from pandas.tseries.holiday import USFederalHolidayCalendar


def us_retail_holidays(first_year: int, last_year: int) -> pd.DataFrame:
    """``date, event`` rows (ISO dates), one per holiday, first_year..last_year, by date."""
    start, end = pd.Timestamp(first_year, 1, 1), pd.Timestamp(last_year, 12, 31)
    cal = USFederalHolidayCalendar()
    federal = cal.holidays(start, end, return_name=True)
    rows = [(day.date(), name) for day, name in zip(pd.DatetimeIndex(federal.index), federal)]
    for year in range(first_year, last_year + 1):
        rows.append((easter(year), "Easter Sunday"))
        thanksgiving = [d for d, n in rows if n == "Thanksgiving Day" and d.year == year]
        for day in thanksgiving:
            rows.append(((pd.Timestamp(day) + pd.Timedelta(days=1)).date(), "Black Friday"))
            rows.append(((pd.Timestamp(day) + pd.Timedelta(days=4)).date(), "Cyber Monday"))
    out = pd.DataFrame(rows, columns=["date", "event"]).sort_values(["date", "event"], ignore_index=True)
    out["date"] = out["date"].map(lambda d: d.isoformat())
    return out
