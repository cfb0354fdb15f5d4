"""The IVF index on the real headline embeddings: recall@10 against exact search at the product's nprobe, the
product's index choice uses that nprobe, and the as-of filtered search keeps the recall (bench/bench_ivf.py measures
the same at 1 M vectors; bench/README.md)."""
from __future__ import annotations

from datetime import date

import faiss
import numpy as np
import pytest

from trendcast.agent import workspace
from trendcast.agent.settings import Settings, SettingsError
from trendcast.retrieval import DEFAULT_MODEL, DocIndex, DocStore, build_index, faiss_ops, get_embedder
from trendcast.retrieval.embedders import canonical_model_name
from trendcast.retrieval.index_files import read_manifest

MODEL = canonical_model_name(DEFAULT_MODEL)
QUESTIONS = ["how will department store sales trend next month", "grocery demand during the lockdown",
             "are shoppers cutting back on clothing", "furniture sales after the housing slowdown",
             "online retail growth over christmas", "petrol prices and gas station sales",
             "electronics retailers profit warning", "restaurants reopen after coronavirus restrictions",
             "building materials demand in spring", "sporting goods sales outlook", "black friday discounts",
             "consumer confidence falls on brexit fears", "supermarket price war", "car sales slump",
             "unemployment and household spending", "interest rate rise and mortgage costs"]
AS_OF = ("2018-06-30", "2019-06-30", "2020-03-31")


def recall(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g)) / len(t) for t, g in zip(truth, got)]))


@pytest.fixture(scope="module")
def real(demo_workspace):
    """The demo workspace's real headline vectors: 500 held out as queries, the rest indexed; plus real questions
    embedded with the real model."""
    store = DocStore(demo_workspace / "docs.duckdb")
    ids, vectors = store.vectors(MODEL)
    assert len(ids) > 20_000 and vectors.shape[1] == 384
    doc_ids, days, _ = store.meta()
    days = dict(zip(doc_ids.tolist(), days.tolist()))
    order = np.random.default_rng(0).permutation(len(ids))
    held, rest = order[:500], np.sort(order[500:])
    questions = get_embedder(DEFAULT_MODEL).encode(QUESTIONS)
    return dict(base=vectors[rest], base_days=np.array([days[int(i)] for i in ids[rest]]),
                queries={"held-out headlines": vectors[held], "questions": np.asarray(questions, np.float32)})


@pytest.mark.slow
def test_ivf_recall_at_the_product_nprobe_on_real_headlines(real):
    base = real["base"]
    ids = np.arange(len(base), dtype=np.int64)
    index, nlist, nprobe, _ = faiss_ops.make_index(base.shape[1], base, ids, "ivf")
    assert isinstance(index, faiss.IndexIVF) and (nlist, nprobe) == faiss_ops.ivf_params(len(base))
    assert index.nprobe == nprobe and nlist == index.nlist
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    for name, queries in real["queries"].items():
        truth = exact.search(queries, 10)[1]
        got = recall(truth, index.search(queries, 10)[1])
        assert got >= 0.95, f"{name}: recall@10 {got:.3f} at nprobe {nprobe} of {nlist} lists"
    truth = exact.search(real["queries"]["held-out headlines"], 10)[1]
    index.nprobe = nprobe // 2  # and the choice is not wasteful: half of it falls short on the 500 held-out headlines
    half = recall(truth, index.search(real["queries"]["held-out headlines"], 10)[1])
    assert half < 0.95, f"recall@10 {half:.3f} at nprobe {nprobe // 2} already"


@pytest.mark.slow
def test_as_of_filtered_ivf_search_keeps_the_recall(real):
    base, days = real["base"], real["base_days"]
    ids = np.arange(len(base), dtype=np.int64)
    ivf, *_ = faiss_ops.make_index(base.shape[1], base, ids, "ivf")
    flat, *_ = faiss_ops.make_index(base.shape[1], base, ids, "flat")
    queries = np.concatenate(list(real["queries"].values()))[::4]
    for as_of in AS_OF:
        mask = days <= (np.datetime64(as_of, "D") - np.datetime64("1970-01-01", "D")).astype(int)
        assert 0.1 < mask.mean() < 0.95
        truth = np.stack([faiss_ops.search_masked(flat, q, mask, 10)[1] for q in queries])
        got = np.stack([faiss_ops.search_masked(ivf, q, mask, 10)[1] for q in queries])
        assert mask[got].all()  # nothing after as-of
        assert recall(truth, got) >= 0.95, f"as of {as_of} ({mask.mean():.0%} eligible): {recall(truth, got):.3f}"


def test_the_exact_threshold_is_a_setting():
    assert Settings.from_env({}).exact_index_max == 50_000
    assert Settings.from_env({"TRENDCAST_EXACT_INDEX_MAX": "10000"}).exact_index_max == 10_000
    with pytest.raises(SettingsError, match="TRENDCAST_EXACT_INDEX_MAX"):
        Settings.from_env({"TRENDCAST_EXACT_INDEX_MAX": "-1"})


@pytest.mark.slow
def test_the_product_index_above_the_exact_threshold_is_ivf_with_that_nprobe(demo_copy, tmp_path):
    """`trendcast index` with TRENDCAST_EXACT_INDEX_MAX below the real headlines' count: an IVF index with the
    rule's nlist and nprobe, whose as-of searches match an exact (flat) index of the same documents."""
    settings = Settings.from_env({"TRENDCAST_HOME": str(demo_copy), "TRENDCAST_EXACT_INDEX_MAX": "10000"})
    summary = workspace.build_index(settings)
    assert summary.kind == "ivf" and summary.embedded == 0 and summary.total > 20_000
    store = DocStore(settings.docs_db)
    assert build_index(tmp_path / "flat", store, get_embedder(DEFAULT_MODEL), progress=False).kind == "flat"
    manifest = read_manifest(settings.index_dir)
    assert (manifest.nlist, manifest.nprobe) == faiss_ops.ivf_params(summary.total)
    ivf = DocIndex.open(settings.index_dir, store, DEFAULT_MODEL, device="cpu")
    flat = DocIndex.open(tmp_path / "flat", store, DEFAULT_MODEL, device="cpu")
    assert (ivf.kind, flat.kind) == ("ivf", "flat") and ivf._cpu.nprobe == manifest.nprobe
    overlaps = []
    for question in QUESTIONS:
        for as_of in AS_OF:
            exact = {h.doc_id for h in flat.search(question, as_of=as_of, k=10)}
            hits = ivf.search(question, as_of=as_of, k=10)
            assert len(hits) == 10 and all(h.date is None or h.date <= date.fromisoformat(as_of) for h in hits)
            overlaps.append(len(exact & {h.doc_id for h in hits}) / 10)
    assert np.mean(overlaps) >= 0.95, f"IVF vs exact as-of searches: mean overlap {np.mean(overlaps):.3f}"
