"""Evidence search: the documents that bear on a situation, and the news climate at a date — as of that date.

Nothing dated after the as-of is retrievable (retrieval.DocIndex.search enforces `as_of`); a workspace without an
index gives no evidence (the situation warns). An answer's evidence is what is about its category
(`category_evidence`, retrieval.relevance): specific to it rather than to shopping in general, near-duplicates left
out, nothing below a minimum relevance — no evidence rather than generic headlines.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendcast.agent import workspace
from trendcast.agent.settings import Settings

MMR_LAMBDA = 0.7  # relevance vs diversity of the documents one query returns
SEARCHED_KINDS = ("news", "product", "note")  # events reach a situation as scheduled (agent.events), not by meaning
POOL = 40  # candidates per query that relevance chooses the evidence from
# where a dataset's series are (None: unknown, no region preference); the currency of its unit says it otherwise
DATASET_REGIONS = {"mrts-nsa": "US"}
CURRENCY_REGIONS = {"USD": "US", "GBP": "GB"}


@dataclass(frozen=True)
class Category:
    """What evidence must be about: the category's name, its own words, its hierarchy ancestors' words and where
    its series are."""
    name: str
    own: frozenset
    ancestors: frozenset
    region: str | None


def category_of(series: pd.DataFrame | None, target) -> Category:
    """The Category of a target, its ancestors read off the series table's parent_id chain."""
    from trendcast.retrieval.relevance import terms

    ancestors: set[str] = set()
    region = None
    if series is not None and not series.empty and "unique_id" in series:
        rows = series.set_index(series["unique_id"].astype(str))
        seen, node = set(), str(target.series_id)
        while node in rows.index and node not in seen:
            seen.add(node)
            row = rows.loc[node]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            if node != str(target.series_id):
                ancestors |= terms(str(row.get("name", "")))
            parent = row.get("parent_id")
            node = str(parent) if parent is not None and not pd.isna(parent) else ""
        if str(target.series_id) in rows.index:
            dataset = str(rows.loc[[str(target.series_id)]].iloc[0].get("dataset"))
            region = DATASET_REGIONS.get(dataset) or _unit_region(workspace.unit_of(series, target.series_id))
    return Category(name=target.name, own=frozenset(terms(target.name)), ancestors=frozenset(ancestors),
                    region=region)


def _unit_region(unit: str | None) -> str | None:
    return next((r for cur, r in CURRENCY_REGIONS.items() if unit and cur in unit.upper()), None)


class EvidenceSearch:
    """Evidence and news-climate lookups against the workspace index (absent index → empty)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.index = workspace.open_index(settings) if workspace.index_exists(settings) else None
        self._categories: np.ndarray | None = None  # every category's query vector (cached ones), once

    def query_vectors(self, series_name: str):
        """The situation's query embeddings (from the workspace cache), None without an index."""
        if self.index is None:
            return None
        return workspace.query_vectors(self.settings, workspace.situation_queries(series_name))

    def evidence(self, query_vecs, as_of: dt.date, k: int):
        """The k best documents dated in (as_of - window, as_of] over the situation's queries (MMR-diversified
        per query, merged by score); the whole past when the window holds none."""
        if self.index is None or query_vecs is None:
            return []
        since = as_of - dt.timedelta(days=self.settings.evidence_window_days - 1)
        per_query = max(k // len(query_vecs) + 2, 3)
        hits = [h for v in query_vecs for h in self.index.search(v, as_of=as_of, since=since, k=per_query,
                                                                 mmr=MMR_LAMBDA, kinds=SEARCHED_KINDS)]
        if not hits:
            hits = [h for v in query_vecs for h in self.index.search(v, as_of=as_of, k=per_query, mmr=MMR_LAMBDA,
                                                                     kinds=SEARCHED_KINDS)]
        best: dict = {}
        for h in sorted(hits, key=lambda h: -h.score):
            best.setdefault(h.doc_id, h)
        return list(best.values())[:k]

    def category_evidence(self, category: Category, query_vecs, as_of: dt.date, k: int, series_names=()):
        """The k documents most about `category` (retrieval.relevance.rank) among the candidates of its queries,
        dated in (as_of - window, as_of] (the whole past when the window holds none); empty when none is specific
        enough. Each hit's score is its relevance."""
        if self.index is None or query_vecs is None or k == 0:
            return []
        from trendcast.retrieval.relevance import rank

        pool = self._candidates(query_vecs, as_of, POOL)
        if not pool:
            return []
        vectors = self.index.vectors([h.doc_id for h in pool])
        return rank(pool, vectors, query_vecs[0], self._category_vectors(series_names), own=set(category.own),
                    ancestors=set(category.ancestors), region=category.region, k=k)

    def _candidates(self, query_vecs, as_of: dt.date, per_query: int) -> list:
        assert self.index is not None  # category_evidence asks only with an index
        since = as_of - dt.timedelta(days=self.settings.evidence_window_days - 1)
        for window in (since, None):
            hits = [h for v in query_vecs for h in self.index.search(v, as_of=as_of, since=window, k=per_query,
                                                                     mmr=MMR_LAMBDA, kinds=SEARCHED_KINDS)]
            if hits:
                return list({h.doc_id: h for h in hits}.values())
        return []

    def _category_vectors(self, names) -> np.ndarray | None:
        """The query vectors of every category (those the index cached: never loads the model)."""
        if self._categories is None and len(names):
            from trendcast.retrieval.query_cache import cached_vectors

            self._categories = cached_vectors(workspace.doc_store(self.settings),
                                              lambda: workspace.embedder(self.settings),
                                              [workspace.series_query(str(n)) for n in names])
        return self._categories if self._categories is not None and len(self._categories) else None

    def climate(self, hits) -> np.ndarray | None:
        """The unit mean embedding of some documents: the news climate they stand for."""
        if not hits:
            return None
        assert self.index is not None  # hits come from the index
        v = self.index.vectors([h.doc_id for h in hits]).mean(axis=0)
        n = np.linalg.norm(v)
        return v / n if n > 0 else None
