"""The document store: one DuckDB file (`docs.duckdb`) holding documents, their embeddings and the query cache.

Tables
- `documents`: doc_id (stable, never reused), kind (news|product|note|event), date (the day it became known:
  publication, else the event date; NULL = known from the start: only products and calendar rows declared scheduled
  or recognised as holidays, retrieval.ingest), event_date (the day it is about, for a scheduled event or a dated
  note announcing one; NULL = none), lang (ISO 639-1 code detected at ingest, retrieval.language), title,
  text (the line shown to people), body (longer text embedded with it, e.g. a news description), source, url,
  categories (VARCHAR[] of tags linking the document to series or hierarchy levels), norm_hash (de-duplication key,
  unique), dataset (where it came from), added_at.
- `doc_vectors`: (model, doc_id) → float32 vector (BLOB). What `build_index` embedded, so an index can be re-made or
  resumed without embedding again.
- `query_embeddings`: (model, text_hash) → text, float32 vector (BLOB). Repeated queries never load the model.

Concurrency: nothing is held between calls. Each public call attaches the file for that one operation to a
per-process in-memory DuckDB (about 1 ms, where a fresh `duckdb.connect` costs 15), read-only for reads (any number
of processes at once) and read-write inside one transaction for writes. While another process writes, the call
retries for up to `lock_timeout_s` seconds, then raises StoreBusyError (one line, exit 2). Reads of a store whose
file does not exist yet create nothing and see no documents.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TypeVar

import duckdb
import numpy as np

from trendcast.common.stores import attached, make_folder

from .mapping import DocMapping  # noqa: F401  (re-exported: the internals doc lists it with DocStore)

if TYPE_CHECKING:
    import pyarrow as pa

# what to do about a damaged docs.duckdb (common.stores.StoreError)
DOCS_FIX = ("move it aside, ingest the documents again (`trendcast ingest docs FILE`; `trendcast demo` rebuilds the "
            "demo workspace) and run `trendcast index --rebuild`")
KINDS = ("news", "product", "note", "event")  # event: a calendar entry (holiday, promotion, one-off event)
UNDATED_DAY = np.iinfo(np.int32).min + 1  # day number of an undated document: before every as-of and every since

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,
    date DATE,
    title VARCHAR,
    text VARCHAR NOT NULL,
    body VARCHAR,
    source VARCHAR,
    url VARCHAR,
    categories VARCHAR[] NOT NULL,
    norm_hash VARCHAR NOT NULL UNIQUE,
    dataset VARCHAR,
    added_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS doc_vectors (
    model VARCHAR NOT NULL,
    doc_id INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, doc_id)
);
CREATE TABLE IF NOT EXISTS query_embeddings (
    model VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
);
ALTER TABLE documents ADD COLUMN IF NOT EXISTS event_date DATE;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS lang VARCHAR;
"""
DOC_COLUMNS = ("kind", "date", "title", "text", "body", "source", "url", "categories", "norm_hash", "dataset",
               "event_date", "lang")
ROW_COLUMNS = ("doc_id", "kind", "date", "title", "text", "body", "source", "url", "categories")
T = TypeVar("T")



def _blobs_to_array(blobs: Sequence[bytes]) -> np.ndarray:
    if not len(blobs):
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)


class DocStore:
    """Documents, document vectors and cached query vectors in one DuckDB file. Safe to share between threads and
    between processes: no connection outlives a call (see the module docstring)."""

    def __init__(self, path: str | Path, lock_timeout_s: float = 10.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    # connections -----------------------------------------------------------------------------------------------

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T], empty: Callable[[], T]) -> T:
        """fn(cursor) on a read-only attachment; `empty()` when the file or its tables do not exist yet."""
        if not self.path.exists():
            return empty()
        with attached(self.path, True, self.lock_timeout_s, "store", DOCS_FIX) as cur:
            try:
                return fn(cur)
            except duckdb.CatalogException:
                return empty()

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """fn(cursor) in one transaction on a read-write attachment (the file and tables are created if need be)."""
        make_folder(self.path, DOCS_FIX)
        with attached(self.path, False, self.lock_timeout_s, "store", DOCS_FIX) as cur:
            cur.execute(_SCHEMA)
            cur.begin()
            try:
                out = fn(cur)
                cur.commit()
            except BaseException:
                try:
                    cur.rollback()
                except duckdb.Error:  # a commit that failed (its log could not be written) has rolled back
                    pass
                raise
            return out

    def query(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        """Rows of one read-only SQL query (for inspection and tests); [] when the store does not exist yet."""
        return self._read(lambda c: c.execute(sql, list(params or [])).fetchall(), list)

    @property
    def con(self) -> "_ReadOnlySQL":
        """`store.con.execute(sql).fetchall()`: read-only SQL, each execute a short read of its own."""
        return _ReadOnlySQL(self)

    def close(self) -> None:
        """Nothing to release: no connection is held between calls (kept for `with DocStore(...)`)."""

    def __enter__(self) -> "DocStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DocStore({str(self.path)!r})"

    # documents -------------------------------------------------------------------------------------------------

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._read(lambda c: c.execute("SELECT count(*) FROM documents").fetchall()[0][0], int)
        return self._read(lambda c: c.execute("SELECT count(*) FROM documents WHERE kind = ?", [kind])
                          .fetchall()[0][0], int)

    def stats(self) -> list[dict]:
        """Per kind: count, first and last date, undated count."""
        rows = self.query("SELECT kind, count(*), min(date), max(date), count(*) - count(date) FROM documents "
                          "GROUP BY kind ORDER BY kind")
        return [dict(kind=r[0], count=r[1], first=r[2], last=r[3], undated=r[4]) for r in rows]

    def add_documents(self, table: "pa.Table") -> tuple[int, int]:
        """Insert new documents (columns DOC_COLUMNS) in one transaction; returns (added, duplicates).

        A row whose norm_hash is already stored, or repeats an earlier row of `table`, is a duplicate and not stored.
        """
        import pyarrow as pa

        hashes = table.column("norm_hash").to_pylist()
        first: dict[str, int] = {}
        for i, h in enumerate(hashes):
            first.setdefault(h, i)

        def insert(con: duckdb.DuckDBPyConnection) -> int:
            con.register("_incoming_hashes", table.select(["norm_hash"]))
            known = {r[0] for r in con.execute(
                "SELECT norm_hash FROM documents WHERE norm_hash IN (SELECT norm_hash FROM _incoming_hashes)"
            ).fetchall()}
            con.unregister("_incoming_hashes")
            keep = sorted(i for h, i in first.items() if h not in known)
            if keep:
                new = table.take(pa.array(keep, pa.int64()))
                start = con.execute("SELECT coalesce(max(doc_id), 0) FROM documents").fetchall()[0][0] + 1
                new = new.append_column("doc_id", pa.array(np.arange(start, start + len(keep), dtype=np.int32)))
                con.register("_incoming", new)
                cols = ", ".join(("doc_id",) + DOC_COLUMNS)
                con.execute(f"INSERT INTO documents ({cols}) SELECT {cols} FROM _incoming")
                con.unregister("_incoming")
            return len(keep)

        added = self._write(insert)
        return added, len(hashes) - added

    def rows(self, doc_ids: Iterable[int]) -> dict[int, tuple]:
        """doc_id → (doc_id, kind, date, title, text, body, source, url, categories)."""
        ids = [int(i) for i in doc_ids]
        if not ids:
            return {}
        found = self.query(f"SELECT {', '.join(ROW_COLUMNS)} FROM documents "
                           f"WHERE doc_id IN ({', '.join(map(str, ids))})")
        return {r[0]: r for r in found}

    def meta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All documents as arrays: doc_id (int64), day number since 1970-01-01 (int32; undated: UNDATED_DAY), kind."""
        got: dict[str, Any] = self._read(lambda c: c.execute(
            f"SELECT doc_id, coalesce(date - DATE '1970-01-01', {UNDATED_DAY})::INTEGER AS day, kind "
            "FROM documents ORDER BY doc_id").fetchnumpy(), lambda: {"doc_id": [], "day": [], "kind": []})
        return (np.asarray(got["doc_id"], dtype=np.int64), np.asarray(got["day"], dtype=np.int32),
                np.asarray(got["kind"], dtype=object))

    def scheduled(self, start: date, end: date, as_of: date) -> list[dict]:
        """Documents about a day in start..end that were known by as_of (dated on or before it, or undated), by
        event date: the events a planner knows ahead. Each: doc_id, kind, date, event_date, text, source,
        categories."""
        sql = ("SELECT doc_id, kind, date, event_date, text, source, categories FROM documents "
               "WHERE event_date BETWEEN ? AND ? AND (date IS NULL OR date <= ?) ORDER BY event_date, doc_id")
        try:
            rows = self.query(sql, [start, end, as_of])
        except duckdb.BinderException:  # a store written before event dates existed
            return []
        keys = ("doc_id", "kind", "date", "event_date", "text", "source", "categories")
        return [dict(zip(keys, r)) for r in rows]

    def occurrences(self, texts: Sequence[str], before: date, as_of: date) -> list[dict]:
        """Earlier events with one of these texts (case-insensitive), dated before `before` and known by as_of:
        the same holiday in past years."""
        if not texts:
            return []
        sql = ("SELECT lower(text), event_date FROM documents WHERE event_date < ? AND (date IS NULL OR date <= ?) "
               "AND lower(text) IN (SELECT lower(unnest(?::VARCHAR[]))) ORDER BY event_date")
        try:
            rows = self.query(sql, [before, as_of, list(texts)])
        except duckdb.BinderException:
            return []
        return [{"text": r[0], "event_date": r[1]} for r in rows]

    def category_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(doc_id, lower-cased tag) for every tag of every document."""
        got: dict[str, Any] = self._read(lambda c: c.execute(
            "SELECT doc_id, lower(unnest(categories)) AS tag FROM documents").fetchnumpy(),
            lambda: {"doc_id": [], "tag": []})
        return np.asarray(got["doc_id"], dtype=np.int64), np.asarray(got["tag"], dtype=object)

    # document vectors -------------------------------------------------------------------------------------------

    def unembedded(self, model: str) -> list[tuple[int, str | None, str, str | None]]:
        """(doc_id, title, text, body) of the documents with no stored vector for `model`, by doc_id."""
        return self.query("SELECT doc_id, title, text, body FROM documents WHERE doc_id NOT IN "
                          "(SELECT doc_id FROM doc_vectors WHERE model = ?) ORDER BY doc_id", [model])

    def add_vectors(self, model: str, doc_ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Store vectors (one transaction); a vector already stored for (model, doc_id) is kept."""
        import pyarrow as pa

        vecs = np.ascontiguousarray(vectors, dtype="<f4")
        table = pa.table({"doc_id": pa.array(np.asarray(doc_ids, dtype=np.int32)),
                          "vector": pa.array([row.tobytes() for row in vecs], pa.binary())})

        def insert(con: duckdb.DuckDBPyConnection) -> None:
            con.register("_vectors", table)
            try:
                con.execute("INSERT OR IGNORE INTO doc_vectors SELECT ?, doc_id, vector FROM _vectors", [model])
            finally:
                con.unregister("_vectors")

        self._write(insert)

    def delete_vectors(self, model: str) -> None:
        self._write(lambda c: c.execute("DELETE FROM doc_vectors WHERE model = ?", [model]))

    def prune_vectors(self, keep_model: str) -> None:
        """Delete the stored vectors of every model but `keep_model` (after a rebuild has switched models)."""
        self._write(lambda c: c.execute("DELETE FROM doc_vectors WHERE model <> ?", [keep_model]))

    def vectors(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc_ids int64, float32 matrix) of every stored vector for `model` whose document exists, by doc_id."""
        got: dict[str, Any] = self._read(lambda c: c.execute(
            "SELECT v.doc_id, v.vector FROM doc_vectors v JOIN documents d USING (doc_id) "
            "WHERE v.model = ? ORDER BY v.doc_id", [model]).fetchnumpy(), lambda: {"doc_id": [], "vector": []})
        return np.asarray(got["doc_id"], dtype=np.int64), _blobs_to_array(list(got["vector"]))

    # query cache -----------------------------------------------------------------------------------------------

    def cached_queries(self, model: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not text_hashes:
            return {}
        found = self.query("SELECT text_hash, vector FROM query_embeddings WHERE model = ? AND text_hash IN "
                           "(SELECT unnest(?::VARCHAR[]))", [model, list(text_hashes)])
        return {h: np.frombuffer(v, dtype="<f4").astype(np.float32) for h, v in found}

    def cache_queries(self, model: str, items: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Store (text_hash, text, vector) triples in one transaction; ones already cached are left alone."""
        rows = {h: (t, np.asarray(v, dtype="<f4").tobytes()) for h, t, v in items}
        if len(rows) == 1:
            (h, (t, blob)), = rows.items()
            self._write(lambda c: c.execute("INSERT OR IGNORE INTO query_embeddings VALUES (?, ?, ?, ?)",
                                            [model, h, t, blob]))
        elif rows:
            import pyarrow as pa

            table = pa.table({"text_hash": list(rows), "text": [t for t, _ in rows.values()],
                              "vector": pa.array([b for _, b in rows.values()], pa.binary())})

            def insert(con: duckdb.DuckDBPyConnection) -> None:
                con.register("_queries", table)
                try:
                    con.execute("INSERT OR IGNORE INTO query_embeddings "
                                "SELECT ?, text_hash, text, vector FROM _queries", [model])
                finally:
                    con.unregister("_queries")

            self._write(insert)


class _ReadOnlySQL:
    """What `DocStore.con` returns: `.execute(sql, params)` runs one read-only query and keeps its rows."""

    def __init__(self, store: DocStore):
        self._store = store
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Sequence | None = None) -> "_ReadOnlySQL":
        self._rows = self._store.query(sql, params)
        return self

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None
