"""The workspace: one folder (Settings.home) with the sales store, the document store, the index and the call log.

Glue between Settings and the packages' stores; every heavy import is local so `trendcast --help` stays instant.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from trendcast.agent.settings import Settings


def sales_store(settings: Settings):
    from trendcast.forecasting.store import SalesStore

    return SalesStore(settings.sales_db)


def doc_store(settings: Settings):
    from trendcast.retrieval import DocStore

    return DocStore(settings.docs_db)


def embedder(settings: Settings):
    from trendcast.retrieval import get_embedder

    return get_embedder(settings.embed_model, batch_size=settings.embed_batch_size)


UNITS = {"mrts-nsa": "millions of USD"}  # the unit of each bundled dataset, shown in answers and prompts


def unit_of(series, series_id: str) -> str | None:
    """The unit of a series' dataset (None when unknown). `series`: SalesStore.series()."""
    row = series.loc[series["unique_id"] == series_id]
    return UNITS.get(str(row["dataset"].iloc[0])) if not row.empty and "dataset" in row else None


MARKET_QUERY = "what is driving shoppers and store sales"  # the demand climate every category shares


def series_query(name: str) -> str:
    """The retrieval query that stands for a category (pre-embedded by `trendcast index`)."""
    return f"{name} sales"


def situation_queries(name: str) -> list[str]:
    """Evidence for a category = what bears on it specifically + the shared demand climate."""
    return [series_query(name), MARKET_QUERY]


def ingest_sales(settings: Settings, path: Path, mapping):
    from trendcast.forecasting.ingest import ingest_sales as _ingest

    return _ingest(sales_store(settings), path, mapping)


def ingest_docs(settings: Settings, path: Path, mapping, kind: str, dataset: str | None = None):
    from trendcast.retrieval import ingest_docs as _ingest

    return _ingest(doc_store(settings), path, mapping, kind, dataset=dataset)


def ingest_calendar(settings: Settings, path: Path, dayfirst: bool | None = None, **kwargs):
    """retrieval.ingest_calendar, its dates read like a sales file's (forecasting.dates_text: ISO, --date-format, or
    NN-NN-YYYY day-first / month-first detected from the whole column; `dayfirst` fixes the order)."""
    from functools import partial

    from trendcast.forecasting.dates_text import parse_days
    from trendcast.retrieval import ingest_calendar as _ingest

    return _ingest(doc_store(settings), path, parse_days=partial(parse_days, dayfirst=dayfirst), **kwargs)


def build_index(settings: Settings, rebuild: bool = False):
    """Embed new documents, update the index, and pre-embed every series' query (so `ask` needs no model)."""
    from trendcast.retrieval import build_index as _build, embed_queries

    emb = embedder(settings)
    summary = _build(settings.index_dir, doc_store(settings), emb, rebuild=rebuild,
                     exact_max=settings.exact_index_max, progress=True)
    names = sales_store(settings).series()
    if not names.empty:
        embed_queries(doc_store(settings), emb,
                      [MARKET_QUERY] + [series_query(n) for n in names["name"].astype(str)])
    return summary


def index_exists(settings: Settings) -> bool:
    from trendcast.retrieval import index_exists as _exists

    return _exists(settings.index_dir)


def open_index(settings: Settings):
    """The workspace's index (cached per process until a new build replaces it)."""
    from trendcast.retrieval import open_index as _open

    return _open(settings.index_dir, doc_store(settings), settings.embed_model)


def query_vectors(settings: Settings, texts: list[str]):
    """Embeddings of query texts, from the workspace cache; only misses load the model."""
    from trendcast.retrieval import embed_queries

    return embed_queries(doc_store(settings), lambda: embedder(settings), texts)


def search(settings: Settings, query: str, *, as_of: dt.date | None = None, since: dt.date | None = None,
           kinds=None, categories=None, k: int = 10, mmr: float | None = None):
    idx = open_index(settings)
    vec = query_vectors(settings, [query])[0]
    return idx.search(vec, as_of=as_of, since=since, kinds=kinds, categories=categories, k=k, mmr=mmr)


def calllog(settings: Settings):
    from trendcast.agent.llm.calllog import CallLog

    return CallLog(settings.llm_db)
