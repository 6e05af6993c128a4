"""The document registry: one record per indexed document (its content hash, metadata, chunk count and cached
summaries), kept in its own collection beside the chunks. Its hashes make ingest idempotent; records are written
after their chunks, so a chunk without a matching record is an orphan of an interrupted write."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..records import Document
from .paging import READ_BATCH, Call, iter_rows


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    content_hash: str
    title: str
    source: str
    published: str | None
    url: str | None
    n_chunks: int
    path: str | None = None
    extra: dict[str, Any] | None = None  # cached summaries and the like
    file_date: str | None = None  # see Document.file_date

    def to_json(self) -> dict:
        """What `qa-bot stats --json --docs` and the API's document list show of a document."""
        return {"doc_id": self.doc_id, "title": self.title, "source": self.source, "published": self.published,
                "url": self.url, "chunks": self.n_chunks}


def clean_metadata(values: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata values must be str/int/float/bool; absent values are left out."""
    return {k: v for k, v in values.items() if v is not None}


def record_metadata(doc: Document, n_chunks: int) -> dict[str, Any]:
    """What the registry stores for a document."""
    return clean_metadata({"content_hash": doc.content_hash, "title": doc.title, "source": doc.source,
                           "published": doc.published, "url": doc.url, "n_chunks": n_chunks, "path": doc.path,
                           "file_date": doc.file_date})


def record_from_metadata(doc_id: str, meta: dict[str, Any] | None) -> DocumentRecord:
    """The record as read back (the one place a DocumentRecord is built from stored metadata)."""
    meta = meta or {}
    return DocumentRecord(
        doc_id=doc_id,
        content_hash=meta.get("content_hash", ""),
        title=meta.get("title", ""),
        source=meta.get("source", ""),
        published=meta.get("published"),
        url=meta.get("url"),
        n_chunks=int(meta.get("n_chunks", 0)),
        path=meta.get("path"),
        extra={k: v for k, v in meta.items() if k.startswith("summary")},
        file_date=meta.get("file_date"),
    )


def read_hashes(call: Call, registry, doc_ids: Sequence[str]) -> dict[str, str]:
    """doc_id → registered content hash, for those of ``doc_ids`` that are registered."""
    found: dict[str, str] = {}
    for start in range(0, len(doc_ids), READ_BATCH):
        batch = list(doc_ids[start : start + READ_BATCH])
        result = call(lambda: registry.get(ids=batch, include=["metadatas"]))
        for doc_id, meta in zip(result["ids"], result["metadatas"]):
            found[doc_id] = (meta or {}).get("content_hash", "")
    return found


def read_all(call: Call, registry) -> list[DocumentRecord]:
    """Every record, sorted by doc_id."""
    records = [record_from_metadata(doc_id, meta) for doc_id, meta in iter_rows(call, registry, ["metadatas"])]
    return sorted(records, key=lambda r: r.doc_id)


def read_one(call: Call, registry, doc_id: str) -> DocumentRecord | None:
    result = call(lambda: registry.get(ids=[doc_id], include=["metadatas"]))
    return next((record_from_metadata(i, m) for i, m in zip(result["ids"], result["metadatas"])), None)


def merge_extra(call: Call, registry, doc_id: str, values: dict[str, str]) -> None:
    """Merge cached values (e.g. a summary keyed by content hash and model) into a document's record."""
    result = call(lambda: registry.get(ids=[doc_id], include=["metadatas"]))
    if not result["ids"]:
        return
    meta = dict(result["metadatas"][0] or {})
    meta.update(values)
    call(lambda: registry.update(ids=[doc_id], metadatas=[meta]))
