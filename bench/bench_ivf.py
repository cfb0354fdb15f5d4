"""Large corpora: the product's FAISS IVF index against the exact (flat) one, at >= 1 M vectors and on the real 20 k.

Two parts, one run:
1. Accuracy, on REAL vectors only: the 20,551 real headline embeddings (all-MiniLM-L6-v2) of a workspace, 500 of them
   held out as queries plus the workspace's cached real question embeddings. recall@10 of the product's IVF index
   (`faiss_ops.make_index`, its nlist rule) against exact search, for nprobe 1..128; the smallest nprobe with
   recall >= 0.95 on both query sets; the same on 5 k and 10 k subsets (how the needed share of lists moves with size);
   and recall through the product's as-of filtered search (`faiss_ops.search_masked`) at the product's nprobe.
2. Cost, at --size vectors (default 1,000,000): the real vectors replicated with small Gaussian noise (sigma per
   dimension, then re-normalised) — for timing only, never for accuracy. Per index: build (train + add) seconds, the
   RSS the build added at its peak (the input matrix excluded), index bytes as written, single-query latency through
   the product's as-of filtered search (one thread, k=10, p50/p95), batch latency (all queries in one call, all
   threads), and the recall column from part 1 at the same share of lists probed. Ratios are against flat, same run.
   A GPU row (faiss `index_cpu_to_all_gpus`) is added when faiss sees a GPU.

Run: python bench/bench_ivf.py [--home DIR] [--size N]   (DIR: a workspace with the headlines indexed, e.g. the demo
one; without its vectors the bundled headlines are embedded into a temporary one first, a few minutes).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trendcast.retrieval import (DEFAULT_MODEL, HEADLINES_MAPPING, DocStore, build_index,  # noqa: E402
                                 faiss_ops, get_embedder, ingest_docs)
from trendcast.retrieval.embedders import canonical_model_name  # noqa: E402

NEWS = REPO / "agent" / "data" / "headlines_dated.csv.gz"
K = 10
TARGET = 0.95
GRID = (1, 2, 4, 8, 16, 32, 64, 128)
HELD_OUT = 500
AS_OF = ("2018-06-30", "2019-06-30", "2020-03-31")
EPOCH = np.datetime64("1970-01-01", "D")


# ---- real vectors ----------------------------------------------------------------------------------------------

def load_real(home: Path | None, tmp: Path):
    """(doc vectors, doc days, question vectors) of the workspace, embedding the bundled headlines when it has none."""
    model = canonical_model_name(DEFAULT_MODEL)
    store = DocStore((home or tmp) / "docs.duckdb")
    ids, vectors = store.vectors(model)
    if not len(ids):
        print(f"no {model} vectors in {home or tmp}: embedding {NEWS.name} into {tmp}", file=sys.stderr)
        store = DocStore(tmp / "docs.duckdb")
        ingest_docs(store, NEWS, HEADLINES_MAPPING, "news")
        build_index(tmp / "index", store, get_embedder(model), progress=False)
        ids, vectors = store.vectors(model)
    doc_ids, days, kinds = store.meta()
    day_of = dict(zip(doc_ids.tolist(), days.tolist()))
    questions = [np.frombuffer(v, dtype="<f4") for (v,) in store.query(
        "SELECT vector FROM query_embeddings WHERE model = ? ORDER BY text_hash", [model])]
    q = np.stack(questions).astype(np.float32) if questions else np.zeros((0, vectors.shape[1]), np.float32)
    return vectors, np.array([day_of[int(i)] for i in ids], dtype=np.int32), q


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t[t >= 0]) & set(g[g >= 0])) / max(1, (t >= 0).sum()) for t, g in zip(truth, got)]))


def exact(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    return flat.search(queries, k)[1]


class RealRecall:
    """The product's IVF index over `base` (real vectors) and recall@10 against exact search at any nprobe."""

    def __init__(self, base: np.ndarray, query_sets: dict[str, np.ndarray]):
        ids = np.arange(len(base), dtype=np.int64)
        self.index, self.nlist, self.nprobe, _ = faiss_ops.make_index(base.shape[1], base, ids, "ivf")
        self.sets = query_sets
        self.truth = {name: exact(base, q) for name, q in query_sets.items()}

    def at(self, nprobe: int) -> dict[str, float]:
        self.index.nprobe = nprobe
        try:
            return {name: recall(self.truth[name], self.index.search(q, K)[1]) for name, q in self.sets.items()}
        finally:
            self.index.nprobe = self.nprobe

    def grid(self) -> dict[int, dict[str, float]]:
        return {p: self.at(p) for p in sorted({*(g for g in GRID if g <= self.nlist), self.nprobe})}

    def share(self, share: float) -> float:
        """The worst query set's recall@10 probing `share` of the lists."""
        return min(self.at(min(self.nlist, max(1, math.ceil(share * self.nlist)))).values())


def smallest(table: dict[int, dict[str, float]]) -> int | None:
    return next((p for p in sorted(table) if min(table[p].values()) >= TARGET), None)


def filtered_recall(base: np.ndarray, days: np.ndarray, ivf, queries: np.ndarray) -> dict[str, float]:
    """recall@10 of the product's filtered search (IVF, its nprobe) against the same search on a flat index."""
    ids = np.arange(len(base), dtype=np.int64)
    flat, *_ = faiss_ops.make_index(base.shape[1], base, ids, "flat")
    out = {}
    for as_of in AS_OF:
        mask = days <= int((np.datetime64(as_of, "D") - EPOCH).astype(int))
        want = min(K, int(mask.sum()))
        pairs = [(faiss_ops.search_masked(flat, q, mask, want)[1], faiss_ops.search_masked(ivf, q, mask, want)[1])
                 for q in queries]
        out[f"as of {as_of} ({mask.mean():.0%} eligible)"] = recall(np.stack([a for a, _ in pairs]),
                                                                    np.stack([b for _, b in pairs]))
    return out


def accuracy(vectors: np.ndarray, days: np.ndarray, questions: np.ndarray):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(vectors))
    held, rest = order[:HELD_OUT], np.sort(order[HELD_OUT:])
    base, sets = vectors[rest], {"held-out headlines": vectors[held]}
    if len(questions):
        sets["real questions"] = questions
    real = RealRecall(base, sets)
    table = real.grid()
    subsets = {}
    for n in (5_000, 10_000):
        sub = RealRecall(vectors[np.sort(rng.choice(rest, n, replace=False))], sets)
        subsets[n] = (sub.nlist, smallest(sub.grid()))
    filtered = filtered_recall(base, days[rest], real.index, np.concatenate(list(sets.values())))
    return real, table, subsets, filtered


def print_accuracy(n: int, real: RealRecall, table, subsets, filtered) -> None:
    ivf = real.index
    names = list(next(iter(table.values())))
    print(f"\nrecall@{K} of IVF against exact search, REAL vectors: {n:,} headlines indexed, nlist {ivf.nlist} "
          f"(product rule), queries: {HELD_OUT} held-out headlines + real questions")
    print(f"{'nprobe':>7} {'share of lists':>15} " + " ".join(f"{s:>20}" for s in names))
    for p, row in table.items():
        mark = "  <- product nprobe" if p == ivf.nprobe else ""
        print(f"{p:>7} {p / ivf.nlist:>15.3f} " + " ".join(f"{row[s]:>20.3f}" for s in names) + mark)
    print(f"smallest nprobe with recall >= {TARGET} on every query set: {smallest(table)} "
          f"(product: {ivf.nprobe} = faiss_ops.nprobe_for({ivf.nlist}))")
    for size, (nlist, need) in subsets.items():
        print(f"  real subset of {size:,}: nlist {nlist}, smallest nprobe {need} "
              f"({need / nlist if need else float('nan'):.3f} of the lists)")
    print(f"product's as-of filtered search (search_masked), IVF nprobe {ivf.nprobe} vs flat, same filter:")
    for label, r in filtered.items():
        print(f"  {label}: recall@{K} {r:.3f}")


# ---- cost at size ----------------------------------------------------------------------------------------------

def replicate(vectors: np.ndarray, size: int, sigma: float, seed: int = 1) -> np.ndarray:
    """`size` rows: the real vectors cycled, each plus N(0, sigma²) noise per dimension, re-normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, vectors.shape[1]), dtype=np.float32)
    for start in range(0, size, 100_000):
        rows = np.arange(start, min(size, start + 100_000))
        block = vectors[rows % len(vectors)] + rng.normal(0, sigma, (len(rows), vectors.shape[1])).astype(np.float32)
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to the current RSS
    except OSError:
        pass


def file_mb(index) -> float:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(faiss.index_gpu_to_cpu(index) if "Gpu" in type(index).__name__ else index, f.name)
        return os.path.getsize(f.name) / 1e6


def build(kind: str, data: np.ndarray, use_gpu: bool = False):
    ids = np.arange(len(data), dtype=np.int64)
    before = _status_kb("VmRSS")
    reset_peak()
    start = time.perf_counter()
    index, nlist, nprobe, device = faiss_ops.make_index(data.shape[1], data, ids, kind, use_gpu=use_gpu)
    seconds = time.perf_counter() - start
    return index, seconds, (_status_kb("VmHWM") - before) / 1024


def latency(index, queries: np.ndarray, mask: np.ndarray, gpu=None) -> tuple[float, float, float]:
    """p50 and p95 ms of one filtered product search per query, and ms per query of one batch call."""
    faiss_ops.search_masked(index, queries[0], mask, K, gpu)  # warm-up
    single = []
    for q in queries:
        start = time.perf_counter()
        faiss_ops.search_masked(index, q, mask, K, gpu)
        single.append((time.perf_counter() - start) * 1000)
    target = gpu if gpu is not None else index
    start = time.perf_counter()
    target.search(queries, K)
    batch = (time.perf_counter() - start) * 1000 / len(queries)
    single.sort()
    return statistics.median(single), single[min(len(single) - 1, int(round(0.95 * (len(single) - 1))))], batch


def cost(vectors, days, questions, size: int, sigma: float, share_recall) -> list[dict]:
    data = replicate(vectors, size, sigma)
    tiled_days = days[np.arange(size) % len(days)]
    mask = tiled_days <= int((np.datetime64("2020-03-31", "D") - EPOCH).astype(int))
    noisy = replicate(vectors[:: max(1, len(vectors) // 66)][:66], 66, sigma, seed=2)
    queries = np.ascontiguousarray(np.concatenate([questions, noisy]), dtype=np.float32)
    rows = []
    flat, seconds, rss = build("flat", data)
    rows.append(dict(index="flat (exact)", build=seconds, rss=rss, mb=file_mb(flat),
                     lat=latency(flat, queries, mask), recall=1.0))
    del flat
    ivf, seconds, rss = build("ivf", data)
    mb, product = file_mb(ivf), ivf.nprobe
    trained = min(size, faiss_ops.TRAIN_PER_LIST * ivf.nlist)
    print(f"IVF at {size:,}: nlist {ivf.nlist}, k-means on {trained:,} vectors ({ivf.cp.niter} iterations), "
          f"list-size imbalance {ivf.invlists.imbalance_factor():.2f} (1 = even), build {seconds:.0f} s", flush=True)
    for p in sorted({64, 128, product // 2, product, 2 * product} & set(range(1, ivf.nlist + 1))):
        ivf.nprobe = p
        rows.append(dict(index=f"IVF{ivf.nlist},Flat nprobe {p}" + (" (product)" if p == product else ""),
                         build=seconds, rss=rss, mb=mb, lat=latency(ivf, queries, mask),
                         recall=share_recall(p / ivf.nlist)))
    if faiss_ops.gpu_available():
        del ivf
        ivf, seconds, rss = build("ivf", data, use_gpu=True)
        gpu = faiss_ops.to_gpus(ivf)
        rows.append(dict(index=f"IVF{ivf.nlist},Flat nprobe {ivf.nprobe} GPU x{faiss.get_num_gpus()}",
                         build=seconds, rss=rss, mb=mb, lat=latency(ivf, queries, mask, gpu),
                         recall=share_recall(product / ivf.nlist)))
    return rows


def print_cost(rows: list[dict], size: int, sigma: float, n_queries: int) -> None:
    ref = rows[0]
    print(f"\n{size:,} vectors x 384 float32 (real headline embeddings + N(0, {sigma}²) noise, re-normalised; timing "
          f"only), {n_queries} queries, k={K}, faiss {faiss.__version__}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")
    head = (f"| {'index':<36} | {'build s':>14} | {'build RSS MB':>12} | {'index MB':>8} | {'single p50 ms':>15} "
            f"| {'single p95 ms':>13} | {'batch ms/query':>15} | {'recall@10*':>10} |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        p50, p95, batch = r["lat"]
        print(f"| {r['index']:<36} | {r['build']:>6.1f} ({r['build'] / ref['build']:>4.1f}x) | {r['rss']:>12,.0f} "
              f"| {r['mb']:>8,.0f} | {p50:>6.2f} ({ref['lat'][0] / p50:>5.1f}x) | {p95:>13.2f} "
              f"| {batch:>6.2f} ({ref['lat'][2] / batch:>5.1f}x) | {r['recall']:>10.3f} |")
    print("build RSS: peak RSS the build added over the input matrix; single: the product's as-of filtered search "
          "(search_masked, one thread, as of 2020-03-31); batch: one search call for all queries, all threads; "
          "(Nx): flat's figure / this one for latency, this one / flat's for build.\n"
          "*recall@10 on the REAL 20k headlines probing the same share of lists (part 1), not on the noisy copies.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="workspace with the headlines indexed (default: embed into a temp)")
    parser.add_argument("--size", type=int, default=1_000_000, help="vectors for the cost part (0: skip it)")
    parser.add_argument("--sigma", type=float, default=0.01, help="noise per dimension of the replicated vectors")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vectors, days, questions = load_real(args.home, Path(tmp))
    started = time.perf_counter()
    real, table, subsets, filtered = accuracy(vectors, days, questions)
    print_accuracy(len(vectors) - HELD_OUT, real, table, subsets, filtered)
    print(f"accuracy part: {time.perf_counter() - started:.0f} s", flush=True)
    if args.size:
        rows = cost(vectors, days, questions, args.size, args.sigma, real.share)
        print_cost(rows, args.size, args.sigma, len(questions) + 66)
    print(f"total: {time.perf_counter() - started:.0f} s")

if __name__ == "__main__":
    main()
