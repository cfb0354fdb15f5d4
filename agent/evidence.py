"""Evidence search: the documents that bear on a situation, and the news climate at a date — as of that date.

Nothing dated after the as-of is retrievable (retrieval.DocIndex.search enforces `as_of`); a workspace without an
index gives no evidence (the situation warns).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from trendcast.agent import workspace
from trendcast.agent.settings import Settings

MMR_LAMBDA = 0.7  # relevance vs diversity of the documents one query returns
SEARCHED_KINDS = ("news", "product", "note")  # events reach a situation as scheduled (agent.events), not by meaning


class EvidenceSearch:
    """Evidence and news-climate lookups against the workspace index (absent index → empty)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.index = workspace.open_index(settings) if workspace.index_exists(settings) else None

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

    def climate(self, hits) -> np.ndarray | None:
        """The unit mean embedding of some documents: the news climate they stand for."""
        if not hits:
            return None
        v = self.index.vectors([h.doc_id for h in hits]).mean(axis=0)
        n = np.linalg.norm(v)
        return v / n if n > 0 else None
