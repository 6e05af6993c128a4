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

from .records import Chunk, Hit
from .text import (
    CALENDAR_WORDS,
    STOPWORDS,
    content_stems,
    date_words,
    fold,
    has_calendar_date,
    has_date,
    has_number,
    looks_like_injection,
    names,
    split_sentences,
    stem,
    term_weights,
    words,
)


@dataclass
class Evidence:
    chunk: Chunk
    start: int  # offsets of the sentence within chunk.text
    end: int
    hit_rank: int
    dense: float = 0.0
    lexical: float = 0.0  # IDF-weighted share of the question's words in the sentence (its article's title/date: half)
    core: float = 0.0  # the same for the words of the question's main clause, sentence only
    answer_type: float = 0.0
    fragment: bool = False  # a heading, caption or question rather than a statement
    score: float = 0.0

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.doc_id, self.chunk.start + self.start)


def question_kind(question: str) -> str:
    q = fold(question).strip()
    # "Roughly how many …", "Up to how many …": the kind is in the question word, wherever it stands.
    if re.search(r"\b(how many|how much)\b", q) or re.match(r"(what (number|percentage|share|amount)|how (old|long|far|big|large))\b", q):
        return "number"
    if re.search(r"\b(what|which) (date|day)\b", q):
        return "date"
    if re.match(r"(when|what (year|month|time))\b", q) or re.search(r"\b(what|which) (year|month)\b", q):
        return "when"
    if re.match(r"(who|whom|whose)\b", q) or re.search(r",\s*(who|whom|whose)\b", q) or re.search(r"\b(which|what) (person|man|woman|official|leader|player|actor|actress|singer|coach|president|minister)\b", q):
        return "who"
    if re.search(r"\bwhy\b|\bwhat (reason|reasons|caused|prompted)\b", q):  # "According to X, why …"
        return "why"
    if _ENTITY_QUESTION_RE.match(q):
        return "entity"
    return "other"


# "Which airline …", "In which country …", "What is the name of …": the answer is a proper name. "What did …",
# "What reason …" and the like ask for a clause instead.
_ENTITY_QUESTION_RE = re.compile(
    r"(?:(?:in|at|on|to|from|for|by|of|with|under|into|onto|through) )?"
    r"(?:which\b(?! (?:is|was|are|were|did|does|do|has|had|have|will|would|can|could|should|of)\b)"
    r"|what (?!(?:is|was|are|were|did|does|do|has|had|have|will|would|can|could|should|happened|happens|kind|type|sort"
    r"|reason|way|role|impact|effect|change|changes|advice|message|warning|concerns?|explanation|purpose|evidence"
    r"|if|about|else)\b)\w+"
    r"|what (?:is|was|are|were) the (?:name|title|designation|nickname|brand)\b)"
)


def proper_names(sentence: str, known: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Names in ``sentence``: capitalised words past its start, plus capitalised words (its first included) that
    ``known`` — names seen mid-sentence around it — says are names ("Starbucks announced …")."""
    found = names(sentence)
    for token in re.findall(r"(?<![\w’'])[A-Z][\w’'-]*", sentence):
        t = fold(token).strip("'’-")
        t = t.removesuffix("'s")
        if t in known:
            found.add(t)
    return found


def new_names(sentence: str, question: str, known_names: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Names in the sentence that the question does not already hold. Not names of the thing asked for: weekdays
    and months, names used as modifiers ("Seattle-based"), and forms of a question word ("Korea" for "Korean")."""
    asked = names(question) | set(words(question))
    modifiers = {fold(m) for m in re.findall(r"(?<![\w’'])[A-Z][\w.’']*-[a-z][\w-]*", sentence)}
    found = set()
    for name in proper_names(sentence, known_names) - asked:
        if name in CALENDAR_WORDS or name in modifiers:
            continue
        if any(len(w) >= 4 and len(name) >= 4 and (w.startswith(name) or name.startswith(w)) for w in asked):
            continue
        found.add(name)
    return found


def answer_type_match(kind: str, sentence: str, question: str, known_names: frozenset[str] | set[str] = frozenset()) -> float:
    """1 when the sentence holds something of the kind asked that the question does not already contain."""
    if kind == "number":
        return float(has_number(_minus(sentence, question)))
    if kind == "when":
        return float(has_date(_minus(sentence, question)))
    if kind == "date":
        return float(has_calendar_date(_minus(sentence, question)))
    if kind in ("who", "entity"):
        return float(bool(new_names(sentence, question, known_names)))
    if kind == "why":
        return float(bool(re.search(
            r"\b(because|due to|since|after|so that|in order to|as a result|to avoid|to help|to protect|amid|citing"
            r"|blaming|in protest|to protest|in response to|following|saying|over)\b", fold(_minus(sentence, question)))))
    return 0.0


def _minus(sentence: str, question: str) -> str:
    qwords = set(words(question))
    return " ".join(w for w in sentence.split() if fold(w).strip(".,;:!?\"'()") not in qwords)


def chunk_context(chunk: Chunk) -> str:
    """What a reader of the passage knows besides its sentences: the headline and the publication date."""
    return f"{chunk.title} {date_words(chunk.published)}"


def lexical_coverage(question_terms: dict[str, float], sentence: str, context: str = "") -> float:
    """IDF-weighted share of the question's content stems found in the sentence; those found only in the
    context (headline, date) count half."""
    if not question_terms:
        return 0.0
    present = content_stems(sentence)
    around = content_stems(context) if context else set()
    total = sum(question_terms.values())
    got = sum(w if t in present else 0.5 * w if t in around else 0.0 for t, w in question_terms.items())
    return got / total if total else 0.0


# The main clause of a question carries what is asked; the phrases after it ("in January 2025", "during the visit",
# "after saying …") only place it. A sentence that answers must match the main clause, not just the setting.
_ADJUNCT_RE = re.compile(
    r",|\b(in|on|at|during|after|before|ahead of|when|while|since|following|right after|amid|under|from|near|"
    r"about|over|as|to|of)\b",
    re.IGNORECASE,
)


def main_clause(question: str) -> str:
    """The question up to the first place/time/condition phrase that follows at least two content words (after a
    leading one set off by a comma: "Before his trip, whom had he met …")."""
    lead = re.match(r"\s*(?:in|on|at|during|after|before|ahead of|while|since|following|amid|under|according to)\b"
                    r"(?:(?!\b(?:what|which|who|whom|whose|when|where|why|how)\b)[^,?])*,\s*", question, re.IGNORECASE)
    if lead:
        question = question[lead.end():]
    seen = 0
    for match in _ADJUNCT_RE.finditer(question):
        seen = len(content_stems(question[: match.start()]))
        if seen >= 2:
            return question[: match.start()]
    return question


# Words that frame a question rather than say what it is about: "What is the name of …", "On what date …".
_QUESTION_FRAME = frozenset(
    stem(w) for w in "name title designation date day year month time number kind type sort reason".split()
)


def asked_predicate(question: str) -> set[str]:
    """What the question asks about, without who it is about: the content stems of its main clause that are not
    names, numbers or framing words ("eat", "breakfast" in "What did McConnell eat for breakfast?")."""
    name_stems = {stem(part) for n in names(question) for part in (n, *n.split("-"))}
    return {t for t in content_stems(main_clause(question)) - name_stems - _QUESTION_FRAME - focus_noun(question)
            if not any(c.isdigit() for c in t)}


_AUXILIARIES = frozenset("is was are were did does do has had have will would can could should must".split())


def focus_noun(question: str) -> set[str]:
    """Stems of the noun after "which"/"what" ("Which coffee chain …" → coffee, chain): the kind of thing the
    answer is, which the answering sentence names ("Starbucks") rather than repeats."""
    match = re.search(r"\b(?:which|what)\s+(?:(?:is|was|are|were)\s+the\s+(?:name|title|designation)\s+of\s+(?:the\s+|a\s+)?)?"
                      r"((?:[a-z][\w'’-]*\s+){0,2})", question + " ", re.IGNORECASE)
    if not match:
        return set()
    found = set()
    for token in match.group(1).split():
        if token[0].isupper() or fold(token) in _AUXILIARIES or fold(token) in STOPWORDS or found and token.endswith("ed"):
            break  # "Which comedian hosted …": a past-tense verb after the noun is the predicate
        found.add(stem(fold(token)))
    return found


def is_fragment(sentence: str) -> bool:
    s = sentence.strip().rstrip("\"'”’)] ")
    return not s.endswith((".", "!")) or sentence.strip().endswith("?")


@dataclass
class EvidenceWeights:
    dense: float = 0.40
    lexical: float = 0.30
    core: float = 0.20
    answer_type: float = 0.10
    fragment: float = 0.15  # penalty for headings, captions and questions
    rank_decay: float = 0.01  # per chunk rank


def select_evidence(
    question: str,
    hits: Sequence[Hit],
    embed: Callable[[Sequence[str]], np.ndarray],
    question_vector: np.ndarray,
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
    question_terms = weighted_terms(question + " " + context_terms)
    core_stems = content_stems(main_clause(question))
    core_terms = {t: w for t, w in question_terms.items() if t in core_stems}
    vectors = embed([ev.text for ev in candidates])
    dense = vectors @ question_vector
    kind = question_kind(question)
    chunk_names: dict[str, frozenset[str]] = {}
    for ev, sim in zip(candidates, dense):
        if ev.chunk.chunk_id not in chunk_names:
            chunk_names[ev.chunk.chunk_id] = frozenset(names(ev.chunk.text))
        context = chunk_context(ev.chunk)
        ev.dense = float(sim)
        ev.lexical = lexical_coverage(question_terms, ev.text, context)
        ev.core = lexical_coverage(core_terms, ev.text + " " + ev.chunk.title) if core_terms else ev.lexical
        ev.answer_type = answer_type_match(kind, ev.text, question, chunk_names[ev.chunk.chunk_id])
        ev.fragment = is_fragment(ev.text)
        ev.score = (
            weights.dense * ev.dense
            + weights.lexical * ev.lexical
            + weights.core * ev.core
            + weights.answer_type * ev.answer_type
            - weights.fragment * ev.fragment
            - weights.rank_decay * ev.hit_rank
        )
    return _without_near_duplicates(sorted(candidates, key=lambda e: (-e.score, e.hit_rank, e.start)))


def _without_near_duplicates(ranked: list[Evidence], overlap: float = 0.8) -> list[Evidence]:
    """Drop a sentence whose content words mostly repeat a better one's: syndicated copies of one story would
    otherwise fill every evidence slot with the same sentence."""
    kept: list[tuple[Evidence, set[str]]] = []
    for ev in ranked:
        stems = content_stems(ev.text)
        if any(len(stems & other) >= overlap * len(stems | other) for _, other in kept):
            continue
        kept.append((ev, stems))
    return [ev for ev, _ in kept]


def weighted_terms(text: str) -> dict[str, float]:
    """The content stems of ``text`` with their weights (rarer words weigh more)."""
    stems = content_stems(text)
    terms: dict[str, float] = {}
    parts = {p for w in words(text) for p in ({w, *w.split("-")} if "-" in w else {w})}
    for word, value in term_weights(sorted(parts)).items():
        s = stem(word.removesuffix("'s"))
        if s in stems:
            terms[s] = max(terms.get(s, 0.0), value)
    return terms
