"""Embedders: the real bundled all-MiniLM-L6-v2 model, lazy loading, names, the registry, the query cache."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO

from trendcast.retrieval import (DEFAULT_MODEL, DocStore, canonical_model_name, embed_queries, get_embedder, register_embedder,
                       unregister_embedder)
from trendcast.retrieval.embedders import bundled_model_path


@pytest.fixture(scope="module")
def model():
    return get_embedder("all-MiniLM-L6-v2")


def test_semantic_neighbours_make_sense(model):
    jog, shoes, knife = model.encode(["sneakers for jogging", "running shoes", "kitchen knife"])
    assert float(jog @ shoes) > float(jog @ knife) + 0.3
    lockdown, closes, earnings = model.encode(["coronavirus lockdown closes stores",
                                               "shops shut as the virus spreads", "bank profits beat forecasts"])
    assert float(lockdown @ closes) > float(lockdown @ earnings)


def test_vectors_are_normalised_float32_and_batched(model):
    texts = [f"retail sales report number {i}" for i in range(150)]  # more than one batch of 64
    vectors = model.encode(texts)
    assert vectors.shape == (150, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(model.encode(texts[:3]), vectors[:3], atol=2e-2)  # batch size does not matter
    assert model.encode([]).shape == (0, 384)


def test_default_model_names_resolve_to_the_bundled_copy(model):
    for name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", str(bundled_model_path())):
        assert canonical_model_name(name) == DEFAULT_MODEL
    assert get_embedder("sentence-transformers/all-MiniLM-L6-v2") is model  # one loaded copy per process
    assert model.name == DEFAULT_MODEL and model.dim == 384


def test_getting_an_embedder_and_its_dimension_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from trendcast.retrieval import get_embedder
        e = get_embedder("all-MiniLM-L6-v2")
        assert e.dim == 384 and not e.loaded
        print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class CountingEmbedder:
    """A registered embedder that counts what it is asked to encode (delegating to the real model)."""

    def __init__(self, real):
        self.name, self.real, self.calls = "counting-test", real, []

    @property
    def dim(self):
        return self.real.dim

    def encode(self, texts, show_progress=False):
        self.calls.append(list(texts))
        return self.real.encode(texts)


def test_registry_and_query_cache(home, model):
    counting = CountingEmbedder(model)
    register_embedder("counting-test", lambda **kw: counting)
    try:
        assert get_embedder("counting-test") is counting
        assert canonical_model_name("counting-test") == "counting-test"
        with DocStore(home / "docs.duckdb") as store:
            first = embed_queries(store, lambda: get_embedder("counting-test"), ["running shoes", "kitchen knife"])
            again = embed_queries(store, counting, ["kitchen knife", "  running   shoes ", "new query"])
        assert counting.calls == [["running shoes", "kitchen knife"], ["new query"]]  # only misses are encoded
        np.testing.assert_array_equal(again[0], first[1])
        np.testing.assert_array_equal(again[1], first[0])
        assert again.shape == (3, 384)
    finally:
        unregister_embedder("counting-test")


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision"):
        get_embedder("all-MiniLM-L6-v2", precision="int4")
