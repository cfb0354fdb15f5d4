"""The document store: one DuckDB file (`docs.duckdb`) holding documents, their embeddings and the query cache.

Tables
- `documents`: doc_id (stable, never reused), kind (news|product|note), date (NULL = valid from the start), title,
  text (the line shown to people), body (longer text embedded with it, e.g. a news description), source, url,
  categories (VARCHAR[] of tags linking the document to series or hierarchy levels), norm_hash (de-duplication key,
  unique), dataset (where it came from), added_at.
- `doc_vectors`: (model, doc_id) → float32 vector (BLOB). What `build_index` embedded, so an index can be re-made or
  resumed without embedding again.
- `query_embeddings`: (model, text_hash) → text, float32 vector (BLOB). Repeated queries never load the model.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import duckdb
import numpy as np

from .mapping import DocMapping  # noqa: F401  (re-exported: the internals doc lists it with DocStore)

if TYPE_CHECKING:
    import pyarrow as pa

KINDS = ("news", "product", "note")
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
"""
DOC_COLUMNS = ("kind", "date", "title", "text", "body", "source", "url", "categories", "norm_hash", "dataset")
ROW_COLUMNS = ("doc_id", "kind", "date", "title", "text", "body", "source", "url", "categories")


def _blobs_to_array(blobs: Sequence[bytes]) -> np.ndarray:
    if not len(blobs):
        return np.zeros((0, 0), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)


class DocStore:
    """Documents, document vectors and cached query vectors in one DuckDB file. Safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
            self._con.execute(_SCHEMA)
        return self._con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> "DocStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DocStore({str(self.path)!r})"

    # documents -------------------------------------------------------------------------------------------------

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            if kind is None:
                return self.con.execute("SELECT count(*) FROM documents").fetchall()[0][0]
            return self.con.execute("SELECT count(*) FROM documents WHERE kind = ?", [kind]).fetchall()[0][0]

    def stats(self) -> list[dict]:
        """Per kind: count, first and last date, undated count."""
        with self._lock:
            rows = self.con.execute(
                "SELECT kind, count(*), min(date), max(date), count(*) - count(date) FROM documents "
                "GROUP BY kind ORDER BY kind").fetchall()
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
        with self._lock:
            con = self.con
            con.begin()
            try:
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
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return len(keep), len(hashes) - len(keep)

    def rows(self, doc_ids: Iterable[int]) -> dict[int, tuple]:
        """doc_id → (doc_id, kind, date, title, text, body, source, url, categories)."""
        ids = [int(i) for i in doc_ids]
        if not ids:
            return {}
        with self._lock:
            found = self.con.execute(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM documents WHERE doc_id IN ({', '.join(map(str, ids))})"
            ).fetchall()
        return {r[0]: r for r in found}

    def meta(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All documents as arrays: doc_id (int64), day number since 1970-01-01 (int32; undated: UNDATED_DAY), kind."""
        with self._lock:
            got = self.con.execute(
                f"SELECT doc_id, coalesce(date - DATE '1970-01-01', {UNDATED_DAY})::INTEGER AS day, kind "
                "FROM documents ORDER BY doc_id").fetchnumpy()
        return got["doc_id"].astype(np.int64), got["day"].astype(np.int32), np.asarray(got["kind"], dtype=object)

    def category_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(doc_id, lower-cased tag) for every tag of every document."""
        with self._lock:
            got = self.con.execute(
                "SELECT doc_id, lower(unnest(categories)) AS tag FROM documents").fetchnumpy()
        return got["doc_id"].astype(np.int64), np.asarray(got["tag"], dtype=object)

    # document vectors -------------------------------------------------------------------------------------------

    def unembedded(self, model: str) -> list[tuple[int, str | None, str, str | None]]:
        """(doc_id, title, text, body) of the documents with no stored vector for `model`, by doc_id."""
        with self._lock:
            return self.con.execute(
                "SELECT doc_id, title, text, body FROM documents WHERE doc_id NOT IN "
                "(SELECT doc_id FROM doc_vectors WHERE model = ?) ORDER BY doc_id", [model]).fetchall()

    def add_vectors(self, model: str, doc_ids: Sequence[int], vectors: np.ndarray) -> None:
        import pyarrow as pa

        vecs = np.ascontiguousarray(vectors, dtype="<f4")
        table = pa.table({"doc_id": pa.array(np.asarray(doc_ids, dtype=np.int32)),
                          "vector": pa.array([row.tobytes() for row in vecs], pa.binary())})
        with self._lock:
            self.con.register("_vectors", table)
            try:
                self.con.execute("INSERT INTO doc_vectors SELECT ?, doc_id, vector FROM _vectors", [model])
            finally:
                self.con.unregister("_vectors")

    def delete_vectors(self, model: str) -> None:
        with self._lock:
            self.con.execute("DELETE FROM doc_vectors WHERE model = ?", [model])

    def prune_vectors(self, keep_model: str) -> None:
        """Delete the stored vectors of every model but `keep_model` (after a rebuild has switched models)."""
        with self._lock:
            self.con.execute("DELETE FROM doc_vectors WHERE model <> ?", [keep_model])

    def vectors(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc_ids int64, float32 matrix) of every stored vector for `model` whose document exists, by doc_id."""
        with self._lock:
            got = self.con.execute(
                "SELECT v.doc_id, v.vector FROM doc_vectors v JOIN documents d USING (doc_id) "
                "WHERE v.model = ? ORDER BY v.doc_id", [model]).fetchnumpy()
        return got["doc_id"].astype(np.int64), _blobs_to_array(list(got["vector"]))

    # query cache -----------------------------------------------------------------------------------------------

    def cached_queries(self, model: str, text_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        if not text_hashes:
            return {}
        with self._lock:
            found = self.con.execute(
                "SELECT text_hash, vector FROM query_embeddings WHERE model = ? AND text_hash IN "
                "(SELECT unnest(?::VARCHAR[]))", [model, list(text_hashes)]).fetchall()
        return {h: np.frombuffer(v, dtype="<f4").astype(np.float32) for h, v in found}

    def cache_queries(self, model: str, items: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Store (text_hash, text, vector) triples; ones already cached are left alone."""
        rows = {h: (t, np.asarray(v, dtype="<f4").tobytes()) for h, t, v in items}
        if len(rows) == 1:
            (h, (t, blob)), = rows.items()
            with self._lock:
                self.con.execute("INSERT OR IGNORE INTO query_embeddings VALUES (?, ?, ?, ?)", [model, h, t, blob])
        elif rows:
            import pyarrow as pa

            table = pa.table({"text_hash": list(rows), "text": [t for t, _ in rows.values()],
                              "vector": pa.array([b for _, b in rows.values()], pa.binary())})
            with self._lock:
                self.con.register("_queries", table)
                try:
                    self.con.execute("INSERT OR IGNORE INTO query_embeddings "
                                     "SELECT ?, text_hash, text, vector FROM _queries", [model])
                finally:
                    self.con.unregister("_queries")
