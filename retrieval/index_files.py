"""The index folder: `manifest.json` + the FAISS file it names (`docs-<build id>.faiss`, written by faiss.write_index).

A build writes the new FAISS file under a fresh name, then replaces manifest.json (temp file + fsync + rename) — the
one atomic step that switches readers to it. A crash at any earlier point leaves the previous manifest pointing at
the previous, untouched FAISS file; leftovers of a crashed build are removed by the next one. Nothing is pickled.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from trendcast.common.stores import StoreError, last_line, storage_kind

from .errors import IndexMismatchError, IndexMissingError

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    model: str  # canonical embedding model name (retrieval.embedders.canonical_model_name)
    dim: int
    count: int
    kind: str  # flat | ivf
    index_file: str
    build_id: str
    built_at: str  # UTC, ISO 8601
    build_seconds: float
    device: str  # where it was built: cpu | gpu
    faiss_version: str
    id_ranges: list[list[int]]  # faiss ids = documents.doc_id, as inclusive [first, last] runs
    nlist: int | None = None
    nprobe: int | None = None
    metric: str = "inner_product"
    format: int = FORMAT
    extra: dict = field(default_factory=dict)

    def doc_ids(self) -> np.ndarray:
        if not self.id_ranges:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b + 1, dtype=np.int64) for a, b in self.id_ranges])


def id_ranges(doc_ids: np.ndarray) -> list[list[int]]:
    ids = np.unique(np.asarray(doc_ids, dtype=np.int64))
    if not len(ids):
        return []
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(ids) - 1]])
    return [[int(ids[s]), int(ids[e])] for s, e in zip(starts, ends)]


def new_build_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def read_manifest(index_dir: str | Path) -> Manifest | None:
    """The manifest, or None when the folder has none. A manifest that cannot be read is an IndexMismatchError."""
    path = Path(index_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(index_dir, f"the index manifest {path} cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexMismatchError(index_dir, f"the index manifest {path} has an unknown format")
    try:
        return Manifest(**data)
    except TypeError as exc:
        raise IndexMismatchError(index_dir, f"the index manifest {path} is incomplete ({exc})") from None


def load_faiss(index_dir: str | Path, manifest: Manifest):
    import faiss

    path = Path(index_dir) / manifest.index_file
    if not path.is_file():
        raise IndexMissingError(index_dir, f"the index file {manifest.index_file} named by the manifest is missing")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexMismatchError(index_dir, f"the index file {path} cannot be read ({str(exc).splitlines()[0]})")
    if index.ntotal != manifest.count or index.d != manifest.dim:
        raise IndexMismatchError(index_dir, f"the index file {path} does not match its manifest")
    return index


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_index_files(index_dir: str | Path, index, manifest: Manifest) -> None:
    """Write the FAISS file, then switch manifest.json to it atomically, then delete what no manifest names. A full
    disk or a read-only folder is a StoreError naming the folder; the previous index stands and nothing of the new
    one is left."""
    index_dir = Path(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        _write_index_files(index_dir, index, manifest)
    except (OSError, RuntimeError) as exc:  # faiss reports a failed write as a RuntimeError naming the errno
        try:
            current = read_manifest(index_dir) if index_dir.is_dir() else None
        except IndexMismatchError:
            current = None
        new = [index_dir / (manifest.index_file + ".tmp"), *index_dir.glob(".manifest-*.tmp")]
        if current is None or current.index_file != manifest.index_file:  # the manifest still names the old one
            new.append(index_dir / manifest.index_file)
        for path in new:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        kind = storage_kind(exc)
        if kind in ("no_space", "read_only"):
            raise StoreError(index_dir, kind, last_line(exc).rpartition("failed: ")[2], "") from None
        raise
    remove_leftovers(index_dir, keep=manifest.index_file)


def _write_index_files(index_dir: Path, index, manifest: Manifest) -> None:
    import faiss

    final = index_dir / manifest.index_file
    tmp = index_dir / (manifest.index_file + ".tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fd, tmp_manifest = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=index_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(manifest), fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp_manifest, index_dir / MANIFEST)
    _fsync_dir(index_dir)


def remove_leftovers(index_dir: Path, keep: str) -> None:
    """Delete FAISS files and temp files that the current manifest does not name (older builds, crashed builds)."""
    for path in index_dir.iterdir():
        stale_faiss = path.name.startswith("docs-") and path.name != keep
        stale_tmp = path.name.startswith(".manifest-") and path.name.endswith(".tmp")
        if stale_faiss or stale_tmp:
            try:
                path.unlink()
            except OSError:
                pass
