"""retrieval: document store, embedders (registry), FAISS index, leak-proof as-of search, MMR, LangChain retriever.

Importing this package is light: no torch, sentence-transformers or langchain until they are used.

    store = DocStore(home / "docs.duckdb")
    ingest_docs(store, "news.csv", DocMapping(text="headline", date="date"), kind="news")
    build_index(home / "index", store, get_embedder("all-MiniLM-L6-v2"))
    index = open_index(home / "index", store, "all-MiniLM-L6-v2")
    hits = index.search("stores close for lockdown", as_of="2020-03-31", k=10)
"""
from __future__ import annotations

from .build import IndexSummary, build_index
from .doc_index import DocIndex, index_exists, open_index
from .docstore import KINDS, DocStore
from .eligibility import window_start
from .embedders import (DEFAULT_MODEL, Embedder, canonical_model_name, get_embedder, register_embedder,
                        unregister_embedder)
from .errors import EmbedderError, IndexMismatchError, IndexMissingError, InputError, RetrievalError
from .hits import Hit
from .ingest import IngestSummary, ingest_calendar, ingest_docs
from .mapping import HEADLINES_MAPPING, DocMapping
from .query_cache import embed_queries

__all__ = [
    "DEFAULT_MODEL", "HEADLINES_MAPPING", "KINDS", "DocIndex", "DocMapping", "DocStore", "Embedder", "EmbedderError",
    "Hit", "IndexMismatchError", "IndexMissingError", "IndexSummary", "IngestSummary", "InputError", "RetrievalError",
    "TrendcastRetriever", "build_index", "canonical_model_name", "embed_queries", "get_embedder", "index_exists",
    "ingest_calendar", "ingest_docs", "open_index", "register_embedder", "unregister_embedder", "window_start",
]


def __getattr__(name: str):
    if name == "TrendcastRetriever":  # langchain_core costs ~0.5 s to import: only when asked for
        from .langchain_retriever import TrendcastRetriever

        return TrendcastRetriever
    raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
