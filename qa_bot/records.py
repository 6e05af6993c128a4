"""Typed records passed between stages, instead of Chroma's column dicts."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str  # cleaned article text; chunk offsets index into it
    title: str = ""
    url: str | None = None
    source: str = ""
    published: str | None = None  # YYYY-MM-DD when known
    path: str | None = None  # where it was loaded from
    content_hash: str = ""  # sha256 of the cleaned text + metadata, set by the loader
    # The day the file was last changed (YYYY-MM-DD): the library shows it where the article gives no date. It is
    # not a publication date, so answers never cite it, and it is not hashed (a touched file is unchanged).
    file_date: str | None = None


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    text: str
    start: int  # character offsets of ``text`` in Document.text
    end: int
    index: int  # position of the chunk within its document
    title: str = ""
    url: str | None = None
    source: str = ""
    published: str | None = None
    content_hash: str = ""  # hash of the whole document this chunk came from


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score, higher is better
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float | None = None


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    url: str | None
    chunk_id: str
    quote: str  # the sentence(s) of the passage that support the answer
    source: str = ""
    published: str | None = None
    passage: str = ""  # the whole passage the quote sits in

    def to_dict(self) -> dict:
        return asdict(self)


# generated: the model's wording of the direct answer, checked against the cited sentence; extracted: the words of
# the cited sentence that answer; quoted: only the cited sentence (no part of it is clearly the answer); declined.
AnswerPath = Literal["generated", "extracted", "quoted", "declined"]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, as follow-up questions need it."""

    question: str  # the question as it stood alone (a follow-up's rewrite)
    answer: str = ""  # the direct answer, or the answer text
    doc_ids: tuple[str, ...] = ()  # the articles it cited


@dataclass
class Answer:
    question: str
    text: str  # everything shown: the direct answer, then the quoted sentence with its attribution and [n]
    declined: bool
    direct: str = ""  # the short direct answer (empty when only a quote, or declined)
    quote: str = ""  # the cited sentence
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # shown when declined: closest passages, not sources
    path: AnswerPath = "extracted"
    # Why the first choice was not shown, e.g. the model's wording failed a check, so the extracted span is shown.
    fallback: str | None = None
    hits: list[Hit] = field(default_factory=list)
    standalone_question: str | None = None  # the follow-up rewritten to stand alone, when it differs
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    confidence: float | None = None  # the sentence model's probability that the cited (or best) sentence answers
    span_confidence: float | None = None  # the span model's probability for the direct answer

    @property
    def short(self) -> str:
        """What answers the question in the fewest words: the direct answer, else the quote (empty if declined)."""
        return "" if self.declined else self.direct or self.quote

    def as_turn(self) -> Turn:
        return Turn(self.standalone_question or self.question, self.short,
                    tuple(dict.fromkeys(c.doc_id for c in self.citations)))

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "direct": self.direct,
            "quote": self.quote,
            "declined": self.declined,
            "path": self.path,
            **({"fallback": self.fallback} if self.fallback else {}),
            "confidence": self.confidence,  # the sentence model's probability that the quote answers
            "span_confidence": self.span_confidence,  # the span model's, for the direct answer (None: no span shown)
            "citations": [
                {"n": c.n, "doc_id": c.doc_id, "title": c.title, "url": c.url, "source": c.source,
                 "published": c.published, "chunk_id": c.chunk_id, "quote": c.quote}
                for c in self.citations
            ],
            "related": [
                {"doc_id": c.doc_id, "title": c.title, "url": c.url, "source": c.source, "published": c.published,
                 "chunk_id": c.chunk_id, "quote": c.quote}
                for c in self.related
            ],
            "timings": self.timings,
            **({"notes": self.notes} if self.notes else {}),
            **({"standalone_question": self.standalone_question} if self.standalone_question else {}),
        }
