"""Reading a whole collection in pages: Chroma's ``get`` without a limit would load everything at once."""
from __future__ import annotations

from collections.abc import Callable, Iterator

READ_BATCH = 2000

Call = Callable[[Callable], object]  # runs one Chroma call (with retries against a server)


def iter_rows(call: Call, collection, include: list[str]) -> Iterator[tuple]:
    """``(id, *included columns)`` for every row, ``READ_BATCH`` at a time (a missing metadata dict becomes ``{}``)."""
    offset = 0
    while True:
        result = call(lambda: collection.get(include=include, limit=READ_BATCH, offset=offset))
        if not result["ids"]:
            return
        columns = [result["ids"]] + [result[name] for name in include]
        yield from (tuple(row) if len(row) > 2 else (row[0], row[1] or {}) for row in zip(*columns))
        offset += len(result["ids"])
