"""Candidate sentences and the signals that say whether one answers the question.

Every sentence of the retrieved passages is a candidate (sentences addressed to a model are dropped: article text
is untrusted). For each, :func:`sentence_signals` measures what the fitted sentence model combines into one
probability: dense similarity to the question, the share of the question's (weighted) words it holds, whether the
rarest asked-about words are missing, whether the question's named things are there, whether it holds something of
the kind asked (an entity label, a cause), whether the parse puts the question's participants in the roles the
question gives them, and the best answer span it holds.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..nlp import governing_verb, parse, parse_one, semantic_role
from ..records import Chunk, Hit
from ..text import looks_like_injection, split_sentences
from .question import QuestionAnalysis, is_content, lemma_of
from .spans import AnswerSpan, add_focus_similarity, span_candidates, span_signals

MIN_WORDS = 4


class WordVectors:
    """Embeddings of single words (verb lemmas), cached: "give" and "provide" are near, "give" and "say" are not."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], size: int = 50_000):
        self.embed = embed
        self.size = size
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        found = {w: self._vectors[w] for w in words if w in self._vectors}
        missing = sorted(set(words) - set(found))
        if missing:
            new = dict(zip(missing, self.embed(missing)))
            if len(self._vectors) + len(new) > self.size:  # full: start again (the words asked now are kept below)
                self._vectors.clear()
            self._vectors.update(new)
            found.update(new)
        return {w: found[w] for w in words}


@dataclass
class Candidate:
    chunk: Chunk
    start: int  # offsets of the sentence within chunk.text
    end: int
    hit_rank: int
    doc: object = None  # the sentence's spaCy Doc
    signals: dict[str, float] = field(default_factory=dict)
    spans: list[AnswerSpan] = field(default_factory=list)
    probability: float = 0.0  # that it answers the question, from the sentence model

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]

    @property
    def key(self) -> tuple[str, int]:
        """Where the sentence sits in its article: overlapping chunks repeat sentences."""
        return (self.chunk.doc_id, self.chunk.start + self.start)

    @property
    def best_span(self) -> AnswerSpan | None:
        return max(self.spans, key=lambda s: s.probability, default=None)


def candidate_sentences(hits: Sequence[Hit]) -> list[Candidate]:
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for rank, hit in enumerate(hits):
        for span in split_sentences(hit.chunk.text):
            candidate = Candidate(hit.chunk, span.start, span.end, rank)
            text = candidate.text
            if candidate.key in seen or len(text.split()) < MIN_WORDS or looks_like_injection(text):
                continue
            seen.add(candidate.key)
            out.append(candidate)
    return out


def _covered(terms: dict[str, float], present: set[str], around: set[str]) -> float:
    total = sum(terms.values())
    if not total:
        return 0.0
    return sum(w if t in present else 0.5 * w if t in around else 0.0 for t, w in terms.items()) / total


def _role_evidence(qa: QuestionAnalysis, doc, verb_similarity: Callable[[str, str], float]) -> tuple[float, float]:
    """(agree, conflict): does the sentence give a named participant of the question the same role (agent or
    patient) as the question does, or the opposite one, of a verb meaning what the question's verb means? Each is
    weighted by how close the two verbs are ("provided" for "give"), so no cut-off decides what counts as the same
    verb."""
    agree = conflict = 0.0
    for mention in qa.mentions:
        if mention.role == "other" or mention.verb not in qa.verbs or not mention.lemmas:
            continue
        for token in doc:
            if lemma_of(token) not in mention.lemmas or token.dep_ == "compound":
                continue
            verb = governing_verb(token.head) if token.head is not token else None
            if verb is None:
                continue
            weight = verb_similarity(verb.lemma_.lower(), mention.verb)
            role = semantic_role(token)
            if role == mention.role:
                agree = max(agree, weight)
            elif role != "other":
                conflict = max(conflict, weight)
    return agree, conflict


def _numbers_and_dates(doc) -> set[str]:
    return {t.lower_ for ent in doc.ents if ent.label_ in ("DATE", "TIME", "CARDINAL", "MONEY", "PERCENT", "QUANTITY")
            for t in ent if t.like_num or t.is_alpha and t.ent_type_ == "DATE"}


def sentence_signals(qa: QuestionAnalysis, candidate: Candidate, dense: float, around: set[str],
                     verb_similarity: float, window: set[str], passage: set[str],
                     verb_pair_similarity: Callable[[str, str], float], asked_numbers: set[str],
                     predicate_soft: float) -> dict[str, float]:
    """``around``: the content lemmas of what a reader of the passage knows besides the sentence (its article's
    headline and year); ``window``: those of the sentence and its neighbours; ``passage``: those of its whole
    passage."""
    doc = candidate.doc
    lemmas = {lemma_of(t) for t in doc if is_content(t)}
    terms = qa.terms
    heaviest = max(terms.values(), default=1.0)
    missing = [w for t, w in terms.items() if t not in lemmas and t not in around]
    mention_terms = [m for m in qa.mentions if m.label not in ("DATE", "TIME", "CARDINAL") and m.lemmas]
    mentions_found = sum(1.0 if m.lemmas <= lemmas else 0.5 if m.lemmas & (lemmas | around) else 0.0
                         for m in mention_terms)
    new_entities = [e for e in doc.ents if not {lemma_of(t) for t in e if is_content(t)} <= set(terms)]
    if qa.labels:
        type_match = float(any(e.label_ in qa.labels for e in new_entities))
    elif qa.kind == "reason":
        type_match = float(any(s.signals.get("causal") for s in candidate.spans))
    else:
        type_match = float(bool(new_entities) or any(s.signals.get("new_share", 0) > 0.5 for s in candidate.spans))
    agree, conflict = _role_evidence(qa, doc, verb_pair_similarity)
    years = {t.text for t in doc if t.like_num and len(t.text) == 4}
    if candidate.chunk.published:
        years.add(candidate.chunk.published[:4])
    text = candidate.text.strip()
    focus = qa.focus.split()[-1] if qa.focus else ""
    return {
        "dense": dense,
        "lexical": _covered(terms, lemmas, set()),
        "lexical_context": _covered(terms, lemmas, around),
        "lexical_window": _covered(terms, window, around),
        "lexical_passage": _covered(terms, passage, around),
        # what is asked about (not who it is about): a near miss names the people but not the thing asked
        "predicate": _covered(qa.predicate, lemmas, set()) if qa.predicate else 1.0,
        "predicate_window": _covered(qa.predicate, window, set()) if qa.predicate else 1.0,
        "predicate_soft": predicate_soft,
        "missing_heaviest": max(missing, default=0.0) / heaviest,
        "missing_share": len(missing) / len(terms) if terms else 0.0,
        "mentions": mentions_found / len(mention_terms) if mention_terms else 1.0,
        "verb_match": float(any(v in lemmas for v in qa.verbs)) if qa.verbs else 0.5,
        "verb_similarity": verb_similarity,
        "type_match": type_match,
        "role_agree": agree,
        "role_conflict": conflict,
        "year_mismatch": float(bool(qa.years) and not qa.years & years),
        # the dates and numbers the question names ("on June 19 and 20"), found in the sentence
        "numbers_matched": len(asked_numbers & _numbers_and_dates(doc)) / len(asked_numbers) if asked_numbers else 0.0,
        "fragment": float(not text.rstrip("\"'”’)] ").endswith((".", "!")) or text.endswith("?")),
        "focus_word": float(bool(focus) and focus in lemmas),
        "quoted_speech": float(any(q in text for q in ('"', "“", "”"))),
        "position": math.log1p((candidate.chunk.start + candidate.start) / 500),
        "log_words": math.log(1 + len(text.split())),
        # long questions leave more of their words out of the answering sentence: this lets the model allow for it
        "question_words": math.log(1 + len(terms)),
        "hit_rank": float(candidate.hit_rank),
        "span": max((s.probability for s in candidate.spans), default=0.0),
    }


RELATIVE_TO_BEST = ("lexical_context", "lexical_window", "span")  # also measured as the gap to the question's best


def add_relative_signals(signals: Sequence[dict[str, float]],
                         rivals: Sequence[dict[str, float]] | None = None) -> None:
    """How far below the best of its rivals (by default: all candidates of the same question) each candidate is: a
    sentence is judged against the others it competes with."""
    rivals = signals if rivals is None else rivals
    for name in ("dense", *RELATIVE_TO_BEST):
        best = max((s[name] for s in rivals), default=0.0)
        for s in signals:
            s[f"{name}_gap"] = best - s[name]


SENTENCE_SIGNALS = ("dense", "dense_gap", "lexical", "lexical_context", "lexical_window", "lexical_passage",
                    "predicate", "predicate_window", "predicate_soft",
                    "missing_heaviest", "missing_share",
                    "mentions", "verb_match", "verb_similarity", "type_match", "role_agree", "role_conflict", "year_mismatch", "numbers_matched",
                    "fragment", "focus_word", "quoted_speech", "position", "log_words", "question_words", "hit_rank", "span",
                    *(f"{name}_gap" for name in RELATIVE_TO_BEST))


def describe_candidates(qa: QuestionAnalysis, hits: Sequence[Hit], embed: Callable[[Sequence[str]], np.ndarray],
                        question_vector: np.ndarray, score_spans: Callable[[list[AnswerSpan]], None],
                        word_vectors: WordVectors) -> list[Candidate]:
    """Every candidate sentence of ``hits`` with its spans scored (by ``score_spans``) and its signals measured."""
    candidates = candidate_sentences(hits)
    if not candidates:
        return []
    texts = [c.text for c in candidates]
    for candidate, doc in zip(candidates, parse(texts)):
        candidate.doc = doc
    dense = embed(texts) @ question_vector
    question_lemmas = set(qa.terms)
    for candidate in candidates:
        candidate.spans = span_candidates(candidate.doc)
        for span in candidate.spans:
            span.signals = span_signals(qa, candidate.doc, span, question_lemmas)
    if qa.focus:  # "Which city …": how close each named span is to "city"
        named = sorted({s.text for c in candidates for s in c.spans if s.type != "clause"})
        vectors = word_vectors([qa.focus, *named])
        for candidate in candidates:
            add_focus_similarity(candidate.spans, [float(vectors[s.text] @ vectors[qa.focus]) if s.type != "clause"
                                                   else 0.0 for s in candidate.spans])
    for candidate in candidates:
        score_spans(candidate.spans)
    titles = list(dict.fromkeys(c.chunk.title for c in candidates))
    around = {title: {lemma_of(t) for t in doc if is_content(t)} for title, doc in zip(titles, parse(titles))}
    verbs = {id(c): {t.lemma_.lower() for t in c.doc if t.pos_ in ("VERB", "AUX")} for c in candidates}
    asked = qa.main_verb
    vectors = word_vectors(sorted(set().union(*verbs.values()) | set(qa.verbs))) if qa.verbs else {}

    def verb_pair_similarity(a: str, b: str) -> float:
        return max(0.0, float(vectors[a] @ vectors[b])) if a in vectors and b in vectors else float(a == b)

    asked_numbers = _numbers_and_dates(parse_one(qa.text))
    # The predicate's words matched by meaning: "toilet" is met by "bathroom", "give" by "provided".
    sentence_words = [{lemma_of(t) for t in c.doc if is_content(t) and t.pos_ in ("NOUN", "VERB", "ADJ")}
                      for c in candidates]
    if qa.predicate:
        word_vecs = word_vectors(sorted(set(qa.predicate).union(*sentence_words)))
        total = sum(qa.predicate.values())
    soft = []
    for words_ in sentence_words:
        if not qa.predicate:
            soft.append(1.0)
            continue
        matrix = np.array([word_vecs[w] for w in words_]) if words_ else np.zeros((0, 1))
        score = 0.0
        for term, weight in qa.predicate.items():
            best_match = float(np.max(matrix @ word_vecs[term])) if len(matrix) else 0.0
            score += weight * max(0.0, best_match)
        soft.append(score / total)
    lemmas = [{lemma_of(t) for t in c.doc if is_content(t)} for c in candidates]
    passages: dict[str, set[str]] = {}
    for candidate, words in zip(candidates, lemmas):
        passages.setdefault(candidate.chunk.chunk_id, set()).update(words)
    for i, (candidate, similarity) in enumerate(zip(candidates, dense)):
        context = around[candidate.chunk.title] | ({candidate.chunk.published[:4]} if candidate.chunk.published else set())
        verb_similarity = max((float(vectors[v] @ vectors[asked]) for v in verbs[id(candidate)]), default=0.0) \
            if asked else 0.0
        window = set(lemmas[i]).union(*(lemmas[j] for j in (i - 1, i + 1) if 0 <= j < len(candidates)
                                        and candidates[j].chunk.chunk_id == candidate.chunk.chunk_id))
        candidate.signals = sentence_signals(qa, candidate, float(similarity), context, verb_similarity, window,
                                             passages[candidate.chunk.chunk_id], verb_pair_similarity, asked_numbers,
                                             soft[i])
    add_relative_signals([c.signals for c in candidates])
    return candidates
