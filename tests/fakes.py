"""The fakes of the heavy dependencies: an embedder of hashed words and an LLM whose replies are scripted. A module of
their own (conftest.py re-exports them) so that a subprocess can use them too: tests/fake_cli.py."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts sharing words are close, which is all retrieval tests need."""

    name = "fake-embedder"
    max_tokens = 254
    dim = 256

    def __init__(self):
        self.calls = 0

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # Roughly like a word-piece tokenizer: one piece per word and punctuation mark.
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v + 1.0 / np.sqrt(self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class ScriptedGenerator:
    """An LLM whose replies are scripted (a list, or a function of the messages) and which records every prompt."""

    name = "scripted-llm"
    n_ctx = 2048

    def __init__(self, replies: Sequence[str] | Callable[[list[dict]], str] = ()):
        self.replies = replies if callable(replies) else list(replies)
        self.prompts: list[list[dict]] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, messages, max_tokens: int, stop: Sequence[str] = ()) -> str:
        self.prompts.append(list(messages))
        if callable(self.replies):
            return self.replies(list(messages))
        return self.replies.pop(0) if self.replies else "The articles do not say."

    def stream(self, messages, max_tokens: int, stop: Sequence[str] = ()) -> Iterator[str]:
        for word in re.findall(r"\S+\s*", self.generate(messages, max_tokens, stop)):
            yield word
