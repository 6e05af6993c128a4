"""How an answer reads: the direct answer first, then the sentence it comes from, quoted and attributed to its
article by publisher and date (or by the article's title in quotation marks) — never as "According to <headline>:",
which reads as if the headline's subject said it."""
from __future__ import annotations

import re

from ..records import Chunk, Citation

DECLINE_TEXT = "The articles I have do not say. Here are the closest passages I found."


def attribution(chunk: Chunk) -> str:
    """"Le Parisien, 2024-06-17" · "USA Today" · "the article “North Korea: …”, 2024-06-17"."""
    if chunk.source:
        who = chunk.source
    elif chunk.title:
        who = f"the article “{chunk.title}”"
    else:
        who = f"article {chunk.doc_id}"
    return f"{who}, {chunk.published}" if chunk.published else who


def direct_answer_text(span_text: str) -> str:
    text = " ".join(span_text.split()).strip(" ,;:")
    return text[:1].upper() + text[1:] if text else text


def answer_text(direct: str, quote: str, chunk: Chunk, n: int) -> str:
    """"Direct answer [1].\n\nFrom Le Parisien, 2024-06-17: “Sentence.” [1]" (the direct part may be empty)."""
    quoted = f"From {attribution(chunk)}: “{quote.strip()}” [{n}]"
    if not direct:
        return quoted
    return f"{direct.rstrip('.')} [{n}].\n\n{quoted}"


# What answer_text writes: an optional "Direct answer [n]." paragraph, then "From <attribution>: “<quote>” [n]".
_ANSWER_TEXT_RE = re.compile(r"(?:(?P<direct>.+?) \[\d+\]\.\n\n)?From .+?: “(?P<quote>.+)” \[\d+\]", re.DOTALL)


def read_answer_text(text: str) -> tuple[str, str]:
    """(short answer, quote) read back from a text :func:`answer_text` wrote — what a chat client sends back as the
    assistant's earlier message. The short answer is the direct answer, else the quote (as :attr:`Answer.short`);
    a decline is ("", ""), and a text written some other way is its own short answer, quoting nothing."""
    text = text.strip()
    if text == DECLINE_TEXT:
        return "", ""
    match = _ANSWER_TEXT_RE.fullmatch(text)
    if match is None:
        return text, ""
    return match["direct"] or match["quote"], match["quote"]


def citation(n: int, chunk: Chunk, quote: str) -> Citation:
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, url=chunk.url, chunk_id=chunk.chunk_id, quote=quote,
                    source=chunk.source, published=chunk.published, passage=chunk.text)
