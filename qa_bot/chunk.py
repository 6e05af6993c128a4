"""Sentence-aware chunking with overlap, sized in the embedder's own word-pieces so no chunk is silently truncated."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from .records import Chunk, Document
from .text import Span, split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]  # word-pieces of each text, special tokens excluded

def _split_long(text: str, span: Span, count: int, limit: int, count_tokens: TokenCounter) -> list[Span]:
    """Cut a sentence longer than ``limit`` word-pieces at word boundaries into pieces that fit."""
    words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
    pieces: list[Span] = []
    per_word = max(count / max(len(words), 1), 1.0)
    i = 0
    while i < len(words):
        take = max(1, min(len(words) - i, int(limit / per_word)))
        while True:
            piece = Span(span.start + words[i][0], span.start + words[i + take - 1][1])
            if take == 1 or count_tokens([text[piece.start : piece.end]])[0] <= limit:
                break
            take = max(1, int(take * 0.8))
        if take == 1 and count_tokens([text[piece.start : piece.end]])[0] > limit:
            # One "word" longer than the window (a URL, a run of symbols): cut it by characters.
            pieces.extend(_cut_to_fit(text, piece, limit, count_tokens))
        else:
            pieces.append(piece)
        i += take
    return pieces


def _cut_to_fit(text: str, span: Span, limit: int, count_tokens: TokenCounter) -> list[Span]:
    """Cut a span with no whitespace into pieces of at most ``limit`` word-pieces each. Word-pieces per character
    vary wildly inside one "word" (a run of colons, CJK, digits), so each cut is found by bisection, not by ratio."""
    pieces = []
    start = span.start
    while start < span.end:
        fits, over = start + 1, span.end + 1  # one character always fits; find the longest prefix that does
        while over - fits > 1:
            middle = (fits + over) // 2
            if count_tokens([text[start:middle]])[0] <= limit:
                fits = middle
            else:
                over = middle
        pieces.append(Span(start, fits))
        start = fits
    return pieces


def _fit_groups(groups: list[list[int]], units: list[tuple[Span, int]], text: str, count_tokens: TokenCounter,
                max_tokens: int) -> list[list[int]]:
    """Packing adds up the units' counts (plus one per join), but joined text can tokenize longer — pieces cut inside
    one word join back into it. Count each chunk for real and halve any group that is over the window."""
    sizes = count_tokens([text[units[g[0]][0].start : units[g[-1]][0].end] for g in groups])
    fitted: list[list[int]] = []
    for group, size in zip(groups, sizes):
        if size <= max_tokens or len(group) == 1:
            fitted.append(group)
        else:
            half = len(group) // 2
            fitted.extend(_fit_groups([group[:half], group[half:]], units, text, count_tokens, max_tokens))
    return fitted


def chunk_document(
    doc: Document,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most ``max_tokens`` word-pieces; each chunk after the first repeats
    up to ``overlap_tokens`` of the previous chunk's last sentences so a fact split across a boundary is kept whole."""
    text = doc.text
    spans = split_sentences(text)
    if not spans:
        return []
    counts = count_tokens([text[s.start : s.end] for s in spans])
    units: list[tuple[Span, int]] = []
    for span, count in zip(spans, counts):
        if count > max_tokens:
            pieces = _split_long(text, span, count, max_tokens, count_tokens)
            units.extend(zip(pieces, count_tokens([text[p.start : p.end] for p in pieces])))
        else:
            units.append((span, count))

    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, (_, count) in enumerate(units):
        # +1 per joined sentence: the separator between sentences can add a word-piece.
        if current and size + count + 1 > max_tokens:
            groups.append(current)
            overlap: list[int] = []
            kept = 0
            for j in reversed(current):
                if kept + units[j][1] + 1 > overlap_tokens or len(overlap) + 1 >= len(current):
                    break
                overlap.insert(0, j)
                kept += units[j][1] + 1
            current, size = overlap, kept
        current.append(i)
        size += count + 1
    if current:
        groups.append(current)
    groups = _fit_groups(groups, units, text, count_tokens, max_tokens)

    chunks = []
    for index, group in enumerate(groups):
        start, end = units[group[0]][0].start, units[group[-1]][0].end
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{doc.content_hash[:10]}-{index}",
                doc_id=doc.doc_id,
                text=text[start:end],
                start=start,
                end=end,
                index=index,
                title=doc.title,
                url=doc.url,
                source=doc.source,
                published=doc.published,
                content_hash=doc.content_hash,
            )
        )
    return chunks
