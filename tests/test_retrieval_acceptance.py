"""Acceptance on all 20,560 real headlines: ingest + index, and the as-of search around the COVID shock."""
from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import NEWS_FILE

from trendcast.retrieval import HEADLINES_MAPPING, DocIndex, DocStore, build_index, get_embedder, ingest_docs

QUERY = "coronavirus lockdown closes stores"
ABOUT_IT = re.compile(r"coronavirus|covid|virus|pandemic|lockdown|outbreak|quarantin", re.IGNORECASE)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    home = tmp_path_factory.mktemp("headlines")
    store = DocStore(home / "docs.duckdb")
    ingested = ingest_docs(store, NEWS_FILE, HEADLINES_MAPPING, "news")
    assert (ingested.rows, ingested.added, ingested.duplicates) == (20_560, 20_551, 9)
    summary = build_index(home / "index", store, get_embedder("all-MiniLM-L6-v2"), progress=False)
    assert (summary.total, summary.kind) == (20_551, "flat")
    return DocIndex.open(home / "index", store, "all-MiniLM-L6-v2")


@pytest.mark.slow
def test_as_of_march_2020_finds_the_lockdown(index):
    hits = index.search(QUERY, as_of="2020-03-31", k=10)
    assert len(hits) == 10
    assert all(h.date <= date(2020, 3, 31) for h in hits)
    assert sum(bool(ABOUT_IT.search(h.content)) for h in hits) >= 5


@pytest.mark.slow
def test_as_of_december_2019_knows_nothing_of_it(index):
    hits = index.search(QUERY, as_of="2019-12-31", k=10)
    assert len(hits) == 10
    assert all(h.date <= date(2019, 12, 31) for h in hits)
    assert not any(re.search(r"coronavirus|covid", h.content, re.IGNORECASE) for h in hits)
    diverse = index.search(QUERY, as_of="2019-12-31", k=10, mmr=0.7)
    assert len(diverse) == 10 and all(h.date <= date(2019, 12, 31) for h in diverse)
