"""Chunks as Chroma rows: the metadata written with each chunk, the Chunk read back from a row, and the reads
(by id, by document, by text condition, nearest to a vector, all of them)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..records import Chunk
from .paging import Call, iter_rows
from .registry import clean_metadata


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return clean_metadata(
        {
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "url": chunk.url,
            "source": chunk.source,
            "published": chunk.published,
            # Dates as a number too, so a date range is a plain $gte/$lte filter.
            "published_day": int(chunk.published.replace("-", "")) if _is_date(chunk.published) else None,
            "start": chunk.start,
            "end": chunk.end,
            "index": chunk.index,
            "content_hash": chunk.content_hash,
        }
    )


def _is_date(value: str | None) -> bool:
    return bool(value) and len(value) == 10 and value[4] == "-" and value.replace("-", "").isdigit()


def chunk_from_chroma(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=meta["doc_id"],
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", len(text))),
        index=int(meta.get("index", 0)),
        title=meta.get("title", ""),
        url=meta.get("url"),
        source=meta.get("source", ""),
        published=meta.get("published"),
        content_hash=meta.get("content_hash", ""),
    )


def chunks_from_result(result: dict) -> list[Chunk]:
    """The chunks of a ``get`` result that included documents and metadatas, in its order."""
    return [chunk_from_chroma(i, t, m or {}) for i, t, m in zip(result["ids"], result["documents"], result["metadatas"])]


# --- reads -------------------------------------------------------------------------------------------------------------
def iter_all(call: Call, chunks) -> Iterator[Chunk]:
    for chunk_id, text, meta in iter_rows(call, chunks, ["documents", "metadatas"]):
        yield chunk_from_chroma(chunk_id, text, meta or {})


def read_by_ids(call: Call, chunks, chunk_ids: Sequence[str]) -> list[Chunk]:
    """The chunks with these ids that exist, in the order asked."""
    if not chunk_ids:
        return []
    result = call(lambda: chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"]))
    by_id = {c.chunk_id: c for c in chunks_from_result(result)}
    return [by_id[i] for i in chunk_ids if i in by_id]


def read_document(call: Call, chunks, doc_id: str) -> list[Chunk]:
    """One document's chunks, in document order."""
    result = call(lambda: chunks.get(where={"doc_id": doc_id}, include=["documents", "metadatas"]))
    return sorted(chunks_from_result(result), key=lambda c: c.index)


def read_document_vectors(call: Call, chunks, doc_ids: Sequence[str], batch: int = 200) -> dict[str, np.ndarray]:
    """Each document's vector: the mean of its stored chunk embeddings, unit length (no text is read or embedded)."""
    sums: dict[str, np.ndarray] = {}
    ids = list(doc_ids)
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        result = call(lambda: chunks.get(where={"doc_id": {"$in": part}}, include=["embeddings", "metadatas"]))
        for vector, meta in zip(result["embeddings"], result["metadatas"]):
            doc_id = (meta or {}).get("doc_id")
            sums[doc_id] = sums.get(doc_id, 0.0) + np.asarray(vector, dtype=np.float64)
    return {doc_id: v / (np.linalg.norm(v) or 1.0) for doc_id, v in sums.items()}


def read_sample(call: Call, chunks, n: int) -> list[Chunk]:
    return chunks_from_result(call(lambda: chunks.get(include=["documents", "metadatas"], limit=n)))


def matching_ids(call: Call, chunks, where_document: dict, where: dict | None, limit: int) -> list[str]:
    return call(lambda: chunks.get(where=where or None, where_document=where_document, include=[], limit=limit))["ids"]


def nearest(call: Call, chunks, vector: np.ndarray, n: int, where: dict | None) -> list[tuple[Chunk, float]]:
    """The ``n`` chunks nearest ``vector`` (at most as many as there are) with their cosine similarity, best first."""
    count = int(call(chunks.count))
    if count == 0:
        return []
    result = call(
        lambda: chunks.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(n, count),
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
    )
    return [
        (chunk_from_chroma(i, t, m), 1.0 - float(d))
        for i, t, m, d in zip(result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0])
    ]
