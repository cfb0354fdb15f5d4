"""As-of search on real headlines with the real model: filters, exactness, MMR, the query cache, LangChain."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import NEWS_FILE, REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from trendcast.retrieval import (DEFAULT_MODEL, HEADLINES_MAPPING, DocIndex, DocMapping, DocStore, TrendcastRetriever,
                       build_index, get_embedder, ingest_docs, window_start)

MODEL = "all-MiniLM-L6-v2"
FIRST, LAST = date(2017, 12, 1), date(2020, 8, 1)
ACME = ["Acme Mart to close 50 stores", "Acme Mart will close fifty stores", "Acme Mart closing 50 of its stores",
        "Acme Mart shuts 50 stores", "Acme Mart announces 50 store closures", "Fifty Acme Mart stores to close"]


def _workspace(root, exact_max: int):
    """~1,000 real headlines over 2.5 years, three products (two undated), six near-identical notes."""
    store = DocStore(root / "docs.duckdb")
    news = pd.read_csv(NEWS_FILE).iloc[::20]
    news.to_csv(root / "news.csv", index=False)
    ingest_docs(store, root / "news.csv", HEADLINES_MAPPING, "news")
    pd.DataFrame({
        "name": ["Trail running shoes", "Forged chef's kitchen knife", "Wireless earbuds"],
        "launch": ["", "", "2019-06-01"],
        "tags": ["448|Shoe stores", "442", "443|Electronics"],
    }).to_csv(root / "products.csv", index=False)
    ingest_docs(store, root / "products.csv", DocMapping(text="name", date="launch", categories="tags"), "product")
    pd.DataFrame({"text": ACME, "date": "2019-03-04"}).to_csv(root / "notes.csv", index=False)
    ingest_docs(store, root / "notes.csv", DocMapping(), "note")
    build_index(root / "index", store, get_embedder(MODEL), exact_max=exact_max, progress=False)
    return store, DocIndex.open(root / "index", store, MODEL)


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    store, index = _workspace(tmp_path_factory.mktemp("flat"), exact_max=50_000)
    assert index.kind == "flat"
    return index


@pytest.fixture(scope="module")
def ivf(tmp_path_factory):
    store, index = _workspace(tmp_path_factory.mktemp("ivf"), exact_max=200)
    assert index.kind == "ivf"
    return index


def _eligible_oracle(index: DocIndex, as_of, since, kinds) -> list[int]:
    """Eligible doc ids straight from the documents table (independent of the search code)."""
    sql = "SELECT doc_id FROM documents WHERE true"
    if as_of:
        sql += f" AND (date IS NULL OR date <= DATE '{as_of}')"
    if since:
        sql += f" AND date >= DATE '{since}'"
    if kinds:
        sql += " AND kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"
    return [r[0] for r in index.store.con.execute(sql).fetchall()]


def test_as_of_keeps_out_later_news_and_unlaunched_products(flat):
    hits = flat.search("wireless headphones", as_of="2019-05-31", k=50)
    assert len(hits) == 50 and all(h.date is None or h.date <= date(2019, 5, 31) for h in hits)
    assert "Wireless earbuds" not in [h.text for h in hits]
    launched = flat.search("wireless headphones", as_of="2019-06-01", k=3)
    assert launched[0].text == "Wireless earbuds" and launched[0].date == date(2019, 6, 1)
    undated = flat.search("running shoes", as_of="2017-12-01", kinds="product", k=5)
    assert [h.text for h in undated] == ["Trail running shoes", "Forged chef's kitchen knife"]  # valid from the start
    assert undated[0].id == f"D{undated[0].doc_id}" and undated[0].categories == ("448", "Shoe stores")


def test_since_kinds_and_categories(flat):
    hits = flat.search("stock market falls", as_of="2020-03-31", since="2020-03-01", k=100)
    assert hits and all(date(2020, 3, 1) <= h.date <= date(2020, 3, 31) for h in hits)  # undated: no since-date
    assert len(hits) == flat.eligible(as_of="2020-03-31", since="2020-03-01") < 100
    assert {h.kind for h in flat.search("stores", kinds=["note"], k=20)} == {"note"}
    tagged = flat.search("shoes", categories=["shoe stores", "443"], k=10)
    assert sorted(h.text for h in tagged) == ["Trail running shoes", "Wireless earbuds"]
    assert flat.search("shoes", categories="no-such-tag", k=10) == []
    assert flat.search("shoes", as_of="2017-01-01", kinds="news", k=10) == []
    assert flat.search("shoes", k=0) == []
    with pytest.raises(ValueError, match="unknown document kind"):
        flat.search("shoes", kinds="tweet")
    with pytest.raises(ValueError, match="as_of must be a date"):
        flat.search("shoes", as_of="31/03/2020")


def test_mmr_keeps_near_duplicates_from_crowding_out_the_rest(flat):
    plain = flat.search("Acme Mart store closures", k=6)
    assert sorted(h.text for h in plain) == sorted(ACME)
    diverse = flat.search("Acme Mart store closures", k=6, mmr=0.5)
    assert len(diverse) == 6 and diverse[0].text in ACME
    assert sum(h.text in ACME for h in diverse) <= 3
    assert flat.search("Acme Mart store closures", k=6, mmr=1.0) == plain


def test_string_and_vector_queries_agree_and_hits_serialise(flat):
    by_text = flat.search("retail sales slump", as_of="2019-12-31", k=5)
    vector = get_embedder(MODEL).encode(["retail sales slump"])[0]
    by_vector = flat.search(vector, as_of="2019-12-31", k=5)
    assert [h.doc_id for h in by_text] == [h.doc_id for h in by_vector]
    record = json.loads(json.dumps(by_text[0].as_dict()))
    assert set(record) >= {"id", "doc_id", "date", "kind", "source", "title", "text", "url", "score", "categories"}
    assert record["date"] <= "2019-12-31" and record["kind"] == "news"


WORDS = ["coronavirus", "lockdown", "stores", "retail", "sales", "oil", "prices", "brexit", "bank", "jobs", "shoes",
         "christmas", "shoppers", "profits", "fall", "rise", "china", "trade", "war", "housing", "market", "online"]
QUERIES = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)
DATES = st.dates(min_value=FIRST, max_value=LAST)
FILTERS = dict(query=QUERIES, as_of=st.none() | DATES, since_days=st.none() | st.integers(1, 400),
               kinds=st.none() | st.sampled_from([["news"], ["product"], ["news", "note"], ["product", "note"]]),
               k=st.integers(0, 60))


def _check(index: DocIndex, query, as_of, since_days, kinds, k, exact: bool):
    since = as_of - timedelta(days=since_days - 1) if as_of and since_days else None
    eligible = set(_eligible_oracle(index, as_of, since, kinds))
    hits = index.search(query, as_of=as_of, since=since, kinds=kinds, k=k)
    assert len(hits) == min(k, len(eligible))
    assert {h.doc_id for h in hits} <= eligible
    assert all(as_of is None or h.date is None or h.date <= as_of for h in hits)
    assert all(since is None or (h.date is not None and h.date >= since) for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    if exact and hits:  # flat index: exactly the brute-force top k among the eligible documents
        ids = np.array(sorted(eligible))
        brute = index.vectors(ids) @ index.query_vector(query)
        np.testing.assert_allclose(scores, np.sort(brute)[::-1][:len(hits)], atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(**FILTERS)
def test_property_flat_never_returns_a_document_after_as_of(flat, query, as_of, since_days, kinds, k):
    _check(flat, query, as_of, since_days, kinds, k, exact=True)


@settings(max_examples=40, deadline=None)
@given(**FILTERS)
def test_property_ivf_never_returns_a_document_after_as_of(ivf, query, as_of, since_days, kinds, k):
    _check(ivf, query, as_of, since_days, kinds, k, exact=False)


def test_window_start():
    assert window_start(date(2020, 3, 31), "30d") == date(2020, 3, 2)  # (as_of - 30 days, as_of]
    assert window_start("2020-03-31", "1w") == date(2020, 3, 25)
    assert window_start(date(2020, 3, 31), 1) == date(2020, 3, 31)
    with pytest.raises(ValueError):
        window_start(date(2020, 3, 31), "a month")


def test_langchain_retriever(flat):
    retriever = TrendcastRetriever(index=flat, as_of=date(2019, 12, 31), k=4, kinds=["news"])
    docs = retriever.invoke("coronavirus outbreak closes shops")
    assert len(docs) == 4
    for doc in docs:
        assert doc.metadata["date"] <= "2019-12-31" and doc.metadata["kind"] == "news"
        assert doc.metadata["id"].startswith("D") and isinstance(doc.metadata["score"], float)
        assert doc.page_content


def test_a_search_with_a_cached_query_never_imports_torch(flat):
    flat.search("coronavirus lockdown closes stores", as_of="2020-03-31", k=3)  # caches the query vector
    flat.store.close()  # one process at a time on the DuckDB file
    code = textwrap.dedent(f"""
        import sys
        from trendcast.retrieval import DocStore, open_index
        index = open_index({str(flat.index_dir)!r}, DocStore({str(flat.store.path)!r}), "all-MiniLM-L6-v2")
        hits = index.search("coronavirus lockdown closes stores", as_of="2020-03-31", k=3)
        assert len(hits) == 3
        print(sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert flat.model == DEFAULT_MODEL
