"""Data commands: ingest sales/docs, index, search, series."""
from __future__ import annotations

from pathlib import Path

import click

from trendcast.agent.cli.base import date_arg, emit_json, settings_of
from trendcast.agent.cli.main import cli
from trendcast.agent import workspace
from trendcast.agent.visible import visible


@cli.group()
def ingest():
    """Load sales (CSV/Parquet) or documents (CSV/Parquet/JSONL) into the workspace."""


def _where(values: tuple[str, ...]) -> tuple[dict, dict]:
    from trendcast.forecasting.filters import parse_where

    try:
        return parse_where(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--where") from None


@ingest.command("sales")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--date", "date_col", default="ds", show_default=True, help="Date column.")
@click.option("--value", "value_col", default="y", show_default=True,
              help="Value column, or a product of columns such as Quantity*UnitPrice.")
@click.option("--id", "id_col", help="Series id column (or --levels; neither: the file is one series).")
@click.option("--levels", help="Hierarchy columns, top first, e.g. Store,Dept: aggregates are built for each level.")
@click.option("--name", "name_col", help="Display-name column.")
@click.option("--freq", type=click.Choice(["D", "W", "M", "daily", "weekly", "monthly"]), help="Default: inferred.")
@click.option("--where", multiple=True,
              help="Keep rows: COL=V (repeat on one column: any of them), COL!=V, 'COL in A,B', 'COL not in A,B'.")
@click.option("--code-hierarchy", is_flag=True, help="Ids are codes whose prefixes form the hierarchy (NAICS).")
@click.option("--dataset", help="Dataset name (default: the file name); re-ingesting a dataset replaces it.")
@click.option("--date-format", help="strptime format of the date column, e.g. %d-%m-%Y (default: detected).")
@click.option("--dayfirst/--monthfirst", default=None, help="Read NN-NN-YYYY dates day-first or month-first "
              "(default: the way every value parses; ambiguous columns stop the ingest).")
@click.option("--totals", help="With --levels: total rows in the file: auto (found by name or by adding up; the "
              "default), none, or the comma list of values that are totals.")
@click.option("--aggregate", type=click.Choice(["sum", "count"]),
              help="A transaction log: sum (or count) rows per series and --freq period.")
@click.option("--negatives", type=click.Choice(["keep", "drop"]), default="keep", show_default=True,
              help="With --aggregate: keep negative lines (returns, cancellations: net sales) or drop them.")
@click.option("--week-label", type=click.Choice(["start", "end"]), default="start", show_default=True,
              help="Weekly dates name the week's first or last day.")
@click.option("--complete-through", callback=date_arg,
              help="The data is complete through this date: later-ending periods are left out.")
@click.option("--encoding", help="Text encoding of a CSV / JSON file, e.g. cp1252 or latin-1 (default: UTF-8).")
@click.option("--namespace", is_flag=True, help="Prefix series ids with '<dataset>:' (to share a workspace with "
              "data sets whose ids clash).")
@click.pass_context
def ingest_sales_cmd(ctx, file, date_col, value_col, id_col, levels, name_col, freq, where, code_hierarchy, dataset,
                     date_format, dayfirst, totals, aggregate, negatives, week_label, complete_through, encoding,
                     namespace):
    """Load sales in long format; builds every aggregate level; all or nothing."""
    from trendcast.forecasting.ingest import SalesMapping

    if id_col and levels:
        raise click.UsageError("give one of --id COLUMN or --levels COL1,COL2, not both")
    keep, drop = _where(where)
    mapping = SalesMapping(date=date_col, value=value_col, id=id_col,
                           levels=(tuple(c.strip() for c in levels.split(",")) if levels else None if id_col else ()),
                           name=name_col, freq=freq, where=keep, where_not=drop, code_hierarchy=code_hierarchy,
                           dataset=dataset, date_format=date_format, dayfirst=dayfirst, totals=totals,
                           aggregate=aggregate, negatives=negatives, week_label=week_label,
                           complete_through=complete_through.isoformat() if complete_through else None,
                           namespace=namespace, encoding=encoding)
    s = workspace.ingest_sales(settings_of(ctx), file, mapping)
    levels = ", ".join(f"{k}: {v:,}" for k, v in s.levels.items())
    echo = lambda text: click.echo(visible(text))  # noqa: E731 - names and values from the file may hold escapes
    echo(f"ingested {s.source_rows:,} rows → {s.series:,} series ({levels}; {s.freq}, "
         f"{s.start} .. {s.end}), {s.rows:,} stored values, as dataset '{s.dataset}' in {s.seconds:.1f} s")
    for why, n in s.dropped.items():
        echo(f"  left out: {n:,} {why}")
    for note in s.notes:
        echo(f"  note: {note}")


@ingest.command("docs")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["news", "product", "note", "event"]), default="news", show_default=True)
@click.option("--text", "text_col", default="text", show_default=True, help="Text column.")
@click.option("--date", "date_col", default=None, help="Date column (products may be undated).")
@click.option("--title", "title_col", help="Title column.")
@click.option("--body", "body_col", help="Longer text embedded with the main text (e.g. a description).")
@click.option("--source", "source_col", help="Source column.")
@click.option("--url", "url_col", help="URL column.")
@click.option("--categories", "categories_col", multiple=True,
              help="Column(s) of category tags (series ids or names, '|'-separated) linking documents to series.")
@click.option("--event-date", "event_col", help="Column of the day a document is about (an announced promotion, a "
              "holiday), when that is not the day it became known (--date): it is evidence for the period it falls in.")
@click.option("--date-format", help="strptime format of the date column (default: ISO 8601).")
@click.option("--dataset", help="Dataset name (default: the file name).")
@click.option("--encoding", help="Text encoding of a CSV / JSON file, e.g. cp1252 or latin-1 (default: UTF-8).")
@click.pass_context
def ingest_docs_cmd(ctx, file, kind, text_col, date_col, title_col, body_col, source_col, url_col,
                    categories_col, event_col, date_format, dataset, encoding):
    """Load dated documents (news, product texts, notes); duplicates are stored once."""
    from trendcast.retrieval import DocMapping

    mapping = DocMapping(text=text_col, date=date_col, title=title_col, body=body_col, source=source_col,
                         url=url_col, categories=categories_col, date_format=date_format, event_date=event_col,
                         encoding=encoding)
    s = workspace.ingest_docs(settings_of(ctx), file, mapping, kind, dataset=dataset)
    _docs_summary(s)


def _docs_summary(s) -> None:
    blank = f", {s.skipped:,} rows without text left out" if s.skipped else ""
    click.echo(f"ingested {s.added:,} new documents ({s.already_stored:,} already stored, {s.repeated:,} repeated in the file{blank}) in {s.seconds:.1f} s; "
               "run `trendcast index` to embed them")


@ingest.command("calendar")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--date", "date_col", default="date", show_default=True, help="Column of the event's day.")
@click.option("--event", "event_cols", multiple=True, required=True,
              help="Column of event names (repeatable: event_name_1, event_name_2); blank cells are no event.")
@click.option("--categories", "categories_col", multiple=True, help="Column(s) of tags limiting an event to series.")
@click.option("--known", "known_col", help="Column of the day each event became known (an announcement); rows "
              "without one are known from their own day, unless --scheduled or recognised by --country.")
@click.option("--scheduled", is_flag=True, help="Every row is a scheduled holiday or promotion, known ahead "
              "(from the start). Without it, an event counts as known only from its own day.")
@click.option("--country", help="ISO country code (EC, US, BR, ...): rows the `holidays` library recognises as "
              "public holidays of that country on that day are known ahead.")
@click.option("--subdiv", help="With --country: a subdivision (state, province) whose holidays count too.")
@click.option("--date-format", help="strptime format of the date columns (default: ISO 8601, or NN-NN-YYYY read "
              "day-first or month-first, whichever the column allows).")
@click.option("--dayfirst/--monthfirst", default=None, help="Read NN-NN-YYYY dates day-first or month-first "
              "(default: detect).")
@click.option("--dataset", help="Dataset name (default: the file name).")
@click.option("--encoding", help="Text encoding of a CSV / JSON file, e.g. cp1252 or latin-1 (default: UTF-8).")
@click.pass_context
def ingest_calendar_cmd(ctx, file, date_col, event_cols, categories_col, known_col, scheduled, country, subdiv,
                        date_format, dayfirst, dataset, encoding):
    """Load a holiday / promotion / event calendar: answers show the events inside their period known by as-of."""
    if subdiv and not country:
        raise click.UsageError("--subdiv needs --country")
    s = workspace.ingest_calendar(settings_of(ctx), file, date=date_col, events=tuple(event_cols),
                                  categories=tuple(categories_col), known=known_col, dataset=dataset,
                                  date_format=date_format, dayfirst=dayfirst, scheduled=scheduled,
                                  country=country, subdiv=subdiv, encoding=encoding)
    _docs_summary(s)
    if s.known_ahead is not None:
        stored = s.added + s.duplicates
        click.echo(f"known ahead: {s.known_ahead:,} of {stored:,} events"
                   + (" (--scheduled)" if scheduled else f" (holidays of {country.upper()} by the `holidays` "
                      "library)" if country else "")
                   + ("" if s.known_ahead == stored else "; the others count as known from their own day"
                      + (" or their --known day" if known_col else "")))


@cli.command()
@click.option("--rebuild", is_flag=True, help="Re-embed every stored document (needed after changing the model).")
@click.pass_context
def index(ctx, rebuild):
    """Embed documents not yet embedded and update the FAISS index."""
    s = workspace.build_index(settings_of(ctx), rebuild=rebuild)
    click.echo(f"index: {s.total:,} documents ({s.added:,} new, {s.kind}, {s.device}) in {s.seconds:.1f} s "
               f"— {s.docs_per_s:,.0f} docs/s")


@cli.command()
@click.argument("query")
@click.option("--as-of", callback=date_arg, help="Only documents dated on or before this date (YYYY-MM-DD).")
@click.option("--since", callback=date_arg, help="Only documents dated on or after this date.")
@click.option("--window", help="Only the last N days before as-of, e.g. 30d.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["news", "product", "note"]))
@click.option("--category", "categories", multiple=True, help="Only documents tagged with this category.")
@click.option("-k", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mmr", type=click.FloatRange(0, 1), help="Diversify: MMR trade-off (1 = pure relevance).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def search(ctx, query, as_of, since, window, kinds, categories, k, mmr, as_json):
    """Search documents by meaning, never past --as-of."""
    import datetime as dt

    if window:
        if since:
            raise click.UsageError("give --since or --window, not both")
        if not window.rstrip("d").isdigit():
            raise click.BadParameter(f"{window!r}: expected a number of days like 30d", param_hint="--window")
        anchor = as_of or dt.date.today()
        since = anchor - dt.timedelta(days=int(window.rstrip("d")) - 1)
    hits = workspace.search(settings_of(ctx), query, as_of=as_of, since=since, kinds=list(kinds) or None,
                            categories=list(categories) or None, k=k, mmr=mmr)
    if as_json:
        emit_json([h.as_dict() if hasattr(h, "as_dict") else dict(h.__dict__) for h in hits])
        return
    from trendcast.agent.cli.console import print_hits

    print_hits(hits)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Every field of every series, as JSON.")
@click.option("--wide", is_flag=True, help="One line per series with every column (laid out for 80 columns "
              "otherwise).")
@click.pass_context
def series(ctx, as_json, wide):
    """List the series in the workspace."""
    table = workspace.sales_store(settings_of(ctx)).series()
    if as_json:
        emit_json(table.to_dict(orient="records"))
        return
    from trendcast.agent.cli.tables import print_series

    print_series(table, wide=wide)
