"""Index builds with the real model and real FAISS: incremental updates, flat/IVF, model mismatch, crash safety."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import faiss
import numpy as np
import pandas as pd
import pytest
from conftest import NEWS_FILE, REPO

from trendcast.retrieval import (DEFAULT_MODEL, HEADLINES_MAPPING, DocIndex, DocStore, IndexMismatchError, IndexMissingError,
                       build_index, get_embedder, ingest_docs, open_index, register_embedder, unregister_embedder)
from trendcast.retrieval import faiss_ops
from trendcast.retrieval.index_files import read_manifest

MODEL = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def model():
    return get_embedder(MODEL)


@pytest.fixture(scope="module")
def news() -> pd.DataFrame:
    return pd.read_csv(NEWS_FILE).iloc[::25].reset_index(drop=True)  # ~820 real headlines spread over 2.5 years


def _ingest(store: DocStore, frame: pd.DataFrame, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    ingest_docs(store, path, HEADLINES_MAPPING, "news")


def _files(index_dir) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir())


def test_build_update_and_manifest(home, tmp_path, news, model):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:300], tmp_path, "a")
    first = build_index(index_dir, store, model, progress=False)
    assert (first.added, first.embedded, first.total, first.kind, first.device) == (300, 300, 300, "flat", "cpu")
    assert first.written and first.docs_per_s > 0
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["model"] == DEFAULT_MODEL and manifest["dim"] == 384 and manifest["count"] == 300
    assert manifest["id_ranges"] == [[1, 300]] and manifest["built_at"].endswith("Z")
    assert _files(index_dir) == sorted(["manifest.json", manifest["index_file"]])
    raw = (index_dir / manifest["index_file"]).read_bytes()
    assert raw[:4] == b"IxM2" and raw[:1] != b"\x80"  # faiss.write_index format, not a pickle

    unchanged = build_index(index_dir, store, model, progress=False)
    assert (unchanged.added, unchanged.embedded, unchanged.written) == (0, 0, False)

    _ingest(store, news.iloc[250:500], tmp_path, "b")  # 50 rows overlap: stored once
    second = build_index(index_dir, store, model, progress=False)
    assert (second.added, second.embedded, second.total) == (200, 200, 500)
    assert len(_files(index_dir)) == 2  # the previous FAISS file is gone
    index = DocIndex.open(index_dir, store, MODEL)
    assert index.count == 500 and index.pending() == 0
    np.testing.assert_allclose(np.linalg.norm(index.vectors([1, 500]), axis=1), 1.0, atol=1e-5)


def test_ivf_above_the_exact_threshold(home, tmp_path, news, model):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:600], tmp_path, "a")
    summary = build_index(index_dir, store, model, exact_max=400, progress=False)
    assert summary.kind == "ivf" and summary.total == 600
    manifest = read_manifest(index_dir)
    assert manifest.nlist and manifest.nprobe
    index = DocIndex.open(index_dir, store, MODEL)
    assert isinstance(index._cpu, faiss.IndexIVF)
    ids, stored = store.vectors(DEFAULT_MODEL)
    np.testing.assert_allclose(index.vectors(ids[:5]), stored[:5], atol=1e-6)
    for as_of in ("2018-01-15", "2018-06-30", "2019-12-31"):
        eligible = index.eligible(as_of=as_of)
        hits = index.search("shops and retail sales", as_of=as_of, k=40)
        assert len(hits) == min(40, eligible)
        assert all(h.date <= pd.Timestamp(as_of).date() for h in hits)
    _ingest(store, news.iloc[600:700], tmp_path, "b")
    more = build_index(index_dir, store, model, exact_max=400, progress=False)
    assert (more.kind, more.added, more.total) == ("ivf", 100, 700)


def test_a_growing_index_turns_ivf_past_the_threshold_and_is_retrained_when_it_outgrows_its_lists(home, tmp_path,
                                                                                                   news, model):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:200], tmp_path, "a")
    assert build_index(index_dir, store, model, exact_max=300, progress=False).kind == "flat"
    _ingest(store, news.iloc[200:400], tmp_path, "b")  # past exact_max: a new, trained IVF index of all 400
    turned = build_index(index_dir, store, model, exact_max=300, progress=False)
    assert (turned.kind, turned.added, turned.total) == ("ivf", 400, 400)
    first = read_manifest(index_dir)
    assert (first.nlist, first.nprobe) == faiss_ops.ivf_params(400) == (10, 10)
    _ingest(store, news.iloc[400:600], tmp_path, "c")  # 600 documents call for 15 lists: added to the 10 it has
    grown = build_index(index_dir, store, model, exact_max=300, progress=False)
    assert (grown.added, grown.total, read_manifest(index_dir).nlist) == (200, 600, 10)
    _ingest(store, news.iloc[600:], tmp_path, "d")  # >= 780 call for >= 2x the lists: retrained for its size
    retrained = build_index(index_dir, store, model, exact_max=300, progress=False)
    manifest = read_manifest(index_dir)
    assert retrained.added == retrained.total == manifest.count > 780
    assert manifest.nlist == faiss_ops.nlist_for(manifest.count) >= 2 * first.nlist
    index = DocIndex.open(index_dir, store, MODEL)
    assert isinstance(index._cpu, faiss.IndexIVF) and index._cpu.nlist == manifest.nlist
    assert index._cpu.nprobe == manifest.nprobe == faiss_ops.nprobe_for(manifest.nlist)
    hits = index.search("shops and retail sales", as_of="2019-06-30", k=10)
    assert len(hits) == 10 and all(h.date <= pd.Timestamp("2019-06-30").date() for h in hits)


def test_missing_index_and_model_mismatch_are_refused_with_a_fix(home, tmp_path, news, model):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    with pytest.raises(IndexMissingError, match="run `trendcast index`"):
        DocIndex.open(index_dir, store, MODEL)
    _ingest(store, news.iloc[:100], tmp_path, "a")
    build_index(index_dir, store, model, progress=False)
    for alias in ("sentence-transformers/all-MiniLM-L6-v2", MODEL):
        assert DocIndex.open(index_dir, store, alias).count == 100
    with pytest.raises(IndexMismatchError) as err:
        DocIndex.open(index_dir, store, "sentence-transformers/paraphrase-MiniLM-L3-v2")
    assert "all-MiniLM-L6-v2" in str(err.value) and "paraphrase-MiniLM-L3-v2" in str(err.value)
    assert "trendcast index --rebuild" in str(err.value)

    other = ReversedModel(model)  # another "model": same dimension, different vectors
    register_embedder(other.name, lambda **kw: other)
    try:
        with pytest.raises(IndexMismatchError, match="--rebuild"):
            build_index(index_dir, store, other, progress=False)
        assert DocIndex.open(index_dir, store, MODEL).count == 100  # refused: nothing changed
        rebuilt = build_index(index_dir, store, other, rebuild=True, progress=False)
        assert (rebuilt.model, rebuilt.embedded, rebuilt.total) == (other.name, 100, 100)
        models = store.con.execute("SELECT DISTINCT model FROM doc_vectors").fetchall()
        assert models == [(other.name,)]  # the old model's vectors are of no further use
        with pytest.raises(IndexMismatchError):
            DocIndex.open(index_dir, store, MODEL)
        assert DocIndex.open(index_dir, store, other.name).count == 100
        back = build_index(index_dir, store, model, rebuild=True, progress=False)
        assert back.model == DEFAULT_MODEL and back.embedded == 100
    finally:
        unregister_embedder(other.name)


class ReversedModel:
    name = "reversed-minilm-test"

    def __init__(self, real):
        self.real = real

    @property
    def dim(self):
        return self.real.dim

    def encode(self, texts, show_progress=False):
        return np.ascontiguousarray(self.real.encode(texts)[:, ::-1])


def _results(index: DocIndex) -> list[tuple[int, float]]:
    return [(h.doc_id, round(h.score, 5)) for h in index.search("oil prices fall", as_of="2020-01-31", k=10)]


def test_a_failed_index_write_leaves_the_previous_index_usable(home, tmp_path, news, model, monkeypatch):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:300], tmp_path, "a")
    build_index(index_dir, store, model, progress=False)
    before = _results(DocIndex.open(index_dir, store, MODEL))
    _ingest(store, news.iloc[300:500], tmp_path, "b")

    whole = faiss.serialize_index(DocIndex.open(index_dir, store, MODEL)._cpu).tobytes()

    def torn_write(index, path):  # the disk fills up half-way through the new FAISS file
        with open(path, "wb") as fh:
            fh.write(whole[: len(whole) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faiss, "write_index", torn_write)
    from trendcast.common.stores import StoreError

    with pytest.raises(StoreError, match="no space left on its disk"):  # one line naming the folder (exit 2)
        build_index(index_dir, store, model, progress=False)
    monkeypatch.undo()
    survivor = DocIndex.open(index_dir, store, MODEL)
    assert survivor.count == 300 and _results(survivor) == before
    assert not any(name.endswith(".tmp") for name in _files(index_dir))  # the torn file is removed, not left behind

    after = build_index(index_dir, store, model, progress=False)
    assert (after.added, after.embedded, after.total) == (200, 0, 500)  # vectors were kept: nothing re-embedded
    assert not any(name.endswith(".tmp") for name in _files(index_dir))
    assert open_index(index_dir, store, MODEL).count == 500


KILLED_BUILD = textwrap.dedent("""
    import os, signal, sys
    from trendcast.retrieval import DocStore, build_index, get_embedder

    class DiesOnThirdBatch:
        def __init__(self):
            self.real, self.calls = get_embedder("all-MiniLM-L6-v2"), 0
            self.name, self.dim = self.real.name, self.real.dim

        def encode(self, texts, show_progress=False):
            self.calls += 1
            if self.calls == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return self.real.encode(texts)

    build_index(sys.argv[1], DocStore(sys.argv[2]), DiesOnThirdBatch(), progress=False, chunk_size=100)
""")


def test_a_killed_build_leaves_the_previous_index_and_resumes(home, tmp_path, news, model):
    index_dir = home / "index"
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:300], tmp_path, "a")
    build_index(index_dir, store, model, progress=False)
    before = _results(DocIndex.open(index_dir, store, MODEL))
    _ingest(store, news.iloc[300:700], tmp_path, "b")
    store.close()  # DuckDB: one writing process at a time

    child = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(index_dir), str(store.path)], cwd=REPO,
                           capture_output=True, text=True)
    assert child.returncode == -signal.SIGKILL, child.stderr

    survivor = DocIndex.open(index_dir, store, MODEL)
    assert survivor.count == 300 and _results(survivor) == before
    resumed = build_index(index_dir, store, model, progress=False)
    assert (resumed.added, resumed.embedded, resumed.total) == (400, 200, 700)  # two chunks were already stored
    assert DocIndex.open(index_dir, store, MODEL).count == 700


def test_empty_store_gives_an_empty_index(home, model):
    store = DocStore(home / "docs.duckdb")
    summary = build_index(home / "index", store, model, progress=False)
    assert (summary.total, summary.added, summary.kind) == (0, 0, "flat")
    assert DocIndex.open(home / "index", store, MODEL).search("anything", k=5) == []


def test_index_and_store_out_of_step_is_a_mismatch(home, tmp_path, news, model):
    store = DocStore(home / "docs.duckdb")
    _ingest(store, news.iloc[:50], tmp_path, "a")
    build_index(home / "index", store, model, progress=False)
    store.close()
    os.remove(store.path)  # someone deleted docs.duckdb but kept the index
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        DocIndex.open(home / "index", DocStore(home / "docs.duckdb"), MODEL)
