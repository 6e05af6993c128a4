"""The writes-pending protocol: finding orphan chunks means reading every chunk's metadata (14 s at 13.7k chunks),
so it is done only when a write session may have been interrupted.

A "writes pending" flag in the registry collection's metadata (the same database, embedded or on a server) is set
before a session's first write and cleared once its last registry record is written. A session that did not finish
leaves it set, and the next ingest sweeps. An index from before the flag has none and is swept once."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

PENDING_KEY = "writes_pending"


class PendingWrites:
    """The flag, read and written through two callables (the registry collection's current metadata, and a
    replacement of it), and whether this process set it and has not cleared it yet."""

    def __init__(self, read_metadata: Callable[[], dict[str, Any]], write_metadata: Callable[[dict[str, Any]], None]):
        self._read = read_metadata
        self._write = write_metadata
        self._set_here = False  # this process set the flag and has not cleared it yet

    def is_set(self) -> bool:
        """True when a write session began and did not finish (or the index predates the flag)."""
        return bool(self._read().get(PENDING_KEY, True))

    def mark(self) -> None:
        """Before the first write of a session: from here until :meth:`finish`, an interruption leaves it set."""
        if not self._set_here:
            self._store(True)
            self._set_here = True

    def begin(self, sweep: Callable[[], int]) -> int:
        """Start a write session: ``sweep`` (remove orphans) only if the last session did not finish. Returns what
        ``sweep`` returned, or 0."""
        self._set_here = self.is_set()  # the stored flag counts, not what this object did before
        # While it stays set (until finish), a rerun sweeps again.
        return sweep() if self._set_here else 0

    def finish(self) -> None:
        """After a session's last write: the index is consistent again. A session that wrote nothing (an unchanged
        corpus) writes nothing here either."""
        if self._set_here:
            self._store(False)
            self._set_here = False

    def _store(self, pending: bool) -> None:
        meta = self._read()  # another process may have changed it since this one opened the collection
        meta[PENDING_KEY] = pending
        self._write(meta)  # the whole metadata is replaced
