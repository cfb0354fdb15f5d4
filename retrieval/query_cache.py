"""`embed_queries`: query vectors through the cache in docs.duckdb, so only unseen queries load the model."""
from __future__ import annotations

from typing import Callable, Sequence, Union, cast

import numpy as np

from trendcast.common.stores import StoreError

from .docstore import DocStore
from .embedders import Embedder
from .errors import StoreBusyError
from .texts import clean_text, query_hash

EmbedderOrFactory = Union[Embedder, Callable[[], Embedder]]


def resolve_embedder(embedder_or_factory: EmbedderOrFactory) -> Embedder:
    """An embedder, calling a zero-argument factory when given one (cheap: models load on first encode)."""
    if hasattr(embedder_or_factory, "encode"):
        return cast(Embedder, embedder_or_factory)
    return embedder_or_factory()


def embed_queries(store: DocStore, embedder_or_factory: EmbedderOrFactory, texts: Sequence[str]) -> np.ndarray:
    """One unit vector per text, in order. Cached vectors come from the store; misses are encoded and cached.

    Caching is best effort: when another process keeps the store locked past its wait, or the store cannot be
    written (a read-only workspace, a full disk), the vectors are returned uncached (the next call encodes them
    again) rather than failing the search they were made for.
    """
    embedder = resolve_embedder(embedder_or_factory)
    cleaned = [clean_text(t) for t in texts]
    hashes = [query_hash(t) for t in cleaned]
    found = store.cached_queries(embedder.name, sorted(set(hashes)))
    missing = {h: t for h, t in zip(hashes, cleaned) if h not in found}
    if missing:
        vectors = embedder.encode(list(missing.values()))
        fresh = list(zip(missing.keys(), missing.values(), vectors))
        try:
            store.cache_queries(embedder.name, fresh)
        except StoreBusyError:
            pass
        except StoreError as exc:
            if exc.kind == "damaged":
                raise
        found.update({h: v for h, _, v in fresh})
    if not hashes:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[h] for h in hashes]).astype(np.float32)


def cached_vectors(store: DocStore, embedder_or_factory: EmbedderOrFactory, texts: Sequence[str]) -> np.ndarray:
    """The cached vectors of those texts already embedded (one row each, in the order of `texts`, the others left
    out); never loads the model."""
    embedder = resolve_embedder(embedder_or_factory)
    hashes = [query_hash(clean_text(t)) for t in texts]
    found = store.cached_queries(embedder.name, sorted(set(hashes)))
    rows = [found[h] for h in dict.fromkeys(hashes) if h in found]
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
