"""Checks on a language model's wording of the direct answer: it may rephrase the cited sentence, not add to it."""
from __future__ import annotations

import re

from ..nlp import NAME_LABELS, parse_one
from ..relations import role_conflicts
from ..text import numbers, strip_citations
from .question import QuestionAnalysis, is_content, lemma_of
from .spans import MAX_SPAN_WORDS

_PREAMBLE_RE = re.compile(r"^\s*(?:(?:the )?(?:short |direct )?answer(?: to the question)?(?: is)?\s*:?|a\s*:)\s*",
                          re.IGNORECASE)


def clean_wording(text: str) -> str:
    """The model's reply without its own [n] markers, an "Answer:" lead-in or wrapping quotes."""
    text = strip_citations(text or "")
    text = _PREAMBLE_RE.sub("", text).strip().strip('"“”').strip()
    return text


def check_wording(wording: str, qa: QuestionAnalysis, sentence: str, span_text: str) -> str | None:
    """None when the wording may be shown as the direct answer; else what is wrong with it.

    It must be short; every number and every name in it must be in the cited sentence; nearly all its content words
    must come from the sentence or the question; it must hold something of the sentence that the question does not
    (an answer, not an echo); it must not swap who did what to whom; and where a named or numeric answer is asked,
    it must contain the extracted one."""
    if not wording:
        return "it is empty"
    if len(wording.split()) > MAX_SPAN_WORDS:
        return f"it is longer than {MAX_SPAN_WORDS} words"
    missing_numbers = numbers(wording) - numbers(sentence)
    if missing_numbers:
        return f"its numbers {sorted(missing_numbers)} are not in the cited sentence"
    doc, source = parse_one(wording), parse_one(sentence)
    source_words = {t.lower_ for t in source} | {lemma_of(t) for t in source}
    names = {t.lower_ for ent in doc.ents if ent.label_ in NAME_LABELS for t in ent if is_content(t)}
    names |= {t.lower_ for t in doc if t.pos_ == "PROPN"}
    missing_names = sorted(n for n in names if n not in source_words)
    if missing_names:
        return f"the names {missing_names} are not in the cited sentence"
    words = {lemma_of(t) for t in doc if is_content(t)}
    allowed = {lemma_of(t) for t in source if is_content(t)} | set(qa.terms)
    if words and len(words - allowed) > max(1, len(words) // 5):
        return f"it uses words the sentence does not ({', '.join(sorted(words - allowed)[:4])})"
    if not words - set(qa.terms):
        return "it repeats the question without answering it"
    if conflicts := role_conflicts(wording, [sentence]):
        return conflicts[0]
    if qa.labels and span_text.lower() not in wording.lower():
        return f"it does not contain the answer found in the sentence ({span_text})"
    return None
