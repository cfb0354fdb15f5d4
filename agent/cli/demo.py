"""`trendcast demo`: a workspace built from the bundled real data (agent/data/README.md names sources and licences)."""
from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Callable

from trendcast.agent import workspace
from trendcast.agent.settings import Settings

MRTS = "mrts_sales_by_kind_of_business_long.csv.gz"
NEWS = "headlines_dated.csv.gz"


def bundled_data_dir() -> Path:
    """agent/data/: shipped inside the package (package data), so a non-editable install finds it from any folder."""
    return Path(str(resources.files("trendcast.agent").joinpath("data")))


def mrts_mapping():
    from trendcast.forecasting.ingest import SalesMapping

    return SalesMapping(date="month", value="sales_musd", id="naics_code", name="kind_of_business",
                        where={"adjustment": "NSA"}, code_hierarchy=True, dataset="mrts-nsa")


def news_mapping():
    from trendcast.retrieval import HEADLINES_MAPPING

    return HEADLINES_MAPPING


def build_demo_workspace(settings: Settings, data_dir: Path | None = None,
                         echo: Callable[[str], None] = print) -> None:
    """Ingest the MRTS NSA sales and the news headlines, and index the headlines. Idempotent."""
    data_dir = Path(data_dir) if data_dir else bundled_data_dir()
    for name in (MRTS, NEWS):
        if not (data_dir / name).exists():
            from trendcast.forecasting.errors import InputError

            raise InputError(f"{data_dir / name}: bundled demo file not found (pass --data-dir)")
    home = Path(settings.home).resolve()
    echo(f"workspace: {home} (ask again with `trendcast --home {home} ask \"...\"`, or export TRENDCAST_HOME={home})")
    s = workspace.ingest_sales(settings, data_dir / MRTS, mrts_mapping())
    echo(f"sales: {s.source_rows:,} rows, {s.series} series (US Census MRTS, not seasonally adjusted), {s.start} .. {s.end}")
    d = workspace.ingest_docs(settings, data_dir / NEWS, news_mapping(), "news", dataset="news-headlines")
    echo(f"news: {d.added:,} new headlines ({d.already_stored:,} already stored, {d.repeated:,} rows repeating an "
         "earlier headline of the file)")
    h = ingest_holidays(settings, s.start.year, s.end.year + 1)
    echo(f"holidays: {h.added:,} new US retail holidays {s.start.year}..{s.end.year + 1} (computed; events known "
         "ahead)")
    i = workspace.build_index(settings)
    echo(f"index: {i.total:,} documents ({i.added:,} embedded now, {i.docs_per_s:,.0f} docs/s)")
    warm_backtests(settings, WARM_AS_OF, echo)


def ingest_holidays(settings: Settings, first_year: int, last_year: int):
    """The computed US retail holiday calendar (forecasting.holidays) as events known ahead (scheduled: every row is
    computed by a fixed rule), via a CSV file kept in the workspace (`us-retail-holidays.csv`: the user can read
    what was ingested)."""
    from trendcast.forecasting.holidays import us_retail_holidays

    path = settings.home / "us-retail-holidays.csv"
    settings.home.mkdir(parents=True, exist_ok=True)
    us_retail_holidays(first_year, last_year).to_csv(path, index=False)
    return workspace.ingest_calendar(settings, path, date="date", events=("event",), dataset="us-retail-holidays",
                                     scheduled=True)


WARM_AS_OF = dt.date(2020, 3, 31)  # the demo's as-of (cli_ask `demo --as-of` default)


def warm_backtests(settings: Settings, as_of: dt.date, echo: Callable[[str], None] = print) -> None:
    """Backtest every series once at the origins an answer as of `as_of` learns from (agent.casebook: past cases
    and the carry adjuster's 20 years of misses), into the store's situation cache: later answers read them."""
    import time

    from trendcast.agent.situation.casebook import miss_origins, precompute_backtests

    t0 = time.perf_counter()
    store = workspace.sales_store(settings)
    series = store.series()
    for freq, group in series.groupby("freq"):
        precompute_backtests(store, series, group["unique_id"].tolist(), str(freq), [as_of], "next-month")
    n = len(miss_origins(as_of, "next-month", "MS"))
    echo(f"past cases: {len(series)} series backtested at up to {n} past origins ({time.perf_counter() - t0:.0f} s; "
         "cached for every answer)")
