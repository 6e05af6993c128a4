"""Which words of a sentence are the answer: candidate spans from the sentence's parse (its named entities, noun
phrases with what attaches to them, and clauses), each described by a few signals; the fitted span model
(:mod:`qa_bot.answering.model`) turns the signals into a probability and the best span is the direct answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..nlp import NAME_LABELS, governing_verb, semantic_role
from .question import KIND_LABELS, KINDS, QuestionAnalysis, is_content, lemma_of

MAX_SPAN_WORDS = 25
_NUMERIC_LABELS = KIND_LABELS["quantity"]
_TIME_LABELS = KIND_LABELS["time"]
_CLAUSE_DEPS = frozenset({"advcl", "ccomp", "xcomp", "relcl", "acl", "pcomp"})
_PHRASE_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "dative", "attr", "oprd", "pobj", "appos", "conj", "npadvmod"})
SPAN_TYPES = ("name", "number", "time", "phrase", "clause")
ENTITY_LABELS = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
                 "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL")


@dataclass
class AnswerSpan:
    start: int  # token offsets in the sentence's Doc
    end: int
    text: str
    type: str  # one of SPAN_TYPES
    label: str = ""  # spaCy entity label when the span is an entity
    signals: dict[str, float] = field(default_factory=dict)
    probability: float = 0.0


def _is_causal(span) -> bool:
    """A clause or phrase that gives a cause or purpose: "because …", "because of …", "due to …", "to protect …",
    read from the parse (a subordinating marker or preposition heading it, or an infinitive of purpose)."""
    first = span[0]
    if first.dep_ in ("mark", "prep") and first.lower_ in ("because", "since", "as", "due", "after", "amid", "over",
                                                          "for", "so"):
        return True
    root = span.root
    return root.dep_ == "advcl" and any(c.dep_ == "aux" and c.lower_ == "to" for c in root.children)


def span_candidates(doc) -> list[AnswerSpan]:
    """Entities, noun phrases (with their attachments) and clauses of a parsed sentence, without duplicates."""
    seen: dict[tuple[int, int], AnswerSpan] = {}

    def add(start: int, end: int, kind: str, label: str = "") -> None:
        while start < end and (doc[start].is_punct or doc[start].dep_ == "cc"):
            start += 1
        while end > start and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc"):
            end -= 1
        if end <= start or end - start > MAX_SPAN_WORDS or (start, end) in seen:
            return
        if not any(is_content(t) for t in doc[start:end]):
            return
        seen[(start, end)] = AnswerSpan(start, end, doc[start:end].text, kind, label)

    for ent in doc.ents:
        kind = "number" if ent.label_ in _NUMERIC_LABELS else "time" if ent.label_ in _TIME_LABELS else "name"
        add(ent.start, ent.end, kind, ent.label_)
        subtree = list(ent.root.subtree)  # "Carpenter v. United States": a name the tagger cut in two
        if kind == "name" and subtree[-1].i + 1 > ent.end and subtree[-1].i + 1 - ent.start <= 8 \
                and subtree[0].i >= ent.start:
            add(ent.start, subtree[-1].i + 1, kind, ent.label_)
    for chunk in doc.noun_chunks:
        add(chunk.start, chunk.end, "phrase")
    for token in doc:
        subtree = list(token.subtree)
        start, end = subtree[0].i, subtree[-1].i + 1
        if token.dep_ in _CLAUSE_DEPS or (token.dep_ == "prep" and _is_causal(doc[start:end])):
            add(start, end, "clause")
        elif token.dep_ in _PHRASE_DEPS and token.pos_ in ("NOUN", "PROPN", "NUM", "PRON"):
            add(start, end, "phrase")
    return list(seen.values())


def _tree_distance(a, b) -> int:
    """Edges between two tokens of one parse."""
    ancestors = {a.i: 0}
    for depth, node in enumerate(a.ancestors, start=1):
        ancestors[node.i] = depth
    if b.i in ancestors:
        return ancestors[b.i]
    for depth, node in enumerate([b, *b.ancestors]):
        if node.i in ancestors:
            return depth + ancestors[node.i]
    return len(a.doc)


def span_signals(qa: QuestionAnalysis, doc, span: AnswerSpan, question_lemmas: set[str]) -> dict[str, float]:
    """What the span model reads about one candidate span."""
    tokens = doc[span.start : span.end]
    lemmas = {lemma_of(t) for t in tokens if is_content(t)}
    new = lemmas - question_lemmas
    root = tokens.root
    anchors = [t for t in doc if (t.i < span.start or t.i >= span.end) and is_content(t)
               and lemma_of(t) in question_lemmas]
    distance = min((_tree_distance(root, a) for a in anchors), default=len(doc))
    verb = governing_verb(root.head) if root.head is not root else None
    verb_asked = verb is not None and verb.lemma_.lower() in qa.verbs
    role = semantic_role(root)
    focus_words = set(qa.focus.split())
    near_focus = bool(focus_words) and (
        bool(focus_words & lemmas)
        or any(lemma_of(t) in focus_words for t in root.head.subtree if t.dep_ in ("compound", "appos") or t is root.head)
    )
    signals = {
        "label_match": float(span.label in qa.labels),
        "new_share": len(new) / len(lemmas) if lemmas else 0.0,
        "all_in_question": float(not new),
        "near_anchor": 1.0 / (1.0 + distance),
        "verb_asked": float(verb_asked),
        "role_match": float(verb_asked and role == qa.wh_role and role != "other"),
        "near_focus": float(near_focus),
        "causal": float(_is_causal(tokens)),
        "words": min(len(tokens), MAX_SPAN_WORDS) / MAX_SPAN_WORDS,
        "single_word": float(len(tokens) == 1),
        "named": float(span.label in NAME_LABELS),
        "pronoun": float(all(t.pos_ in ("PRON", "DET") for t in tokens)),
        # "Thursday", "this year": a date or amount with no number in it is relative to the article's own day
        "has_number": float(any(t.like_num for t in tokens)),
    }
    # The kind of answer asked for against the kind of span and its entity label: learned per pair, not set by hand.
    signals[f"{qa.kind}:{span.type}"] = 1.0
    if span.label:
        signals[f"{qa.kind}:{span.label}"] = 1.0
    return signals


def add_focus_similarity(spans: list[AnswerSpan], similarities: list[float]) -> None:
    """How close each span is in meaning to the noun of a "which N" question ("Which city …": Nashville, not the
    Grammy Awards), and how far below the closest span of its sentence."""
    best = max(similarities, default=0.0)
    for span, similarity in zip(spans, similarities):
        span.signals["focus_similarity"] = similarity
        span.signals["focus_similarity_gap"] = best - similarity


def span_signal_names() -> list[str]:
    base = ["label_match", "new_share", "all_in_question", "near_anchor", "verb_asked", "role_match", "near_focus",
            "causal", "words", "single_word", "named", "pronoun", "has_number", "focus_similarity",
            "focus_similarity_gap"]
    return (base + [f"{kind}:{span_type}" for kind in KINDS for span_type in SPAN_TYPES]
            + [f"{kind}:{label}" for kind in KINDS for label in ENTITY_LABELS])
