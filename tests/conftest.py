"""Fakes of the heavy dependencies (embedder, LLM, Chroma) so most tests run in milliseconds, plus fixtures for the
few tests that use the real bundled models."""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEED = REPO / "examples" / "000_b060f3c20b339b0c.txt"


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


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def scripted() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture
def settings(tmp_path):
    from qa_bot.settings import Settings

    # Fake vectors put every answer at or above extract_threshold, where the default quotes without asking the
    # model; prefer_quotes=False keeps the scripted model in play (the quote-first default: test_pipeline.py).
    return Settings(index_dir=tmp_path / "index", collection=f"t{uuid.uuid4().hex[:12]}", prompts_dir=None,
                    refusal_threshold=0.3, extract_threshold=0.3, prefer_quotes=False, _env_file=None)


@pytest.fixture
def ephemeral_client():
    import chromadb

    return chromadb.EphemeralClient()


@pytest.fixture
def make_pipeline(settings, fake_embedder, ephemeral_client):
    """A Pipeline on fakes: EphemeralClient, hashed-word embedder, scripted LLM."""
    from qa_bot.pipeline import Pipeline

    def make(generator=None, **overrides):
        s = settings.model_copy(update=overrides)
        return Pipeline(s, embedder=fake_embedder, generator=generator or ScriptedGenerator(), client=ephemeral_client)

    return make


@pytest.fixture(scope="session")
def real_embedder():
    from qa_bot.embedders.torch_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def real_generator():
    from qa_bot.generate import LlamaCppGenerator, resolve_model_path

    return LlamaCppGenerator(resolve_model_path("bundled:smollm2"), n_ctx=2048)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here (the evaluation data sits in ../shared beside the repository)")
    return path
