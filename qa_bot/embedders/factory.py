"""The embedder the settings ask for: the one module that knows every backend (the backends know nothing of it)."""
from __future__ import annotations

from pathlib import Path
from typing import get_args

from ..errors import SettingError
from ..settings import EmbedBackend
from .protocol import Embedder
from .torch_backend import SentenceTransformerEmbedder


def make_embedder(settings) -> Embedder:
    """The embedder the settings ask for; an unknown ``embed_backend`` is refused, never silently replaced."""
    backend = settings.embed_backend
    if backend not in get_args(EmbedBackend):
        raise SettingError(f"QA_BOT_EMBED_BACKEND={backend!r} is not a backend; use one of "
                           + ", ".join(get_args(EmbedBackend)))
    if backend in ("onnx", "onnx-int8"):
        from .onnx_backend import OnnxEmbedder  # onnxruntime loads only for this backend

        return OnnxEmbedder(
            settings.embedder,
            quantized=backend == "onnx-int8",
            cache_dir=Path(settings.index_dir) / ".onnx",
            batch_size=settings.embed_batch_size,
        )
    return SentenceTransformerEmbedder(settings.embedder, batch_size=settings.embed_batch_size)
