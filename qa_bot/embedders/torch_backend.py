"""sentence-transformers on its default PyTorch backend: the reference embedder, and the one the refusal thresholds
are calibrated on."""
from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from ..errors import ModelNotFoundError
from .memory import return_freed_memory
from .model_files import embedder_identity, resolve_embedder_path


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
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a "Loading weights" bar on every `qa-bot` command is noise, not progress
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
