"""The Chroma store: chunks with their vectors, plus a small registry of documents that makes ingest idempotent and
crash-safe. Works the same against the embedded PersistentClient and a Chroma server (HttpClient).

Write order, per batch of documents: their old chunks are deleted, their new chunks added, and only then their
registry records (with the content hash) written. A crash in between leaves chunks without a matching registry
record, which the next ingest finds as orphans and replaces, so a rerun always converges to the same index.

Finding orphans means reading every chunk's metadata (14 s at 13.7k chunks), so it is done only when needed: a
"writes pending" flag in the registry collection's metadata (the same database, embedded or on a server) is set
before a write session's first write and cleared once its last registry record is written. A session that did not
finish leaves it set, and the next ingest sweeps. An index from before the flag has none and is swept once."""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import (
    EmbedderMismatchError,
    IndexBusyError,
    IndexNotFoundError,
    ServerError,
)
from .locks import exclusive_lock
from .records import Chunk, Document

T = TypeVar("T")
WRITE_BATCH = 256
READ_BATCH = 2000
PENDING_KEY = "writes_pending"  # in the registry collection's metadata; see the module docstring


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


def _clean_metadata(values: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata values must be str/int/float/bool; absent values are left out."""
    return {k: v for k, v in values.items() if v is not None}


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return _clean_metadata(
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


def make_client(settings):
    """An embedded PersistentClient under ``index_dir``, or an HttpClient when ``chroma_url`` is set."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        return _http_client(settings, chroma_settings)
    with setup_lock(Path(settings.index_dir)):
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


def setup_lock(folder: Path):
    """Serialise creating an embedded index and its collections across processes: two processes opening a new
    index at once otherwise both run Chroma's schema migrations ("table collections already exists"). Held for
    milliseconds, so waiting is right here."""
    return exclusive_lock(folder / ".setup.lock")


def _http_client(settings, chroma_settings):
    """A Chroma HttpClient whose requests time out.

    chromadb builds its httpx session with ``timeout=None`` and sends a first request while the client is being
    constructed (chroma-core/chroma#5805 and its follow-ups: no client-side timeout setting exists), so a server that
    accepts connections but never answers would hang qa-bot forever. The heartbeat below is checked first, with the
    configured timeout and retries, and the session's timeout is set afterwards."""
    from urllib.parse import urlparse

    import chromadb
    import httpx

    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ServerError(f"QA_BOT_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
    port = url.port or (443 if url.scheme == "https" else 8000)
    base = f"{url.scheme}://{url.hostname}:{port}"
    headers = {}
    if settings.chroma_token:
        token = settings.chroma_token.get_secret_value()
        header = settings.chroma_token_header
        headers[header] = f"Bearer {token}" if header.lower() == "authorization" else token
    timeout = httpx.Timeout(settings.server_timeout_s, connect=min(settings.server_timeout_s, 10.0))
    where = f"the Chroma server at {settings.chroma_url}"

    def heartbeat() -> None:
        httpx.get(f"{base}/api/v2/heartbeat", headers=headers, timeout=timeout).raise_for_status()

    with_retries(heartbeat, settings.server_retries, where, remote=True)

    def connect():
        client = chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", headers=headers,
                                     settings=chroma_settings)
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = timeout
        return client

    return with_retries(connect, settings.server_retries, where, remote=True)


def with_retries(fn: Callable[[], T], retries: int, where: str, *, remote: bool) -> T:
    """Run one call; transient server failures (connection lost, timeout, HTTP 5xx/429) are retried with exponential
    backoff (0.5 s, 1 s, 2 s, ...), then reported as a ServerError that says what to do. Every store write is an
    idempotent upsert or delete, so repeating one that may have reached the server is safe."""
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as err:
            if remote and _is_transient(err) and attempt < retries:
                time.sleep(delay)
                delay *= 2
                continue
            tries = f"{retries + 1} {'try' if retries == 0 else 'tries'}"
            translated = _server_error(err, where, tries) if remote else None
            if translated is None:
                raise
            raise translated from err
    raise AssertionError("unreachable")


def _is_transient(err: Exception) -> bool:
    import httpx
    from chromadb.errors import InternalError, RateLimitError

    if isinstance(err, (httpx.TransportError, InternalError, RateLimitError)):
        return True  # connection refused/reset, timeouts, and the server's own 500 and 429
    return isinstance(err, httpx.HTTPStatusError) and (err.response.status_code >= 500 or err.response.status_code == 429)


def _server_error(err: Exception, where: str, tries: str) -> ServerError | None:
    """A one-line ServerError for a failure of the server itself; None for errors the caller handles (not found,
    invalid arguments), which the embedded store raises the same way."""
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError

    rerun = "then rerun the command (an ingest skips the documents it already finished)"
    if isinstance(err, httpx.TimeoutException):
        return ServerError(f"{where} did not answer within the timeout, {tries}; check its load, raise "
                           f"QA_BOT_SERVER_TIMEOUT_S if it is just slow, {rerun}")
    if isinstance(err, httpx.TransportError):
        return ServerError(f"cannot reach {where} ({type(err).__name__}, {tries}); start it "
                           f"(chroma run --path DIR --port PORT) or unset QA_BOT_CHROMA_URL, {rerun}")
    if isinstance(err, (ChromaAuthError, AuthorizationError)) or (
        isinstance(err, httpx.HTTPStatusError) and err.response.status_code in (401, 403)
    ):
        return ServerError(f"{where} refused the credentials; set QA_BOT_CHROMA_TOKEN (and QA_BOT_CHROMA_TOKEN_HEADER "
                           "if the server reads another header than Authorization)")
    if _is_transient(err):
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        return ServerError(f"{where} answered with an error, {tries} ({type(err).__name__}: {detail}); "
                           f"see the server's log, {rerun}")
    if isinstance(err, httpx.HTTPStatusError):
        return ServerError(f"{where} answered HTTP {err.response.status_code} for {err.request.url.path}; "
                           "is QA_BOT_CHROMA_URL the address of a Chroma server?")
    return None


class ChromaStore:
    def __init__(
        self,
        client,
        collection: str,
        embedder_name: str,
        *,
        create: bool = True,
        retries: int = 3,
        where: str = "",
        lock_dir: Path | None = None,
    ):
        self.client = client
        self.name = collection
        self.embedder_name = embedder_name
        self.retries = retries
        self.where = where  # shown in messages: the index dir or server URL
        self.lock_dir = lock_dir
        self.remote = client.get_settings().chroma_api_impl == "chromadb.api.fastapi.FastAPI"
        self._pending_set = False  # this process set the writes-pending flag and has not cleared it yet
        self._chunks = self._open(collection, create, space="cosine")
        self._docs = self._open(f"{collection}-docs", create, space="l2")
        built_by = (self._chunks.metadata or {}).get("embedder")
        if built_by and built_by != embedder_name:
            raise EmbedderMismatchError(
                f"the index {collection!r} at {where} was built with the embedder {built_by!r}, not {embedder_name!r}; "
                f"set QA_BOT_EMBEDDER={built_by} or ingest into another collection (--collection NAME)"
            )

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        """Run one Chroma call; against a server, with retries, backoff and one-line errors (see with_retries)."""
        return with_retries(fn, self.retries, f"the Chroma server at {self.where}", remote=self.remote)

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
                f"no index named {self.name!r} at {self.where}; build one first with: qa-bot ingest PATH"
            ) from err

    # -- documents -----------------------------------------------------------------------------------------------
    def document_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(doc_ids), READ_BATCH):
            batch = list(doc_ids[start : start + READ_BATCH])
            result = self._call(lambda: self._docs.get(ids=batch, include=["metadatas"]))
            for doc_id, meta in zip(result["ids"], result["metadatas"]):
                found[doc_id] = (meta or {}).get("content_hash", "")
        return found

    def replace_documents(self, items: Sequence[tuple[Document, Sequence[Chunk], np.ndarray]]) -> None:
        """Make the index hold exactly these chunks for each of these documents (old ones, if any, removed).

        A batch of documents costs a few calls, not three per document (against a server every call is a round
        trip): one delete for all old chunks, the new chunks in WRITE_BATCH upserts, then all registry records in
        one upsert, written last, so a failure anywhere leaves unregistered chunks that the next ingest replaces."""
        if not items:
            return
        doc_ids = [doc.doc_id for doc, _, _ in items]
        self._set_pending()
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
        records = [
            _clean_metadata(
                {
                    "content_hash": doc.content_hash,
                    "title": doc.title,
                    "source": doc.source,
                    "published": doc.published,
                    "url": doc.url,
                    "n_chunks": len(doc_chunks),
                    "path": doc.path,
                }
            )
            for doc, doc_chunks, _ in items
        ]
        self._call(lambda: self._docs.upsert(ids=doc_ids, embeddings=[[1.0]] * len(doc_ids), metadatas=records,
                                             documents=[""] * len(doc_ids)))

    def delete_document(self, doc_id: str) -> bool:
        existed = bool(self._call(lambda: self._docs.get(ids=[doc_id]))["ids"])
        # Registry first: a crash after this leaves orphan chunks, which the next ingest sweeps (the flag says so).
        # A flag already set (an interrupted ingest's orphans, or an ingest running now) is left for that ingest.
        own_session = not self.writes_pending()
        if own_session:
            self._set_pending()
        self._call(lambda: self._docs.delete(ids=[doc_id]))
        chunk_ids = self._call(lambda: self._chunks.get(where={"doc_id": doc_id}, include=[]))["ids"]
        self._call(lambda: self._chunks.delete(where={"doc_id": doc_id}))
        if own_session:
            self.finish_writes()
        return existed or bool(chunk_ids)

    # -- the writes-pending flag ---------------------------------------------------------------------------------
    def _registry_metadata(self) -> dict[str, Any]:
        """The registry collection's metadata as stored now (another process may have changed it since opening)."""
        fresh = self._call(lambda: self.client.get_collection(self._docs.name, embedding_function=None))
        return dict(fresh.metadata or {})

    def _write_registry_metadata(self, pending: bool) -> None:
        meta = self._registry_metadata()
        meta[PENDING_KEY] = pending
        self._call(lambda: self._docs.modify(metadata=meta))  # modify replaces the whole metadata

    def writes_pending(self) -> bool:
        """True when a write session began and did not finish (or the index predates the flag)."""
        return bool(self._registry_metadata().get(PENDING_KEY, True))

    def _set_pending(self) -> None:
        """Before the first write of a session: from here until finish_writes, an interruption leaves the flag set."""
        if not self._pending_set:
            self._write_registry_metadata(True)
            self._pending_set = True

    def begin_writes(self) -> int:
        """Start a write session (an ingest), under the write lock: sweep orphans only if the last session did not
        finish. Returns the number of orphan chunks removed."""
        self._pending_set = self.writes_pending()  # the stored flag counts, not what this object did before
        # While it stays set (until finish_writes), a rerun sweeps again.
        return self.sweep_orphans() if self._pending_set else 0

    def finish_writes(self) -> None:
        """After a session's last write (its registry records written): the index is consistent again. A session
        that wrote nothing (an unchanged corpus) writes nothing here either."""
        if self._pending_set:
            self._write_registry_metadata(False)
            self._pending_set = False

    def sweep_orphans(self) -> int:
        """Delete chunks whose document has no registry record, or whose hash is not the registered one."""
        registered = {r.doc_id: r.content_hash for r in self.documents()}
        stale: set[str] = set()
        for chunk_id, meta in self._iter(self._chunks, include=["metadatas"]):
            doc_id = meta.get("doc_id")
            if registered.get(doc_id) != meta.get("content_hash"):
                stale.add(chunk_id)
        ids = sorted(stale)
        for start in range(0, len(ids), WRITE_BATCH):
            batch = ids[start : start + WRITE_BATCH]
            self._call(lambda: self._chunks.delete(ids=batch))
        return len(ids)

    def documents(self) -> list[DocumentRecord]:
        records = []
        for doc_id, meta in self._iter(self._docs, include=["metadatas"]):
            records.append(
                DocumentRecord(
                    doc_id=doc_id,
                    content_hash=meta.get("content_hash", ""),
                    title=meta.get("title", ""),
                    source=meta.get("source", ""),
                    published=meta.get("published"),
                    url=meta.get("url"),
                    n_chunks=int(meta.get("n_chunks", 0)),
                    path=meta.get("path"),
                    extra={k: v for k, v in meta.items() if k.startswith("summary")},
                )
            )
        return sorted(records, key=lambda r: r.doc_id)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return next((r for r in self._documents_by_ids([doc_id])), None)

    def _documents_by_ids(self, ids: list[str]) -> Iterator[DocumentRecord]:
        result = self._call(lambda: self._docs.get(ids=ids, include=["metadatas"]))
        for doc_id, meta in zip(result["ids"], result["metadatas"]):
            meta = meta or {}
            yield DocumentRecord(
                doc_id=doc_id,
                content_hash=meta.get("content_hash", ""),
                title=meta.get("title", ""),
                source=meta.get("source", ""),
                published=meta.get("published"),
                url=meta.get("url"),
                n_chunks=int(meta.get("n_chunks", 0)),
                path=meta.get("path"),
                extra={k: v for k, v in meta.items() if k.startswith("summary")},
            )

    def set_document_extra(self, doc_id: str, values: dict[str, str]) -> None:
        """Merge cached values (e.g. a summary keyed by content hash and model) into a document's record."""
        result = self._call(lambda: self._docs.get(ids=[doc_id], include=["metadatas"]))
        if not result["ids"]:
            return
        meta = dict(result["metadatas"][0] or {})
        meta.update(values)
        self._call(lambda: self._docs.update(ids=[doc_id], metadatas=[meta]))

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        result = self._call(lambda: self._chunks.get(where={"doc_id": doc_id}, include=["documents", "metadatas"]))
        chunks = [chunk_from_chroma(i, t, m) for i, t, m in zip(result["ids"], result["documents"], result["metadatas"])]
        return sorted(chunks, key=lambda c: c.index)

    # -- chunks --------------------------------------------------------------------------------------------------
    def _iter(self, collection, include: list[str]) -> Iterator[tuple]:
        offset = 0
        while True:
            result = self._call(lambda: collection.get(include=include, limit=READ_BATCH, offset=offset))
            if not result["ids"]:
                return
            columns = [result["ids"]] + [result[name] for name in include]
            yield from (tuple(row) if len(row) > 2 else (row[0], row[1] or {}) for row in zip(*columns))
            offset += len(result["ids"])

    def iter_chunks(self) -> Iterator[Chunk]:
        for chunk_id, text, meta in self._iter(self._chunks, include=["documents", "metadatas"]):
            yield chunk_from_chroma(chunk_id, text, meta or {})

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        result = self._call(lambda: self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"]))
        by_id = {i: chunk_from_chroma(i, t, m) for i, t, m in zip(result["ids"], result["documents"], result["metadatas"])}
        return [by_id[i] for i in chunk_ids if i in by_id]

    def matching_ids(self, where_document: dict, where: dict | None = None, limit: int = 1000) -> list[str]:
        """Ids of chunks whose text matches a full-text condition (``$contains`` and friends), at most ``limit``."""
        return self._call(
            lambda: self._chunks.get(where=where or None, where_document=where_document, include=[], limit=limit)
        )["ids"]

    def sample_chunks(self, n: int) -> list[Chunk]:
        """Some chunks (the first ``n`` the store returns), e.g. to estimate the average chunk length."""
        result = self._call(lambda: self._chunks.get(include=["documents", "metadatas"], limit=n))
        return [chunk_from_chroma(i, t, m or {}) for i, t, m in zip(result["ids"], result["documents"], result["metadatas"])]

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks with their cosine similarity, best first."""
        count = self.count_chunks()
        if count == 0:
            return []
        result = self._call(
            lambda: self._chunks.query(
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

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time per embedded index; a second ingest fails fast with a clear message."""
        if self.lock_dir is None:
            yield
            return
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        path = self.lock_dir / f".{self.name}.lock"
        with open(path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as err:
                raise IndexBusyError(
                    f"another qa-bot process is writing to the index at {self.where}; wait for it to finish and retry"
                ) from err
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def index_bytes(index_dir: Path) -> int:
    if not index_dir.exists():
        return 0
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
