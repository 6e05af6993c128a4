"""The pipeline: every stage wired from one Settings object. The CLI, the UI and the evaluation all go through it.

Heavy things load on first use (the GGUF model only when something is generated), and the one model instance is
shared and guarded, so a UI serving several people queues on it instead of loading it twice."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path

from .answering import AnswerEvent, Answerer, bundled_models
from .embedders import Embedder, make_embedder
from .errors import DocumentNotFoundError, IndexNotFoundError, QABotError
from .generate import Generator, make_generator
from .ingest import IngestReport, Progress, ingest_documents
from .load import LoadIssue, load_paths
from .prompts import load_prompt
from .records import Answer, Document, Turn
from .retrieve import Filters, Retriever, lexical_strategy
from .settings import Settings
from .store import ChromaStore, DocumentRecord, index_bytes, make_client
from .summarize import Summarizer, Summary
from .summary_ranker import bundled_ranker


class Pipeline:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 generator: Generator | None = None, client=None):
        self.settings = settings or Settings()
        self._embedder = embedder
        self._generator = generator
        # Summary caches are keyed by the model as configured (known before it loads), so a fresh process finds
        # the summaries an earlier one stored; an injected generator is named by itself.
        self._configured_model = generator.name if generator is not None else (
            f"{self.settings.llm_model}@{self.settings.llm_url}" if self.settings.llm_url else self.settings.model)
        self._client = client
        self._generator_lock = threading.Lock()
        self._store: ChromaStore | None = None

    # -- components ----------------------------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.settings)
        return self._embedder

    @property
    def generator(self) -> Generator:
        with self._generator_lock:
            if self._generator is None:
                self._generator = make_generator(self.settings)
            return self._generator

    @property
    def model_name(self) -> str:
        if self._generator is not None:
            return self._generator.name
        if self.settings.llm_url:
            return f"{self.settings.llm_model}@{self.settings.llm_url}"
        return self.settings.model

    @cached_property
    def client(self):
        if self._client is not None:
            return self._client
        return make_client(self.settings)

    @property
    def location(self) -> str:
        """Where the index lives: the Chroma server's URL, or the index folder."""
        return self.settings.chroma_url or str(self.settings.index_dir)

    def store(self, create: bool = False) -> ChromaStore:
        """The collection; without ``create`` a missing index is a clear error instead of an empty new one."""
        if self._store is None:
            if not create and not self.settings.chroma_url and self._client is None and not Path(self.settings.index_dir).exists():
                raise IndexNotFoundError(
                    f"no index at {self.settings.index_dir}; build one with: qa-bot ingest PATH "
                    "(or point QA_BOT_INDEX_DIR / --index-dir at an existing one)"
                )
            self._store = ChromaStore(
                self.client,
                self.settings.collection,
                self.embedder.name,
                create=create,
                retries=self.settings.server_retries,
                location=self.location,
                lock_dir=None if self.settings.chroma_url else Path(self.settings.index_dir),
            )
        return self._store

    @cached_property
    def retriever(self) -> Retriever:
        cache = None if self._client is not None else Path(self.settings.index_dir) / ".bm25"
        return Retriever(self.store(), self.embedder, candidates=self.settings.candidates, rrf_k=self.settings.rrf_k,
                         fusion=self.settings.fusion, lexical_cache=cache, lexical_strategy=lexical_strategy(self.settings))

    @cached_property
    def answerer(self) -> Answerer:
        s = self.settings
        models = bundled_models(str(s.answer.answer_model) if s.answer.answer_model else None)
        return Answerer(self.retriever, self.embedder, lambda: self.generator, load_prompt("answer", s.prompts_dir),
                        s.answer, models)

    @cached_property
    def summarizer(self) -> Summarizer:
        s = self.settings
        return Summarizer(lambda: self.generator, self.embedder.embed_documents,
                          load_prompt("summarize", s.prompts_dir), load_prompt("summarize_long", s.prompts_dir),
                          bundled_ranker(str(s.summary_model) if s.summary_model else None), s.summary_wording)

    # -- operations ----------------------------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path | str], progress: Progress | None = None,
               doc_ids: Mapping[Path, str] | None = None, batch_docs: int = 32) -> IngestReport:
        """Index the files and folders (the CLI, the app's examples, browser uploads and the evaluation corpus all
        come this way); ``doc_ids`` names files given directly (see :func:`~qa_bot.load.load_paths`); ``progress``
        is called after each batch of ``batch_docs`` documents."""
        return self.ingest_documents(load_paths(paths, doc_ids), progress, batch_docs)

    def ingest_documents(self, documents: Iterable[Document | LoadIssue], progress: Progress | None = None,
                         batch_docs: int = 32) -> IngestReport:
        report = ingest_documents(documents, self.store(create=True), self.embedder, self.settings.chunk_tokens,
                                  self.settings.chunk_overlap_tokens, progress, batch_docs=batch_docs)
        if "retriever" in self.__dict__:
            self.retriever.invalidate()
        return report

    def check_model(self) -> None:
        """Fail fast (before any work) when the configured GGUF file is missing or not a GGUF."""
        if self._generator is None and not self.settings.llm_url and not self.settings.model.startswith("hf:"):
            from .generate import resolve_model_path

            resolve_model_path(self.settings.model)

    def _require_chunks(self) -> None:
        if self.store().count_chunks() == 0:
            raise IndexNotFoundError(f"the index at {self.location} is empty; add articles with: qa-bot ingest PATH")

    def ask(self, question: str, history: Sequence[Turn | tuple[str, str]] = (), filters: Filters | None = None,
            k: int | None = None) -> Answer:
        self.check_model()
        self._require_chunks()
        return self.answerer.answer(question, history, filters, k)

    def ask_stream(self, question: str, history: Sequence[Turn | tuple[str, str]] = (), filters: Filters | None = None,
                   k: int | None = None) -> Iterator[AnswerEvent]:
        self.check_model()
        self._require_chunks()
        yield from self.answerer.stream(question, history, filters, k)

    def summarize_text(self, text: str, title: str = "", length: str = "short") -> Summary:
        if not text.strip():
            raise QABotError("there is no text to summarise; paste an article or pick one from the library")
        return self.summarizer.summarize(text, title, length)

    def document_text(self, doc_id: str) -> tuple[DocumentRecord, str]:
        store = self.store()
        record = store.document(doc_id)
        if record is None:
            raise DocumentNotFoundError(doc_id)
        chunks = store.document_chunks(doc_id)
        text = ""
        for chunk in chunks:  # chunks overlap: stitch them back by their offsets
            if chunk.end > len(text):
                text = text[: chunk.start] + chunk.text if chunk.start <= len(text) else text + "\n" + chunk.text
        return record, text

    def _summary_stamp(self, record: DocumentRecord, length: str) -> str:
        summarizer = self.summarizer
        if length == "paragraph":
            return f"{record.content_hash[:16]}|{self._configured_model}|{summarizer.long_prompt.sha}"
        # the one-liner is the ranker's pick too: a refitted ranker makes its cached lines stale
        return (f"{record.content_hash[:16]}|{self._configured_model}|{summarizer.prompt.sha}|{summarizer.ranker.label}"
                f"|{summarizer.wording}")

    def cached_summary(self, record: DocumentRecord, length: str = "short") -> str | None:
        """The stored summary of this length if it was made from this content by this model, else None."""
        extra = record.extra or {}
        key = f"summary_{length}"
        return extra.get(key) if extra.get(f"{key}_key") == self._summary_stamp(record, length) and extra.get(key) else None

    def summarize_document(self, doc_id: str, length: str = "short", use_cache: bool = True) -> Summary:
        record = self.store().document(doc_id)
        key = f"summary_{length}"
        cached = self.cached_summary(record, length) if use_cache and record is not None else None
        if cached:  # before the article is stitched back from its chunks: a cached run reads one record
            extra = record.extra or {}
            return Summary(cached, extra.get(f"{key}_path", "cached"), [], extra.get(f"{key}_fallback") or None,
                           int(extra.get(f"{key}_dropped") or 0))
        record, text = self.document_text(doc_id)
        summary = self.summarize_text(text, record.title, length)
        self.store().set_document_extra(doc_id, {key: summary.text, f"{key}_key": self._summary_stamp(record, length),
                                                 f"{key}_path": summary.path, f"{key}_fallback": summary.fallback or "",
                                                 f"{key}_dropped": str(summary.dropped)})
        return summary

    def delete(self, doc_id: str) -> bool:
        with self.store().write_lock():
            deleted = self.store().delete_document(doc_id)
        if "retriever" in self.__dict__:
            self.retriever.invalidate()
        return deleted

    def documents(self) -> list[DocumentRecord]:
        return self.store().documents()

    def stats(self) -> dict:
        store = self.store()
        return {
            "docs": store.count_documents(),
            "chunks": store.count_chunks(),
            "embedder": self.embedder.name,
            "index_dir": self.location,
            "collection": self.settings.collection,
            # A Chroma server's disk use is not visible from here: None (JSON null), not a false 0.
            "bytes": None if self.settings.chroma_url else index_bytes(Path(self.settings.index_dir)),
        }
