from qa_bot.chunk import chunk_document
from qa_bot.text import split_sentences
from qa_bot.load import content_hash
from qa_bot.records import Document

from .conftest import FakeEmbedder


def make_doc(text):
    return Document(doc_id="d", text=text, title="T", source="S", published="2024-06-17", content_hash=content_hash(text))


def test_split_sentences_respects_abbreviations_and_initials():
    text = 'Mr. Smith went to Washington. He said "hi." Then J. R. Smith left! U.S. officials agree.\n\nNew para'
    got = [text[s.start:s.end] for s in split_sentences(text)]
    assert got == ["Mr. Smith went to Washington.", 'He said "hi."', "Then J. R. Smith left!",
                   "U.S. officials agree.", "New para"]


def test_chunks_fit_the_window_keep_offsets_and_overlap():
    embedder = FakeEmbedder()
    text = " ".join(f"Sentence number {i} tells about event {i} in the town of Place{i}." for i in range(60))
    chunks = chunk_document(make_doc(text), embedder.count_tokens, max_tokens=50, overlap_tokens=15)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert embedder.count_tokens([c.text])[0] <= 50
        assert c.doc_id == "d" and c.published == "2024-06-17" and c.title == "T"
    # consecutive chunks overlap by at least one sentence
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_a_sentence_longer_than_the_window_is_cut_to_fit():
    embedder = FakeEmbedder()
    text = "word " * 500 + "end."
    chunks = chunk_document(make_doc(text.strip()), embedder.count_tokens, max_tokens=40, overlap_tokens=0)
    assert all(embedder.count_tokens([c.text])[0] <= 40 for c in chunks)
    assert sum(len(c.text.split()) for c in chunks) == 501
