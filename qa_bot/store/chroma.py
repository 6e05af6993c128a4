"""The Chroma store: chunks with their vectors, plus a registry of documents that makes ingest idempotent and
crash-safe. Works the same against the embedded PersistentClient and a Chroma server (HttpClient).

Write order, per batch of documents: their old chunks are deleted, their new chunks added, and only then their
registry records (with the content hash) written. A crash in between leaves chunks without a matching registry
record, which the next ingest finds as orphans and replaces, so a rerun always converges to the same index. Finding
orphans is costly, so it happens only when a write session did not finish (:mod:`.pending`).

:class:`ChromaStore` owns the two collections and routes every Chroma call through :meth:`ChromaStore._call` (retries
against a server, :mod:`.retry`); what it stores and reads is in :mod:`.registry` and :mod:`.chunks`."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..errors import EmbedderMismatchError, IndexBusyError, IndexNotFoundError, ServerError
from ..locks import exclusive_lock
from ..records import Chunk, Document
from . import chunks as chunk_rows
from . import registry
from .chunks import chunk_metadata
from .client import setup_lock
from .paging import iter_rows
from .pending import PendingWrites
from .registry import DocumentRecord
from .retry import with_retries

T = TypeVar("T")
WRITE_BATCH = 256


class ChromaStore:
    """One collection of chunks (``collection``) and its registry (``collection-docs``). ``location`` (the index
    folder or the server URL) is only shown in messages; ``lock_dir`` is where an embedded index keeps its locks."""

    def __init__(
        self,
        client,
        collection: str,
        embedder_name: str,
        *,
        create: bool = True,
        retries: int = 3,
        location: str = "",
        lock_dir: Path | None = None,
    ):
        self.client = client
        self.name = collection
        self.embedder_name = embedder_name
        self.retries = retries
        self.location = location
        self.lock_dir = lock_dir
        self.remote = client.get_settings().chroma_api_impl == "chromadb.api.fastapi.FastAPI"
        self._chunks = self._open(collection, create, space="cosine")
        self._docs = self._open(f"{collection}-docs", create, space="l2")
        self._pending = PendingWrites(self._registry_metadata,
                                      lambda meta: self._call(lambda: self._docs.modify(metadata=meta)))
        built_by = (self._chunks.metadata or {}).get("embedder")
        if built_by and built_by != embedder_name:
            raise EmbedderMismatchError(
                f"the index {collection!r} at {location} was built with the embedder {built_by!r}, not "
                f"{embedder_name!r}; set QA_BOT_EMBEDDER={built_by} or ingest into another collection "
                "(--collection NAME)"
            )

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        """Run one Chroma call; against a server, with retries, backoff and one-line errors (see with_retries)."""
        return with_retries(fn, self.retries, f"the Chroma server at {self.location}", remote=self.remote)

    def _open(self, name: str, create: bool, space: str):
        if create:
            with setup_lock(self.lock_dir) if self.lock_dir is not None else nullcontext():
                return self._call(
                    lambda: self.client.get_or_create_collection(
                        name,
                        embedding_function=None,
                        metadata={"embedder": self.embedder_name} if space == "cosine" else {"kind": "registry"},
                        configuration={"hnsw": {"space": space}},
                    )
                )
        try:
            return self._call(lambda: self.client.get_collection(name, embedding_function=None))
        except ServerError:
            raise
        except Exception as err:
            raise IndexNotFoundError(
                f"no index named {self.name!r} at {self.location}; build one first with: qa-bot ingest PATH"
            ) from err

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time per embedded index; a second ingest fails fast with a clear message."""
        if self.lock_dir is None:
            yield
            return
        busy = IndexBusyError(
            f"another qa-bot process is writing to the index at {self.location}; wait for it to finish and retry")
        with exclusive_lock(self.lock_dir / f".{self.name}.lock", busy=busy):
            yield

    # -- writes --------------------------------------------------------------------------------------------------
    def replace_documents(self, items: Sequence[tuple[Document, Sequence[Chunk], np.ndarray]]) -> None:
        """Make the index hold exactly these chunks for each of these documents (old ones, if any, removed).

        A batch of documents costs a few calls, not three per document (against a server every call is a round
        trip): one delete for all old chunks, the new chunks in WRITE_BATCH upserts, then all registry records in
        one upsert, written last, so a failure anywhere leaves unregistered chunks that the next ingest replaces."""
        if not items:
            return
        doc_ids = [doc.doc_id for doc, _, _ in items]
        self._pending.mark()
        self._call(lambda: self._chunks.delete(where={"doc_id": {"$in": doc_ids}}))
        chunks = [chunk for _, doc_chunks, _ in items for chunk in doc_chunks]
        vectors = np.concatenate([np.asarray(v, dtype=np.float32) for _, doc_chunks, v in items if len(doc_chunks)]) \
            if chunks else np.zeros((0, 1), dtype=np.float32)
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            embeddings = vectors[start : start + WRITE_BATCH]
            self._call(
                lambda: self._chunks.upsert(
                    ids=[c.chunk_id for c in batch],
                    embeddings=embeddings,
                    documents=[c.text for c in batch],
                    metadatas=[chunk_metadata(c) for c in batch],
                )
            )
        records = [registry.record_metadata(doc, len(doc_chunks)) for doc, doc_chunks, _ in items]
        self._call(lambda: self._docs.upsert(ids=doc_ids, embeddings=[[1.0]] * len(doc_ids), metadatas=records,
                                             documents=[""] * len(doc_ids)))

    def delete_document(self, doc_id: str) -> bool:
        existed = bool(self._call(lambda: self._docs.get(ids=[doc_id]))["ids"])
        # Registry first: a crash after this leaves orphan chunks, which the next ingest sweeps (the flag says so).
        # A flag already set (an interrupted ingest's orphans, or an ingest running now) is left for that ingest.
        own_session = not self.writes_pending()
        if own_session:
            self._pending.mark()
        self._call(lambda: self._docs.delete(ids=[doc_id]))
        chunk_ids = self._call(lambda: self._chunks.get(where={"doc_id": doc_id}, include=[]))["ids"]
        self._call(lambda: self._chunks.delete(where={"doc_id": doc_id}))
        if own_session:
            self.finish_writes()
        return existed or bool(chunk_ids)

    def set_document_extra(self, doc_id: str, values: dict[str, str]) -> None:
        """Merge cached values (e.g. a summary keyed by content hash and model) into a document's record."""
        registry.merge_extra(self._call, self._docs, doc_id, values)

    # -- write sessions (the writes-pending flag, see pending.py) ------------------------------------------------
    def _registry_metadata(self) -> dict[str, Any]:
        """The registry collection's metadata as stored now (another process may have changed it since opening)."""
        fresh = self._call(lambda: self.client.get_collection(self._docs.name, embedding_function=None))
        return dict(fresh.metadata or {})

    def writes_pending(self) -> bool:
        """True when a write session began and did not finish (or the index predates the flag)."""
        return self._pending.is_set()

    def begin_writes(self) -> int:
        """Start a write session (an ingest), under the write lock: sweep orphans only if the last session did not
        finish. Returns the number of orphan chunks removed."""
        return self._pending.begin(lambda: self.sweep_orphans())

    def finish_writes(self) -> None:
        """After a session's last write (its registry records written): the index is consistent again."""
        self._pending.finish()

    def sweep_orphans(self) -> int:
        """Delete chunks whose document has no registry record, or whose hash is not the registered one."""
        registered = {r.doc_id: r.content_hash for r in self.documents()}
        stale: set[str] = set()
        for chunk_id, meta in iter_rows(self._call, self._chunks, ["metadatas"]):
            if registered.get(meta.get("doc_id")) != meta.get("content_hash"):
                stale.add(chunk_id)
        ids = sorted(stale)
        for start in range(0, len(ids), WRITE_BATCH):
            batch = ids[start : start + WRITE_BATCH]
            self._call(lambda: self._chunks.delete(ids=batch))
        return len(ids)

    # -- documents -----------------------------------------------------------------------------------------------
    def document_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return registry.read_hashes(self._call, self._docs, doc_ids)

    def documents(self) -> list[DocumentRecord]:
        return registry.read_all(self._call, self._docs)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return registry.read_one(self._call, self._docs, doc_id)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return chunk_rows.read_document(self._call, self._chunks, doc_id)

    def document_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """doc_id → the mean of its chunks' stored vectors (unit length), for those of ``doc_ids`` with chunks."""
        return chunk_rows.read_document_vectors(self._call, self._chunks, doc_ids)

    # -- chunks --------------------------------------------------------------------------------------------------
    def iter_chunks(self) -> Iterator[Chunk]:
        return chunk_rows.iter_all(self._call, self._chunks)

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        return chunk_rows.read_by_ids(self._call, self._chunks, chunk_ids)

    def matching_ids(self, where_document: dict, where: dict | None = None, limit: int = 1000) -> list[str]:
        """Ids of chunks whose text matches a full-text condition (``$contains`` and friends), at most ``limit``."""
        return chunk_rows.matching_ids(self._call, self._chunks, where_document, where, limit)

    def sample_chunks(self, n: int) -> list[Chunk]:
        """Some chunks (the first ``n`` the store returns), e.g. to estimate the average chunk length."""
        return chunk_rows.read_sample(self._call, self._chunks, n)

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, best first; ``where`` is a Chroma metadata filter."""
        return chunk_rows.nearest(self._call, self._chunks, vector, n, where)

    def count_chunks(self) -> int:
        return int(self._call(self._chunks.count))

    def count_documents(self) -> int:
        return int(self._call(self._docs.count))

    def fingerprint(self) -> str:
        """Changes whenever the set of chunks changes (registry hashes are written last, after the chunks)."""
        import hashlib

        h = hashlib.sha256()
        for record in self.documents():
            h.update(f"{record.doc_id}\x1f{record.content_hash}\x1e".encode())
        h.update(str(self.count_chunks()).encode())
        return h.hexdigest()[:16]
