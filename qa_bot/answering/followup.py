"""Follow-up questions: decide from the question's parse whether it depends on the conversation, and only then
rewrite it into one question that stands alone.

The decision is the fitted follow-up model's (``training/fit_answer_model.py``, on conversations written for it):
a pronoun with nothing in the question to refer to, a demonstrative, an opening "And …" or "What about …", a
fragment without a verb, few named things of its own. An unrelated question passes untouched.

The rewrite replaces what points back with what it points at, found in the previous turn by agreement (he/she → a
person; it → an organisation, place or thing; there → a place; then → a date), preferring the previous answer; a
fragment ("And when?", "What about Texas?") is completed from the previous question. A dependent follow-up is then
looked up first in the articles the previous answer cited (:class:`~qa_bot.answering.answerer.Answerer`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..nlp import parse_one
from ..records import Turn
from .model import LinearModel
from .question import KIND_LABELS, TIME_NOUNS

_PERSON_PRONOUNS = frozenset("he him his she her hers himself herself".split())
_THING_PRONOUNS = frozenset("it its itself".split())
_PLURAL_PRONOUNS = frozenset("they them their theirs themselves".split())
_POSSESSIVE = frozenset("his her hers its their theirs".split())
_DEMONSTRATIVES = frozenset("that this these those".split())
_PERSON_LABELS = frozenset({"PERSON"})
_THING_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "NORP", "THING"})
_PLACE_LABELS = KIND_LABELS["place"]
_TIME_LABELS = KIND_LABELS["time"]


@dataclass(frozen=True)
class FollowUp:
    standalone: str  # the question to answer: the original, or its rewrite when it depends on the conversation
    depends: bool
    prior_doc_ids: tuple[str, ...] = ()  # articles the previous answer cited, searched first for a follow-up
    probability: float = 0.0  # the follow-up model's probability that the question depends on the conversation


def _pointers(doc) -> list:
    """Tokens that point back: third-person pronouns with no name before them in the question, a demonstrative
    standing alone as a noun phrase ("Who announced this?") or with a time word ("that day"), "there" and "then"."""
    found = []
    for token in doc:
        low = token.lower_
        earlier_names = any(t.ent_type_ or t.pos_ == "PROPN" for t in doc[: token.i])
        if low in _PERSON_PRONOUNS | _THING_PRONOUNS | _PLURAL_PRONOUNS and not earlier_names:
            found.append(token)
        elif low in _DEMONSTRATIVES and (
                token.dep_ in ("nsubj", "nsubjpass", "dobj", "attr") or
                (token.dep_ == "det" and token.head.lemma_.lower() in TIME_NOUNS)):
            found.append(token)
        elif low in ("there", "then") and token.dep_ in ("advmod", "npadvmod") and token.i > 0:
            found.append(token)
    return found


def dependence_signals(question: str, previous: Turn | None) -> dict[str, float]:
    doc = parse_one(question)
    words = [t for t in doc if not t.is_punct]
    first = words[0].lower_ if words else ""
    second = words[1].lower_ if len(words) > 1 else ""
    pointers = _pointers(doc)
    names = {t.lower_ for t in doc if t.ent_type_ or t.pos_ == "PROPN"}
    content = {t.lemma_.lower() for t in doc if not t.is_stop and not t.is_punct and t.pos_ in ("NOUN", "PROPN", "VERB",
                                                                                              "ADJ", "NUM")}
    before = set()
    if previous is not None:
        prev = parse_one(f"{previous.question} {previous.answer}")
        before = {t.lemma_.lower() for t in prev if not t.is_stop and not t.is_punct}
    return {
        "pronoun": float(any(t.lower_ not in _DEMONSTRATIVES and t.lower_ not in ("there", "then") for t in pointers)),
        "demonstrative": float(any(t.lower_ in _DEMONSTRATIVES | {"there", "then"} for t in pointers)),
        "opens_with_conjunction": float(bool(words) and (words[0].pos_ == "CCONJ" or first in ("so", "also", "plus"))),
        "what_about": float(first in ("what", "how") and second == "about"),
        "no_verb": float(not any(t.pos_ in ("VERB", "AUX") for t in doc)),
        "log_words": math.log(1 + len(words)),
        "names": min(len(names), 4) / 4,
        "content_words": min(len(content), 8) / 8,
        "shared_with_previous": len(content & before) / len(content) if content else 0.0,
        "has_previous": float(previous is not None),
    }


def resolve_followup(question: str, history: Sequence[Turn], model: LinearModel | None = None,
                     threshold: float = 0.5) -> FollowUp:
    if not history or model is None:
        return FollowUp(question, False)
    previous = history[-1]
    probability = float(model.probabilities([dependence_signals(question, previous)])[0])
    if probability < threshold:
        return FollowUp(question, False, (), probability)
    return FollowUp(rewrite(question, previous), True, previous.doc_ids, probability)


# -- the rewrite --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Referent:
    text: str
    label: str  # spaCy entity label, or THING for a noun phrase


def _referents(previous: Turn) -> list[_Referent]:
    """What the previous turn talked about, most salient first: its answer, then the names of its question."""
    out: list[_Referent] = []
    answer = parse_one(previous.answer) if previous.answer else None
    if answer is not None and 0 < len(answer) <= 12:
        ents = [e for e in answer.ents if e.label_ not in ("CARDINAL", "ORDINAL")]
        if len(ents) == 1 and all(t.pos_ == "PROPN" or t.is_punct for t in answer):
            out.append(_Referent(_name(_answer_text(previous.answer)), ents[0].label_))  # "Dmitry Peskov" whole
        elif ents:
            out += [_Referent(_name(e.text), e.label_) for e in ents]
        elif any(t.pos_ in ("NOUN", "PROPN") for t in answer):
            out.append(_Referent(_answer_text(previous.answer), "THING"))
    question = parse_one(previous.question)
    ents = sorted(question.ents, key=lambda e: (e.root.dep_ not in ("nsubj", "nsubjpass"), e.start))
    out += [_Referent(_name(e.text), e.label_) for e in ents if e.label_ not in ("CARDINAL", "ORDINAL")]
    out += [_Referent(c.text, "THING") for c in question.noun_chunks
            if c.root.pos_ == "NOUN" and not any(t.tag_ in ("WDT", "WP") for t in c)]
    return out


def _answer_text(answer: str) -> str:
    """The previous answer as words to reuse: without a sentence's full stop, but "Jr." keeps its own."""
    answer = answer.strip()
    last = answer.rsplit(" ", 1)[-1]
    return answer[:-1] if answer.endswith(".") and len(last) > 4 and "." not in last[:-1] else answer


def _name(text: str) -> str:
    """An entity as it can stand in for a pronoun: without a trailing possessive ("Berlusconi's" → "Berlusconi")."""
    for suffix in ("'s", "’s"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _pick(referents: list[_Referent], labels: frozenset[str]) -> _Referent | None:
    return next((r for r in referents if r.label in labels), None)


def _possessive(text: str) -> str:
    return f"{text}’" if text.endswith("s") else f"{text}’s"


def rewrite(question: str, previous: Turn) -> str:
    """One standalone question: what points back replaced by what it points at; a fragment completed."""
    doc = parse_one(question)
    words = [t for t in doc if not t.is_punct]
    start = 1 if words and (words[0].pos_ == "CCONJ" or words[0].lower_ in ("so", "also", "plus")) else 0
    if not any(t.pos_ in ("VERB", "AUX") for t in doc) or (
            len(words) > 1 and words[0].lower_ in ("what", "how") and words[1].lower_ == "about"):
        completed = _complete_fragment(doc, previous)
        if completed:
            return completed
    referents = _referents(previous)
    replace: dict[int, str] = {}
    for token in _pointers(doc):
        low = token.lower_
        if low in _PERSON_PRONOUNS:
            referent = _pick(referents, _PERSON_LABELS)
        elif low in _THING_PRONOUNS:
            referent = _pick(referents, _THING_LABELS)
        elif low in _PLURAL_PRONOUNS:
            several = previous.answer and len([r for r in referents[:3] if r.label == "PERSON"]) > 1
            referent = (_Referent(_answer_text(previous.answer), "PERSON") if several else
                        _pick(referents, frozenset({"ORG"})) or _pick(referents, frozenset({"GPE"}))
                        or _pick(referents, _THING_LABELS - {"NORP"}))
        elif low == "there":
            referent = _pick(referents, _PLACE_LABELS)
        elif low == "then" or (low in _DEMONSTRATIVES and token.head.lemma_.lower() in TIME_NOUNS):
            referent = _pick(referents, _TIME_LABELS)
            if referent is not None and low in _DEMONSTRATIVES:
                replace[token.head.i] = ""  # "that day" → the date itself
        else:  # "Who announced this?": what the previous answer named, unless that was a person
            referent = referents[0] if referents and previous.answer and referents[0].label in _THING_LABELS else None
        if referent is None:
            continue
        if low == "there":
            replace[token.i] = f"in {referent.text}"
        elif low == "then" or (low in _DEMONSTRATIVES and token.head.lemma_.lower() in TIME_NOUNS):
            has_day = any(t.like_num and len(t.text) <= 2 for t in parse_one(referent.text))
            replace[token.i] = (f"on {referent.text}" if has_day else f"in {referent.text}") if referent.label == "DATE" \
                else referent.text
        elif low in _POSSESSIVE and token.dep_ == "poss":
            replace[token.i] = _possessive(referent.text)
        else:
            replace[token.i] = referent.text
    pieces = []
    for token in doc[start:] if start < len(doc) else doc:
        text = replace.get(token.i, token.text)
        if text:
            pieces.append(text + token.whitespace_)
        elif pieces:
            pieces[-1] = pieces[-1].rstrip() + token.whitespace_
    rewritten = "".join(pieces).strip()
    return rewritten[:1].upper() + rewritten[1:] if rewritten else question


def _question_phrase(doc) -> set[int]:
    """Token positions of the question phrase: the question word, the noun it determines, a preposition before it
    and "many"/"much" ("on what date", "how many")."""
    wh = next((t for t in doc if t.tag_ in ("WP", "WDT", "WRB", "WP$")), None)
    if wh is None:
        return set()
    phrase = {wh.i}
    if wh.dep_ == "det":
        phrase.add(wh.head.i)
    if wh.i + 1 < len(doc) and doc[wh.i + 1].lower_ in ("many", "much"):
        phrase.add(wh.i + 1)
    if wh.i > 0 and doc[wh.i - 1].pos_ == "ADP":
        phrase.add(wh.i - 1)
    return phrase


def _complete_fragment(doc, previous: Turn) -> str | None:
    """"And when?" / "And on what date?" → the previous question asked with the new question phrase; "What about
    Texas?" / "And the lowest?" → the previous question with its matching part replaced."""
    prev = parse_one(previous.question)
    phrase = _question_phrase(doc)
    rest = [t for t in doc if not t.is_punct and t.pos_ != "CCONJ" and t.i not in phrase
            and t.lower_ not in ("about", "so", "also", "plus")]
    if phrase and not rest:
        return _ask_again(prev, doc[min(phrase) : max(phrase) + 1].text, previous)
    if not rest:
        return None
    new = doc[rest[0].i : rest[-1].i + 1]
    new_ent = next(iter(new.ents), None)
    # the same kind of name, preferring one that is not a modifier ("U.S. farm exports to Mexico": Mexico)
    same = sorted((e for e in prev.ents if new_ent is not None and e.label_ == new_ent.label_),
                  key=lambda e: (e.root.dep_ in ("compound", "amod", "nmod", "poss"), e.start))
    target = same[0] if same else None
    if target is None:  # "and the lowest?": the word of the previous question with the same part of speech
        head = new.root
        target = next((prev[t.i : t.i + 1] for t in prev if t.tag_ == head.tag_ and t.tag_ in ("JJS", "JJR", "RBS")
                       and t.lower_ != head.lower_), None)
        new_text = head.text
    else:  # "What about Korea and Ecuador?" → "Korea and Ecuador"; "And in 2018?" → "2018"
        words_ = [t for t in new if t.i >= new_ent.start or t.pos_ not in ("ADP", "DET")]
        new_text = doc[words_[0].i : new.end].text if words_ else new_ent.text
    if target is None:
        return None
    text = prev.text
    return (text[: target.start_char] + new_text + text[target.end_char :]).strip()


def _ask_again(prev, wh_text: str, previous: Turn) -> str:
    """The previous question with its question phrase swapped for ``wh_text`` and its answer put where the question
    phrase stood: "Who finished second …?" + "And when?" → "When did <answer> finish second …?"; "Which stadium was
    picked …?" + "And on what date?" → "On what date was <answer> picked …?"."""
    phrase = _question_phrase(prev)
    if not phrase:
        return f"{wh_text[:1].upper()}{wh_text[1:]} {prev.text}"
    end = max(phrase) + 1
    wh = next(t for t in prev if t.i in phrase and t.tag_ in ("WP", "WDT", "WRB", "WP$"))
    asked_subject = (wh.head if wh.dep_ == "det" else wh).dep_ in ("nsubj", "nsubjpass")
    answer = _answer_text(previous.answer)
    lead = f"{wh_text[:1].upper()}{wh_text[1:]}"
    rest = prev[end:]
    if asked_subject and answer and len(rest):
        first = rest[0]
        if first.pos_ == "AUX":  # "… was picked …" → "was <answer> picked …"
            return f"{lead} {first.text} {answer} {prev[end + 1 :].text}".rstrip(" ?") + "?"
        if first.pos_ == "VERB" and first.tag_ in ("VBD", "VBZ", "VBP"):  # "… finished …" → "did <answer> finish …"
            aux = "did" if first.tag_ == "VBD" else "does" if first.tag_ == "VBZ" else "do"
            return f"{lead} {aux} {answer} {first.lemma_} {prev[end + 1 :].text}".rstrip(" ?") + "?"
    tail = rest.text.rstrip(" ?")
    if answer and wh.dep_ in ("dobj", "dative", "attr", "pobj"):
        tail = f"{tail} {answer}"
    return f"{lead} {tail}?".replace("  ", " ")
