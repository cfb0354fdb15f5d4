"""FAISS: making the index (exact flat below a size, IVF above; GPUs when faiss-gpu sees one) and filtered search.

Faiss ids are document ids. Search is restricted to the eligible ids given as a boolean mask over the id space:
- CPU: an `IDSelectorBitmap` in the search parameters, so only eligible vectors are ever scored; on IVF, when the
  probed lists hold fewer eligible vectors than wanted, the search is repeated over every list (exhaustive).
- GPU (selectors unsupported there): over-fetch with a growing k and drop ineligible results; when the GPU's k limit
  is reached first, the CPU index answers with the selector.
Either way the caller gets min(k, eligible) results and none outside the mask.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import cast

import faiss
import numpy as np

GPU_MAX_K = 1024  # faiss GPU k-selection limit (2048 on recent builds; stay below it)


def gpu_available() -> bool:
    return faiss.get_num_gpus() > 0 and hasattr(faiss, "index_cpu_to_all_gpus")


def to_gpus(index):
    """The index cloned onto every visible GPU, or None when faiss-gpu or a GPU is missing or the clone fails."""
    if not gpu_available():
        return None
    try:
        return faiss.index_cpu_to_all_gpus(index)
    except RuntimeError:  # an index type the GPU cloner does not support: search stays on the CPU
        return None


# IVF sizing, measured on the 20,551 real headline embeddings (bench/bench_ivf.py; bench/README.md): with
# ~4·sqrt(n) lists (>= 39 vectors each), recall@10 against the exact index reaches 0.95 at nprobe 64 and not at 32,
# on held-out headlines and on real questions alike. The fraction of lists needed fell as the corpus grew (1/4 at
# 5k and 10k vectors, 1/8 at 20k), so probing at least 1/8 of them is the conservative carry-over to larger corpora.
NPROBE_MIN = 64
NPROBE_FRACTION = 8  # probe at least 1/NPROBE_FRACTION of the lists
TRAIN_PER_LIST = 40  # k-means trains on a seeded sample of at most this many vectors per list (faiss wants >= 39)
REGROW = 2  # an IVF index is retrained when its size calls for REGROW times the lists it was trained with


def nlist_for(total: int) -> int:
    """Lists for an IVF index of `total` vectors: ~4·sqrt(n), with >= 39 training points each."""
    return max(1, min(int(4 * math.sqrt(total)), total // 39, 65536))


def nprobe_for(nlist: int) -> int:
    """Lists searched per query: NPROBE_MIN, or 1/NPROBE_FRACTION of them when that is more (never more than all)."""
    return max(1, min(nlist, max(NPROBE_MIN, nlist // NPROBE_FRACTION)))


def ivf_params(total: int) -> tuple[int, int]:
    """(nlist, nprobe) for an IVF index of `total` vectors."""
    nlist = nlist_for(total)
    return nlist, nprobe_for(nlist)


def outgrown(nlist: int, total: int) -> bool:
    """True when an IVF index trained with `nlist` lists now holds so many vectors that it should be retrained."""
    return nlist_for(total) >= REGROW * nlist


def training_sample(vectors: np.ndarray, nlist: int, seed: int = 0) -> np.ndarray:
    """The vectors k-means trains on: all of them, or a seeded random TRAIN_PER_LIST·nlist of them."""
    cap = TRAIN_PER_LIST * nlist
    if len(vectors) <= cap:
        return vectors
    pick = np.sort(np.random.default_rng(seed).choice(len(vectors), cap, replace=False))
    return np.ascontiguousarray(vectors[pick])


def make_index(dim: int, vectors: np.ndarray, ids: np.ndarray, kind: str, use_gpu: bool = False):
    """A new index holding `vectors` under `ids`. kind "flat" (exact inner product) or "ivf" (IVF-Flat, trained here,
    on the GPUs when use_gpu). Returns (index on CPU, nlist, nprobe, device)."""
    if kind == "flat":
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        add(flat, vectors, ids)
        return flat, None, None, "cpu"
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    nlist, nprobe = ivf_params(len(ids))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = training_sample(vectors, nlist)
    device = "cpu"
    if use_gpu and gpu_available():
        gpu = faiss.index_cpu_to_all_gpus(index)
        gpu.train(sample)
        gpu.add_with_ids(vectors, ids.astype(np.int64))
        index = cast(faiss.IndexIVFFlat, faiss.index_gpu_to_cpu(gpu))  # faiss returns the index's own class
        device = "gpu"
    else:
        index.train(sample)
        index.add_with_ids(vectors, ids.astype(np.int64))
    # reconstruct(doc_id) for MMR and .vectors()
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # not in faiss's stubs
    index.nprobe = nprobe
    return index, nlist, nprobe, device


def add(index, vectors: np.ndarray, ids: np.ndarray) -> None:
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))


def is_ivf(index) -> bool:
    return isinstance(index, faiss.IndexIVF)


def _params(index, selector, exhaustive: bool, share: float = 1.0):
    """Search parameters with the selector. On IVF, nprobe grows by 1/share (the eligible share of the index): the
    probed lists then hold about as many eligible vectors as an unfiltered search sees, which keeps recall under an
    as-of filter (real headlines, 22% eligible: recall@10 0.937 -> 0.997) for about the same distance computations
    (the selector is checked before a distance is computed)."""
    if is_ivf(index):
        nprobe = index.nlist if exhaustive else min(index.nlist, math.ceil(index.nprobe / max(share, 1e-9)))
        ivf = faiss.SearchParametersIVF()  # (faiss's stubs lack the keyword constructor)
        ivf.sel, ivf.nprobe = selector, nprobe
        return ivf
    params = faiss.SearchParameters()
    params.sel = selector
    return params


def _found(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = ids >= 0
    return scores[ok], ids[ok]


@contextmanager
def one_thread():
    """Run faiss on the calling thread only. For one query, OpenMP threads buy little and, on a busy machine, their
    spin-waiting costs 10-50x (measured: 1.2 ms vs 64 ms on 20k vectors at load 9 on 2 cores). The OpenMP thread
    count is a per-thread setting, so other threads (an index build) keep theirs."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def search_masked(cpu_index, query: np.ndarray, eligible: np.ndarray, want: int, gpu_index=None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Top `want` (score, doc_id) among ids where eligible[id]; `want` must be <= eligible.sum()."""
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if want <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    with one_thread():
        return _search_masked(cpu_index, query, eligible, want, gpu_index)


def _search_masked(cpu_index, query, eligible, want, gpu_index):
    if gpu_index is not None:
        got = _overfetch(gpu_index, query, eligible, want, min(cpu_index.ntotal, GPU_MAX_K))
        if got is not None:
            return got
    bitmap = np.packbits(eligible, bitorder="little")  # must outlive the search: the selector points into it
    selector = faiss.IDSelectorBitmap(bitmap)  # type: ignore[call-arg,arg-type]  # stubs lack the one-array form
    share = int(eligible.sum()) / max(1, cpu_index.ntotal)
    scores, ids = _found(*(a[0] for a in cpu_index.search(query, want,
                                                          params=_params(cpu_index, selector, False, share))))
    if len(ids) < want and is_ivf(cpu_index):
        scores, ids = _found(*(a[0] for a in cpu_index.search(query, want,
                                                              params=_params(cpu_index, selector, True))))
    return scores, ids


def _overfetch(index, query: np.ndarray, eligible: np.ndarray, want: int, limit: int):
    fetch = min(limit, max(4 * want, 64))
    while True:
        scores, ids = _found(*(a[0] for a in index.search(query, fetch)))
        keep = eligible[np.clip(ids, 0, len(eligible) - 1)] & (ids < len(eligible))
        if keep.sum() >= want:
            return scores[keep][:want], ids[keep][:want]
        if fetch >= limit:
            return None
        fetch = min(limit, fetch * 4)


def reconstruct(index, doc_ids: np.ndarray) -> np.ndarray:
    doc_ids = np.asarray(doc_ids, dtype=np.int64)
    if not len(doc_ids):
        return np.zeros((0, index.d), dtype=np.float32)
    return np.asarray(index.reconstruct_batch(doc_ids), dtype=np.float32)
