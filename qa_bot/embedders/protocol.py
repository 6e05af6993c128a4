"""What an embedder is: the one small interface the rest of the code (and the tests' fakes) use, so nothing else
touches sentence-transformers or onnxruntime directly."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    name: str  # recorded in the index; another name is refused at query time
    max_tokens: int  # word-pieces the model reads, special tokens excluded

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...  # (n, dim) float32, L2-normalised

    def embed_query(self, text: str) -> np.ndarray: ...  # (dim,) float32, L2-normalised

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...
