"""The Chroma store, one job per module:

- ``chroma.py``: :class:`ChromaStore`, the two collections (chunks, document registry) and the write order that
  keeps an interrupted ingest recoverable;
- ``registry.py``: the document registry's records (:class:`DocumentRecord`) and their reads;
- ``chunks.py``: chunk rows (metadata written, Chunk read back) and the chunk reads;
- ``pending.py``: the writes-pending flag that says when orphans must be swept;
- ``paging.py``: reading a whole collection in pages;
- ``client.py``: opening Chroma, embedded or over HTTP with timeouts;
- ``retry.py``: retries with backoff, and one-line errors, for every call to a server.

The write lock is ``qa_bot.locks.exclusive_lock``, shared with the other cross-process locks."""
from .chroma import ChromaStore
from .client import index_bytes, make_client, setup_lock
from .registry import DocumentRecord
from .retry import with_retries

__all__ = ["ChromaStore", "DocumentRecord", "index_bytes", "make_client", "setup_lock", "with_retries"]
