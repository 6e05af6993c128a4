"""Ingest: load → clean → chunk → embed → store, in batches of documents.

What a failure costs depends on where it happens:

- a file or record that cannot be read or cleaned is a :class:`~qa_bot.load.LoadIssue` in the report; the other
  documents are indexed as if it were not there;
- anything that fails while chunking, embedding or storing a batch (a model that cannot load, a Chroma server that
  stays down, a full disk) ends the run with that error. The batches written before it stay indexed; the failed
  batch may leave chunks without their registry record, and the writes-pending flag stays set, so the next ingest
  sweeps them and writes the batch again (unchanged documents are skipped by their content hash).

Documents are gathered ``batch_docs`` (32 by default) at a time so that each batch costs one embedding call and a
few store calls instead of a few per document."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .chunk import chunk_document
from .embedders import Embedder
from .load import LoadIssue
from .records import Document
from .store import ChromaStore

Progress = Callable[[int], None]  # called with the number of documents just processed


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0  # chunks written by this run
    orphans_removed: int = 0
    issues: list[LoadIssue] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: {"load_s": 0.0, "chunk_s": 0.0, "embed_s": 0.0, "store_s": 0.0})

    @property
    def errors(self) -> list[LoadIssue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def documents(self) -> int:
        return self.added + self.updated + self.unchanged

    def to_json(self) -> dict:
        """What `qa-bot ingest --json` and the API's upload answer report (beside the index's stats)."""
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "chunks_written": self.chunks, "errors": [str(i) for i in self.errors],
                "warnings": [str(i) for i in self.issues if i.level == "warning"],
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged",
                 f"{self.chunks} chunk{'s' * (self.chunks != 1)} written"]
        if self.errors:
            parts.append(f"{len(self.errors)} skipped with errors")
        return ", ".join(parts)


def ingest_documents(
    documents: Iterable[Document | LoadIssue],
    store: ChromaStore,
    embedder: Embedder,
    chunk_tokens: int,
    overlap_tokens: int,
    progress: Progress | None = None,
    batch_docs: int = 32,
) -> IngestReport:
    """Index documents; unchanged ones (same content hash) are skipped, changed ones replace their old chunks."""
    report = IngestReport()
    with store.write_lock():  # taken before the embedder loads, so a second ingest is told "busy" at once
        limit = min(chunk_tokens, embedder.max_tokens)
        # Only when the last ingest was interrupted (the store's writes-pending flag): reading every chunk costs.
        report.orphans_removed = store.begin_writes()
        pending: dict[str, Document] = {}

        def flush() -> None:
            if not pending:
                return
            docs = list(pending.values())
            pending.clear()
            known = store.document_hashes([d.doc_id for d in docs])
            todo = []
            for doc in docs:
                if known.get(doc.doc_id) == doc.content_hash:
                    report.unchanged += 1
                else:
                    todo.append(doc)
            t0 = time.perf_counter()
            chunked = [(doc, chunk_document(doc, embedder.count_tokens, limit, overlap_tokens)) for doc in todo]
            report.timings["chunk_s"] += time.perf_counter() - t0
            texts = [c.text for _, chunks in chunked for c in chunks]
            if not texts:  # every document unchanged: the embedding model need not even load
                if progress:
                    progress(len(docs))
                return
            t0 = time.perf_counter()
            vectors = embedder.embed_documents(texts)
            report.timings["embed_s"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            items, offset = [], 0
            for doc, chunks in chunked:
                items.append((doc, chunks, vectors[offset : offset + len(chunks)]))
                offset += len(chunks)
            store.replace_documents(items)  # the whole batch in a few calls
            for doc, chunks in chunked:
                report.chunks += len(chunks)
                if doc.doc_id in known:
                    report.updated += 1
                else:
                    report.added += 1
            report.timings["store_s"] += time.perf_counter() - t0
            if progress:
                progress(len(docs))

        origins: dict[str, str | None] = {}  # doc_id -> file it came from in this run
        t0 = time.perf_counter()
        for item in documents:
            report.timings["load_s"] += time.perf_counter() - t0
            if isinstance(item, LoadIssue):
                report.issues.append(item)
            else:
                # Two files can map to one doc_id (x.txt and x.md); repeats inside one .jsonl the loader reports.
                if item.doc_id in origins and origins[item.doc_id] != item.path:
                    report.issues.append(LoadIssue(
                        item.path or item.doc_id,
                        f"doc_id {item.doc_id!r} was also loaded from {origins[item.doc_id]}; the later one wins "
                        "(rename one of the files to keep both)",
                        level="warning",
                    ))
                origins[item.doc_id] = item.path
                # Within a batch a later record with the same doc_id wins (the loader reports the duplicate).
                pending.pop(item.doc_id, None)
                pending[item.doc_id] = item
                if len(pending) >= batch_docs:
                    flush()
            t0 = time.perf_counter()
        flush()
        store.finish_writes()  # not reached when anything above failed: the next ingest then sweeps
    return report

