"""Maximal marginal relevance: re-rank candidates so near-duplicates do not crowd out the rest."""
from __future__ import annotations

import numpy as np


def mmr_order(query: np.ndarray, candidates: np.ndarray, k: int, lambda_: float) -> list[int]:
    """Indices of `k` candidates chosen greedily by lambda·sim(query, d) − (1 − lambda)·max sim(d, chosen).

    lambda_ = 1 is plain relevance order; lower values favour diversity. Vectors are unit-length (cosine = dot).
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"mmr must be between 0 and 1, not {lambda_}")
    n = len(candidates)
    if n == 0 or k <= 0:
        return []
    relevance = candidates @ query.reshape(-1)
    pairwise = candidates @ candidates.T
    chosen = [int(np.argmax(relevance))]
    redundancy = pairwise[chosen[0]].copy()
    available = np.ones(n, dtype=bool)
    available[chosen[0]] = False
    while len(chosen) < min(k, n):
        score = lambda_ * relevance - (1.0 - lambda_) * redundancy
        score[~available] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(pick)
        available[pick] = False
        redundancy = np.maximum(redundancy, pairwise[pick])
    return chosen
