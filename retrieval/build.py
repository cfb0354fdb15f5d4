"""`build_index`: embed the documents that have no vector yet and write the FAISS index (flat or IVF) atomically."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import faiss_ops
from .docstore import DocStore
from .embedders import Embedder
from .errors import IndexMismatchError, IndexMissingError
from .index_files import Manifest, id_ranges, load_faiss, new_build_id, read_manifest, write_index_files
from .texts import content

if TYPE_CHECKING:
    from rich.progress import Progress

CHUNK = 2048  # documents embedded and committed per step: a crash loses at most one chunk of work
PROGRESS_MIN = 1000  # show a progress bar when at least this many documents need embedding


@dataclass(frozen=True)
class IndexSummary:
    added: int  # documents newly put into the index
    embedded: int  # documents embedded in this run (the rest had stored vectors)
    total: int  # documents in the index now
    kind: str  # flat | ivf
    device: str  # cpu | gpu (where the index was built)
    model: str
    seconds: float  # wall time of the whole call, model loading included
    docs_per_s: float  # added / seconds (0 when nothing was added)
    written: bool  # False when the index was already up to date


def build_index(index_dir: str | Path, store: DocStore, embedder: Embedder, rebuild: bool = False,
                exact_max: int = 50_000, progress: bool = True, chunk_size: int = CHUNK) -> IndexSummary:
    """Bring the index in `index_dir` up to date with `store`.

    Embeds the documents without a stored vector for `embedder.name`, then adds them to the index — or makes a new
    index when there is none, when it must change kind (flat up to `exact_max` documents, IVF above), when an IVF
    index has outgrown the lists it was trained with (`faiss_ops.outgrown`: it is retrained for its new size), or when
    `rebuild` (which also re-embeds every document). An index made with another model is refused unless `rebuild`.
    Vectors are committed to the store every `chunk_size` documents, so an interrupted run resumes where it stopped;
    the index files are replaced atomically, so until the new index is complete the previous one stays in use.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    model = embedder.name
    manifest = None if rebuild else read_manifest(index_dir)
    if manifest is not None and manifest.model != model:
        raise IndexMismatchError(index_dir, f"the index was built with embedding model {manifest.model!r}, "
                                            f"not the configured {model!r}")
    if rebuild:
        store.delete_vectors(model)
    embedded = _embed_missing(store, embedder, progress, chunk_size)
    ids, vectors = store.vectors(model)
    kind = "flat" if len(ids) <= exact_max else "ivf"
    old = _usable_index(index_dir, manifest, kind, len(ids))
    if old is not None:
        assert manifest is not None  # an index to add to is found through its manifest
        new = ~np.isin(ids, manifest.doc_ids())
        if not new.any():
            return _summary(0, embedded, manifest.count, kind, manifest.device, model, started, written=False)
        index, nlist, device = old, manifest.nlist, manifest.device
        nprobe = None
        if faiss_ops.is_ivf(index):  # an index built under an older rule gets today's nprobe for its lists
            nlist = int(index.nlist)
            index.nprobe = nprobe = faiss_ops.nprobe_for(nlist)
        faiss_ops.add(index, vectors[new], ids[new])
    else:
        new = ~np.isin(ids, np.zeros(0, dtype=np.int64))
        dim = vectors.shape[1] if len(ids) else embedder.dim
        index, nlist, nprobe, device = faiss_ops.make_index(dim, vectors, ids, kind,
                                                            use_gpu=faiss_ops.gpu_available())
    build_id = new_build_id()
    seconds = time.perf_counter() - started
    manifest = Manifest(model=model, dim=int(index.d), count=int(index.ntotal), kind=kind,
                        index_file=f"docs-{build_id}.faiss", build_id=build_id,
                        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), build_seconds=round(seconds, 3),
                        device=device, faiss_version=_faiss_version(), id_ranges=id_ranges(ids),
                        nlist=nlist, nprobe=nprobe)
    write_index_files(index_dir, index, manifest)
    if rebuild:
        store.prune_vectors(model)
    return _summary(int(new.sum()), embedded, manifest.count, kind, device, model, started, written=True)


def _summary(added, embedded, total, kind, device, model, started, written) -> IndexSummary:
    seconds = time.perf_counter() - started
    return IndexSummary(added=added, embedded=embedded, total=total, kind=kind, device=device, model=model,
                        seconds=seconds, docs_per_s=added / seconds if added and seconds > 0 else 0.0,
                        written=written)


def _usable_index(index_dir: Path, manifest: Manifest | None, kind: str, total: int):
    """The current index to add to, or None when a new one must be made."""
    if manifest is None or manifest.kind != kind:
        return None
    if kind == "ivf" and manifest.nlist and faiss_ops.outgrown(manifest.nlist, total):
        return None
    try:
        return load_faiss(index_dir, manifest)
    except (IndexMissingError, IndexMismatchError):  # damaged or missing file: make a new one from stored vectors
        return None


def _faiss_version() -> str:
    import faiss

    return getattr(faiss, "__version__", "unknown")


def _embed_missing(store: DocStore, embedder: Embedder, progress: bool, chunk_size: int) -> int:
    """Embed and store vectors for every document that has none for this model; returns how many."""
    pending = store.unembedded(embedder.name)
    if not pending:
        return 0
    texts = [content(title, text, body) for _, title, text, body in pending]
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths per batch: less padding
    ids = np.array([pending[i][0] for i in order], dtype=np.int64)
    texts = [texts[i] for i in order]
    with _progress(len(texts), progress and len(texts) >= PROGRESS_MIN, embedder.name) as advance:
        for start in range(0, len(texts), chunk_size):
            chunk = texts[start:start + chunk_size]
            store.add_vectors(embedder.name, ids[start:start + chunk_size], embedder.encode(chunk))
            advance(len(chunk))
    return len(texts)


class _progress:
    """A rich progress bar on stderr (or nothing), used as `with _progress(n, on, label) as advance: advance(k)`."""

    def __init__(self, total: int, enabled: bool, label: str):
        self.total, self.enabled, self.label = total, enabled, label
        self._bar: Progress | None = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TextColumn("docs"),
                       TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._bar = bar
        bar.start()
        task = bar.add_task(self.label, total=self.total)
        return lambda n: bar.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

