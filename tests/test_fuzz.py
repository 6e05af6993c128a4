"""Property-based tests (hypothesis) of the loader and the chunker on any text: unicode of every category, control
and zero-width characters, huge lines without a space, runs of punctuation, CJK and emoji.

Properties: loading never raises; the cleaned text has no control characters; every chunk's offsets map back to
the cleaned text exactly; together the chunks cover every visible character; and no chunk is longer than the
chunk budget (in the real MiniLM tokenizer's word-pieces), which sits inside the embedder's window.

In CI the examples are derandomised (the same ones every run, so a red build is reproducible); locally each run
draws new ones."""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa_bot.chunk import chunk_document
from qa_bot.load import LoadIssue, load_file
from qa_bot.records import Document
from qa_bot.settings import Settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

DEFAULTS = Settings(_env_file=None)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff\r\t]")

any_char = st.characters(exclude_categories=["Cs"])  # every code point UTF-8 can hold (no lone surrogates)
pieces = st.one_of(
    st.text(any_char, max_size=80),
    st.sampled_from([" ", "\n", "\n\n", "\r\n", "\t", "\x00", "\x0b", "\u200b", "\ufeff", "\xa0", ". ", "! ", "? ",
                     "...", "…", "Mr. ", "U.S. ", "J. R. ", '"', "“", "”", "(", ")", "[", "]", "https://", "#"]),
    st.from_regex(r"[A-Z][a-z]{1,12}( [a-z]{1,10}){0,25}[.!?]", fullmatch=True),  # plain sentences
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=300, max_size=4000),  # one huge word
    st.text(st.sampled_from("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"), min_size=50, max_size=1500),
    st.text(st.sampled_from("😀🌋🏃‍♀️👍🏽🇬🇧"), min_size=20, max_size=600),
    st.text(st.sampled_from("e\u0301\u0308\u20dda"), min_size=10, max_size=400),  # combining marks
    st.text(st.sampled_from("-=*_#|/\\~^.,;:!?"), min_size=50, max_size=2000),  # a line of symbols
)
article_text = st.lists(pieces, max_size=40).map("".join)


@pytest.fixture(scope="module")
def window(real_embedder):
    """The real tokenizer and the budget ingest uses: min(chunk_tokens, what the embedder reads)."""
    return real_embedder.count_tokens, min(DEFAULTS.chunk_tokens, real_embedder.max_tokens), real_embedder.max_tokens


def load_text(text: str, suffix: str = ".txt") -> list[Document | LoadIssue]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(text.encode("utf-8"))
        return list(load_file(path))


# 60 drawn examples (was 150: each costs the real tokenizer's time) plus explicit ones. Drawn at random, a long CJK
# run or a huge word turns up in ~8 % of examples and a line of symbols in fewer, so each hard kind of piece is also
# given below, once, every run: the random examples are for their mixtures.
@pytest.mark.real_models
@pytest.mark.slow
@settings(max_examples=60)
@given(text=article_text)
# Found by this test: one "word" whose word-pieces per character vary (colons, CJK, digits) was cut by ratio into a
# 225-piece chunk; cuts are now bisected against the tokenizer.
@example(text=":" * 50 + "0一" * 25 + "一" * 100 + "0" * 300)
@example(text="Huge word follows. " + "abc123xyz" * 450)  # 4,000 characters without a space
@example(text="的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年" * 50)  # 1,500 characters of CJK
@example(text="Crowds cheered. " + "😀🌋🏃‍♀️👍🏽🇬🇧" * 100)  # emoji, ZWJ sequences, skin tones, flags
@example(text="-=*_#|/\\~^.,;:!?" * 120)  # a line of symbols, sentence stops among them
@example(text="Cafe\u0301 news. " + "e\u0301\u0308\u20dda" * 100)  # combining marks
@example(text="A\u200b\u0300")  # found by this test: a zero-width space between a letter and its accent
@example(text="Mr. Smith went\u200b to U.S. talks.\r\n\x0bJ. R. Smith\ufeff left!\t" * 40)  # control, zero-width
@example(text="The council met on Monday. " * 40 + "的一是不了" * 80 + " " + "z" * 900 + " 😀" * 50)  # all at once
def test_any_text_loads_into_chunks_that_map_back_and_fit_the_window(window, text):
    count_tokens, budget, embedder_window = window
    items = load_text(text)
    docs = [i for i in items if isinstance(i, Document)]
    if not docs:
        (issue,) = items  # nothing left after cleaning, or NUL bytes / a file signature at the start
        assert issue.level == "error" and re.search(r"empty|binary|not text", issue.message), issue.message
        return
    (doc,) = docs
    assert not CONTROL.search(doc.text) and doc.text == unicodedata.normalize("NFC", doc.text)

    chunks = chunk_document(doc, count_tokens, budget, DEFAULTS.chunk_overlap_tokens)
    assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    covered = [False] * len(doc.text)
    for c in chunks:
        assert 0 <= c.start < c.end <= len(doc.text)
        assert doc.text[c.start : c.end] == c.text
        covered[c.start : c.end] = [True] * (c.end - c.start)
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(doc.text)), "a visible character is in no chunk"
    sizes = count_tokens([c.text for c in chunks])
    assert max(sizes) <= budget <= embedder_window, (max(sizes), budget)
    assert all(a.start <= b.start for a, b in zip(chunks, chunks[1:]))


@settings(max_examples=60)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".txt", ".md", ".html", ".jsonl"]))
def test_any_bytes_give_documents_or_issues_never_an_exception(data, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        items = list(load_file(path))
    assert all(isinstance(i, (Document, LoadIssue)) for i in items)
    for doc in (i for i in items if isinstance(i, Document)):
        assert doc.text.strip() and doc.doc_id and len(doc.content_hash) == 64
