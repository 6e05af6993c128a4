"""Evidence first: narrow retrieved chunks to the few sentences most likely to answer the question.

Each sentence of the retrieved chunks is scored by its dense similarity to the question, the IDF-weighted share of
the question's content words it contains, whether it holds the kind of thing the question asks for (a date for
"when", a number for "how many", a name for "who"), and the rank of its chunk. The best sentence's score is also the
evidence strength that decides whether to answer at all."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chunk import split_sentences
from .records import Chunk, Hit
from .text import content_stems, fold, has_date, has_number, names, words

# Article text is untrusted: sentences addressed to a language model are never used as evidence.
_INJECTION_RE = re.compile(
    r"(ignore|disregard|forget) (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?|rules)"
    r"|\b(system|assistant)\s*:|reveal (your|the) (system )?prompt|you are (now )?(an? )?(ai|assistant|language model)"
    r"|\bnew instructions\b|\bjailbreak\b",
    re.IGNORECASE,
)


def looks_like_injection(sentence: str) -> bool:
    return bool(_INJECTION_RE.search(sentence))


@dataclass
class Evidence:
    chunk: Chunk
    start: int  # offsets of the sentence within chunk.text
    end: int
    hit_rank: int
    dense: float = 0.0
    lexical: float = 0.0
    answer_type: float = 0.0
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.doc_id, self.chunk.start + self.start)


def question_kind(question: str) -> str:
    q = fold(question).strip()
    if re.match(r"(how many|how much|what (number|percentage|share|amount)|how (old|long|far|big|large))\b", q):
        return "number"
    if re.match(r"(when|what (year|month|day|date|time))\b", q) or re.search(r"\b(what|which) (year|month|day|date)\b", q):
        return "when"
    if re.match(r"(who|whom|whose)\b", q) or re.search(r"\b(which|what) (person|man|woman|official|leader|player|actor|actress|singer|coach|president|minister)\b", q):
        return "who"
    if re.match(r"why\b", q):
        return "why"
    return "other"


def answer_type_match(kind: str, sentence: str, question: str) -> float:
    """1 when the sentence holds something of the kind asked that the question does not already contain."""
    if kind == "number":
        return float(has_number(_minus(sentence, question)))
    if kind == "when":
        return float(has_date(_minus(sentence, question)))
    if kind == "who":
        return float(bool(names(sentence) - names(question) - set(words(question))))
    if kind == "why":
        return float(bool(re.search(r"\b(because|due to|since|after|so that|in order to|as a result|to avoid|to help|to protect|amid)\b", fold(sentence))))
    return 0.0


def _minus(sentence: str, question: str) -> str:
    qwords = set(words(question))
    return " ".join(w for w in sentence.split() if fold(w).strip(".,;:!?\"'()") not in qwords)


def lexical_coverage(question_terms: dict[str, float], sentence: str) -> float:
    """IDF-weighted share of the question's content stems found in the sentence."""
    if not question_terms:
        return 0.0
    present = content_stems(sentence)
    total = sum(question_terms.values())
    return sum(w for t, w in question_terms.items() if t in present) / total if total else 0.0


@dataclass
class EvidenceWeights:
    dense: float = 0.45
    lexical: float = 0.45
    answer_type: float = 0.10
    rank_decay: float = 0.02  # per chunk rank


def select_evidence(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], np.ndarray],
    question_vector: np.ndarray,
    idf: Callable[[list[str]], dict[str, float]],
    weights: EvidenceWeights | None = None,
    context_terms: str = "",
) -> list[Evidence]:
    """All candidate sentences of the hits, scored, best first (duplicates from overlapping chunks removed)."""
    weights = weights or EvidenceWeights()
    seen: set[tuple[str, int]] = set()
    candidates: list[Evidence] = []
    for rank, hit in enumerate(hits):
        for span in split_sentences(hit.chunk.text):
            ev = Evidence(hit.chunk, span.start, span.end, rank)
            if ev.key in seen or len(ev.text.split()) < 4 or looks_like_injection(ev.text):
                continue
            seen.add(ev.key)
            candidates.append(ev)
    if not candidates:
        return []
    stems = content_stems(question + " " + context_terms)
    raw_words = {w for w in words(question + " " + context_terms)}
    idf_by_word = idf(sorted(raw_words))
    from .text import stem

    question_terms: dict[str, float] = {}
    for w, value in idf_by_word.items():
        s = stem(w[:-2] if w.endswith("'s") else w)
        if s in stems:
            question_terms[s] = max(question_terms.get(s, 0.0), value)
    vectors = embed([ev.text for ev in candidates])
    dense = vectors @ question_vector
    kind = question_kind(question)
    for ev, sim in zip(candidates, dense):
        ev.dense = float(sim)
        ev.lexical = lexical_coverage(question_terms, ev.text)
        ev.answer_type = answer_type_match(kind, ev.text, question)
        ev.score = (
            weights.dense * ev.dense
            + weights.lexical * ev.lexical
            + weights.answer_type * ev.answer_type
            - weights.rank_decay * ev.hit_rank
        )
    return sorted(candidates, key=lambda e: (-e.score, e.hit_rank, e.start))
