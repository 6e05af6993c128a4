"""The embedders give freed heap back to the OS after each batch (see qa_bot.embedders.memory.return_freed_memory)."""
import sys

import psutil
import pytest

from qa_bot.embedders.memory import _LIBC, return_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or _LIBC is None, reason="malloc_trim is glibc's")
def test_freed_heap_between_live_blocks_goes_back_to_the_os():
    process = psutil.Process()
    # 100 KB blocks stay below glibc's mmap threshold, so they come from the heap; keeping every tenth alive stops
    # the heap from shrinking from its top by itself, as with the model's activations of ever-new sizes.
    blocks = [bytearray(100_000) for _ in range(2000)]
    kept = blocks[::10]
    for n, block in enumerate(kept):  # each live block gets its own contents, to be checked after the trim
        block[:] = bytes([n % 251]) * len(block)
    del blocks
    before = process.memory_info().rss
    return_freed_memory()
    after = process.memory_info().rss
    assert before - after > 100 * 2**20, (before, after)
    # Only freed memory went back: every live block between the freed ones is intact.
    assert all(block == bytes([n % 251]) * 100_000 for n, block in enumerate(kept))
