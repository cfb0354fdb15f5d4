"""`DocIndex`: the opened FAISS index plus per-document filter arrays; leak-proof as-of search by meaning."""
from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Iterable

import numpy as np

from . import faiss_ops
from .docstore import DocStore
from .eligibility import Eligibility
from .embedders import Embedder, canonical_model_name, get_embedder
from .errors import IndexMismatchError, IndexMissingError
from .hits import Hit
from .index_files import MANIFEST, Manifest, load_faiss, read_manifest
from .mmr import mmr_order
from .query_cache import embed_queries

MMR_POOL = 5  # MMR re-ranks the top max(MMR_POOL·k, 50) eligible documents


class DocIndex:
    """Search the indexed documents by meaning. Nothing dated after `as_of` is ever returned, and the number of hits is
    min(k, eligible documents). Open with `DocIndex.open` (or the per-process cached `open_index`)."""

    def __init__(self, index_dir: Path, store: DocStore, manifest: Manifest, cpu_index, eligibility: Eligibility,
                 gpu_index=None):
        self.index_dir = index_dir
        self.store = store
        self.manifest = manifest
        self._cpu = cpu_index
        self._gpu = gpu_index
        self._eligibility = eligibility
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: str | Path, store: DocStore, model_name: str, *, device: str = "auto") -> "DocIndex":
        """Open the index for `model_name` (the configured embedding model).

        Raises IndexMissingError when there is no index, IndexMismatchError when it was built with another model or
        no longer fits the document store. device: "auto" (all GPUs when faiss-gpu sees any), "cpu" or "gpu".
        """
        index_dir = Path(index_dir)
        wanted = canonical_model_name(model_name)
        for attempt in range(3):
            manifest = read_manifest(index_dir)
            if manifest is None:
                raise IndexMissingError(index_dir)
            if manifest.model != wanted:
                raise IndexMismatchError(index_dir, f"the index was built with embedding model {manifest.model!r}, "
                                                    f"but the configured model is {wanted!r}")
            try:
                cpu_index = load_faiss(index_dir, manifest)
                break
            except IndexMissingError:
                # `trendcast index` in another process may have switched the manifest and removed the file it named
                # between our two reads: read the new manifest and try again.
                now = read_manifest(index_dir)
                if attempt == 2 or now is None or now.build_id == manifest.build_id:
                    raise
        assert manifest is not None  # the loop breaks with a manifest or raises
        indexed = manifest.doc_ids()
        doc_ids, days, kinds = store.meta()
        if len(indexed) and not np.isin(indexed, doc_ids).all():
            raise IndexMismatchError(index_dir, f"the index holds documents that {store.path} does not")
        eligibility = Eligibility(doc_ids, days, kinds, indexed, store.category_pairs())
        gpu_index = None
        if device == "gpu" and not faiss_ops.gpu_available():
            raise IndexMismatchError(index_dir, "device='gpu' was asked for but faiss sees no GPU")
        if device in ("auto", "gpu"):
            gpu_index = faiss_ops.to_gpus(cpu_index)
        return cls(index_dir, store, manifest, cpu_index, eligibility, gpu_index)

    def __repr__(self) -> str:
        return (f"DocIndex({str(self.index_dir)!r}, model={self.model!r}, count={self.count}, kind={self.kind!r}, "
                f"device={self.device!r})")

    @property
    def count(self) -> int:
        return self.manifest.count

    @property
    def model(self) -> str:
        return self.manifest.model

    @property
    def dim(self) -> int:
        return self.manifest.dim

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def device(self) -> str:
        return "gpu" if self._gpu is not None else "cpu"

    def pending(self) -> int:
        """Documents in the store that are not in this index yet (`trendcast index` adds them)."""
        return max(0, self.store.count() - self.count)

    def embedder(self) -> Embedder:
        """The query embedder for this index's model (created on first use; the model loads on first encode)."""
        with self._lock:
            if self._embedder is None:
                self._embedder = get_embedder(self.model)
            return self._embedder

    def query_vector(self, query: str | np.ndarray, embedder: Embedder | None = None) -> np.ndarray:
        if embedder is not None and embedder.name != self.model:
            raise ValueError(f"embedder {embedder.name!r} is not the index's model {self.model!r}")
        if isinstance(query, str):
            vector = embed_queries(self.store, embedder if embedder is not None else self.embedder, [query])[0]
        else:
            vector = np.asarray(query, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(vector))
            vector = vector / norm if norm > 0 else vector
        if vector.shape[0] != self.dim:
            raise ValueError(f"query vector has dimension {vector.shape[0]}, the index {self.dim}")
        return vector

    def eligible(self, *, as_of: date | str | None = None, since: date | str | None = None,
                 kinds: str | Iterable[str] | None = None, categories: str | Iterable[str] | None = None) -> int:
        """How many indexed documents pass these filters."""
        return int(self._eligibility.mask(as_of=as_of, since=since, kinds=kinds, categories=categories).sum())

    def search(self, query: str | np.ndarray, *, as_of: date | str | None = None, since: date | str | None = None,
               kinds: str | Iterable[str] | None = None, categories: str | Iterable[str] | None = None,
               k: int = 10, mmr: float | None = None, embedder: Embedder | None = None) -> list[Hit]:
        """The k documents nearest in meaning to `query` (text, or a vector in the index's space).

        as_of: only documents dated on or before it (undated ones always qualify). since: only documents dated on or
        after it. kinds: news/product/note. categories: documents tagged with any of these. mmr: None for plain
        similarity order, or lambda in [0, 1] for maximal-marginal-relevance diversity (1 = plain, 0.5 = balanced).
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, not {k}")
        mask = self._eligibility.mask(as_of=as_of, since=since, kinds=kinds, categories=categories)
        want = min(k, int(mask.sum()))
        if want == 0:
            return []
        vector = self.query_vector(query, embedder)
        pool = want if mmr is None else min(int(mask.sum()), max(MMR_POOL * k, 50))
        scores, ids = faiss_ops.search_masked(self._cpu, vector, mask, pool, self._gpu)
        if mmr is not None:
            picked = mmr_order(vector, self.vectors(ids), want, mmr)
            scores, ids = scores[picked], ids[picked]
        rows = self.store.rows(ids)
        return [Hit.from_row(rows[int(i)], s) for s, i in zip(scores, ids)]

    def vectors(self, doc_ids: Iterable[int]) -> np.ndarray:
        """The indexed vectors of these documents (float32, one row each, in order)."""
        return faiss_ops.reconstruct(self._cpu, np.fromiter((int(i) for i in doc_ids), dtype=np.int64))


_OPEN: dict[tuple, tuple[str, DocIndex]] = {}
_OPEN_LOCK = threading.Lock()


def open_index(index_dir: str | Path, store: DocStore, model_name: str, *, device: str = "auto") -> DocIndex:
    """`DocIndex.open`, cached per process: the same folder, store file and model give the same object until a new
    build replaces the manifest."""
    index_dir = Path(index_dir).resolve()
    key = (str(index_dir), str(Path(store.path).resolve()), canonical_model_name(model_name), device)
    manifest = read_manifest(index_dir)
    build_id = manifest.build_id if manifest is not None else None
    with _OPEN_LOCK:
        cached = _OPEN.get(key)
        if cached is not None and cached[0] == build_id:
            return cached[1]
        index = DocIndex.open(index_dir, store, model_name, device=device)
        _OPEN[key] = (index.manifest.build_id, index)
        return index


def index_exists(index_dir: str | Path) -> bool:
    return (Path(index_dir) / MANIFEST).is_file()
