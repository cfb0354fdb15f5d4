"""Document ingest: CSV / Parquet / JSONL, column mapping, dates, categories, duplicates, all-or-nothing errors."""
from __future__ import annotations

import gzip
import json
from datetime import date

import pandas as pd
import pytest
from conftest import NEWS_FILE

from trendcast.retrieval import HEADLINES_MAPPING, DocMapping, DocStore, InputError, ingest_docs


@pytest.fixture
def store(home):
    with DocStore(home / "docs.duckdb") as s:
        yield s


def _all(store: DocStore) -> list[tuple]:
    return store.con.execute(
        "SELECT doc_id, kind, date, title, text, body, source, url, categories, dataset FROM documents ORDER BY doc_id"
    ).fetchall()


def test_bundled_headlines_are_stored_once(store):
    first = ingest_docs(store, NEWS_FILE, HEADLINES_MAPPING, "news")
    assert (first.rows, first.added, first.duplicates, first.skipped) == (20_560, 20_551, 9, 0)
    assert (first.repeated, first.already_stored) == (9, 0)  # a new store: the 9 repeat rows of the file itself
    again = ingest_docs(store, NEWS_FILE, HEADLINES_MAPPING, "news")
    assert (again.added, again.duplicates) == (0, 20_560)
    assert (again.repeated, again.already_stored) == (9, 20_551)
    assert store.count() == 20_551
    row = store.rows([1])[1]
    assert row[1:4] == ("news", date(2017, 12, 17), None)
    assert row[4].startswith("Peter Preston on press and broadcasting")
    assert row[6] == "guardian"
    cnbc = store.con.execute("SELECT text, body FROM documents WHERE source = 'cnbc' LIMIT 1").fetchall()[0]
    assert cnbc[1]  # the CNBC description is kept as the body


def test_duplicates_are_same_normalised_text_and_date(tmp_path, store):
    path = tmp_path / "news.csv"
    path.write_text("date,headline\n"
                    "2020-03-01,Shops close early\n"
                    "2020-03-01,  shops   CLOSE early \n"  # same text once normalised, same date: duplicate
                    "2020-03-02,Shops close early\n"  # same text, another day: a new document
                    "2020-03-01,\n")  # blank text: skipped
    got = ingest_docs(store, path, DocMapping(text="headline"), "news")
    assert (got.rows, got.added, got.duplicates, got.skipped) == (4, 2, 1, 1)
    assert [r[2] for r in _all(store)] == [date(2020, 3, 1), date(2020, 3, 2)]


def test_jsonl_products_undated_or_launch_dated_with_tags(tmp_path, store):
    path = tmp_path / "products.jsonl"
    rows = [
        {"name": "Trail runner 2", "desc": "Lightweight running shoe", "launch": "2019-05-01",
         "tags": ["448", "Shoe stores"], "link": "https://example.com/p/1"},
        {"name": "Chef knife", "desc": "Forged steel kitchen knife", "launch": None, "tags": ["442"],
         "link": None},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    mapping = DocMapping(text="name", body="desc", date="launch", categories="tags", url="link",
                         default_source="catalogue", default_categories=("products",))
    got = ingest_docs(store, path, mapping, "product", dataset="catalogue-2019")
    assert got.added == 2
    stored = _all(store)
    assert stored[0][1:] == ("product", date(2019, 5, 1), None, "Trail runner 2", "Lightweight running shoe",
                             "catalogue", "https://example.com/p/1", ["448", "Shoe stores", "products"],
                             "catalogue-2019")
    assert stored[1][2] is None  # undated: valid from the start
    assert stored[1][8] == ["442", "products"]


def test_parquet_with_typed_dates_and_delimited_tags(tmp_path, store):
    path = tmp_path / "notes.parquet"
    pd.DataFrame({
        "note": ["Spring promotion on outdoor furniture", "Clearance of winter coats"],
        "day": pd.to_datetime(["2021-03-01 09:30", "2021-01-15 00:00"]),
        "cats": ["442|Furniture", "448"],
    }).to_parquet(path)
    got = ingest_docs(store, path, DocMapping(text="note", date="day", categories=("cats",)), "note")
    assert got.added == 2
    assert [(r[2], r[8]) for r in _all(store)] == [(date(2021, 3, 1), ["442", "Furniture"]),
                                                     (date(2021, 1, 15), ["448"])]


def test_gzipped_csv_with_custom_date_format(tmp_path, store):
    path = tmp_path / "uk.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("when,title\n31/03/2020,Lockdown closes non-essential shops\n")
    got = ingest_docs(store, path, DocMapping(text="title", date="when", date_format="%d/%m/%Y"), "news")
    assert got.added == 1 and _all(store)[0][2] == date(2020, 3, 31)


@pytest.mark.parametrize("content, mapping, kind, expected", [
    ("date,headline\n2020-01-01,a\n", DocMapping(text="title"), "news",
     "column 'title': no such column"),
    ("date,headline\n2020-01-01,a\n2020-13-45,b\n", DocMapping(text="headline"), "news",
     "column 'date', row 2: cannot read date '2020-13-45'"),
    ("date,headline\n2020-01-01,a\n,b\n", DocMapping(text="headline"), "news",
     "column 'date', row 2: news documents need a date"),
    ("headline\na\n", DocMapping(text="headline", date=None), "news", "news documents need a date column"),
    ("date,headline\n2020-01-01,a\n", DocMapping(text="headline"), "tweet", "unknown document kind 'tweet'"),
])
def test_bad_input_names_file_column_row_and_stores_nothing(tmp_path, store, content, mapping, kind, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError) as err:
        ingest_docs(store, path, mapping, kind)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path)) and expected in message
    assert isinstance(err.value, ValueError)
    assert store.count() == 0


def test_unreadable_files(tmp_path, store):
    for name, data, expected in [("x.xlsx", b"PK", "unknown file type"), ("empty.csv", b"", "the file is empty"),
                                 ("broken.jsonl", b"{not json\n", "cannot read as JSONL")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError, match=expected):
            ingest_docs(store, path, DocMapping(), "note")
    with pytest.raises(InputError, match="no such file"):
        ingest_docs(store, tmp_path / "missing.csv", DocMapping(), "note")


def test_a_bad_row_late_in_a_big_file_leaves_the_store_unchanged(tmp_path, store):
    ingest_docs(store, NEWS_FILE, HEADLINES_MAPPING, "news")
    frame = pd.read_csv(NEWS_FILE).head(5000)
    frame["headline"] = frame["headline"] + " (reprint)"
    frame.loc[4999, "date"] = "someday"
    path = tmp_path / "reprints.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"column 'date', row 5000"):
        ingest_docs(store, path, HEADLINES_MAPPING, "news")
    assert store.count() == 20_551
