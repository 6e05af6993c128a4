"""Cross-process file locks (advisory, fcntl) for work that two qa-bot processes must not do at once: the one
implementation behind the index's setup lock, its write lock and the ONNX export lock."""
from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_lock(path: Path, busy: Exception | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing). Without ``busy``, wait while another process holds
    it; with ``busy``, do not wait: raise ``busy`` at once instead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if busy is not None else 0))
        except BlockingIOError as err:
            raise busy from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
