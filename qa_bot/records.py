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


AnswerPath = Literal["generated", "extractive", "declined"]


@dataclass
class Answer:
    question: str
    text: str
    declined: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # shown when declined: closest passages, not sources
    path: AnswerPath = "generated"
    hits: list[Hit] = field(default_factory=list)
    standalone_question: str | None = None  # the follow-up rewritten for retrieval, when it differs
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. why a draft was rejected
    evidence_score: float | None = None  # strength of the best evidence sentence; refusal compares it to a threshold

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "declined": self.declined,
            "path": self.path,
            "citations": [
                {"n": c.n, "doc_id": c.doc_id, "title": c.title, "url": c.url, "chunk_id": c.chunk_id, "quote": c.quote}
                for c in self.citations
            ],
            "related": [
                {"doc_id": c.doc_id, "title": c.title, "url": c.url, "chunk_id": c.chunk_id, "quote": c.quote}
                for c in self.related
            ],
            "timings": self.timings,
            "evidence_score": self.evidence_score,
            **({"notes": self.notes} if self.notes else {}),
            **({"standalone_question": self.standalone_question} if self.standalone_question else {}),
        }
