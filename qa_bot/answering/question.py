"""What a question asks for, read from its parse: the kind of answer (as spaCy entity labels), the words that name
the thing asked about, the verb it asks about and the role the asked-for thing plays in it.

"Who greeted Vladimir Putin?" → kind ``person`` (PERSON/ORG/NORP), verb ``greet``, the asked-for thing is the agent
and Putin the patient. A sentence where Putin is the agent of a greeting ("Putin welcomed Kim …") then conflicts
with the question, however many words it shares with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..nlp import NAME_LABELS, governing_verb, parse_one, semantic_role
from ..text import term_weights

# The answer kinds. Entity labels for each come from the question word, as in the usual QA typing:
# who → PERSON/ORG/NORP, when → DATE/TIME, how many/much → CARDINAL/QUANTITY/MONEY/PERCENT, where → GPE/LOC/FAC.
KIND_LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON", "ORG", "NORP"}),
    "time": frozenset({"DATE", "TIME"}),
    "quantity": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    # "How many N …" asks for a count of N: the same labels, but its own learned weights for each (a percentage or a
    # sum of money rarely counts anything), and N is its focus ("How many workers …": not "50 stores")
    "count": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    # "Which airline …", "What is the name of …": a proper name of any kind
    "entity": NAME_LABELS,
    "reason": frozenset(),
    "thing": frozenset(),  # "What did X give …": a noun phrase or clause
    "manner": frozenset(),
    "other": frozenset(),
}
KINDS = tuple(KIND_LABELS)

# Nouns that only frame a "which/what N" question: the kind comes from them, the thing asked about does not.
# nouns that name a time: "what date/year…" asks for one; "that day/year…" points back to one (followup.py)
TIME_NOUNS = frozenset("date day year month time week decade century hour season".split())
_QUANTITY_NOUNS = frozenset("number amount percentage percent share proportion rate total sum figure price cost".split())
_FRAME_NOUNS = frozenset("name title designation term nickname kind type sort".split())
@dataclass
class Mention:
    text: str
    label: str
    lemmas: frozenset[str]  # lower-case lemmas of its words
    role: str  # agent / patient / other, relative to its verb
    verb: str | None  # lemma of that verb


@dataclass
class QuestionAnalysis:
    text: str
    wh: str  # who, what, which, when, where, why, how, how many, how much, or "" (yes/no and commands)
    kind: str  # one of KINDS
    focus: str = ""  # the noun of a "which/what/how many N" question ("airline", "coffee chain"), lower case
    verbs: tuple[str, ...] = ()  # lemmas of its content verbs, main verb first
    wh_role: str = "other"  # the role of the asked-for thing relative to the main verb
    mentions: list[Mention] = field(default_factory=list)  # its named entities
    terms: dict[str, float] = field(default_factory=dict)  # content lemmas → weight (rarer words weigh more)
    # what is asked about, without who or what it is about: the terms that are not names, dates or numbers, nor the
    # noun of "which N" ("eat", "breakfast" in "What did McConnell eat for breakfast?")
    predicate: dict[str, float] = field(default_factory=dict)
    years: frozenset[str] = frozenset()  # four-digit years it names

    @property
    def labels(self) -> frozenset[str]:
        return KIND_LABELS[self.kind]

    @property
    def main_verb(self) -> str | None:
        return self.verbs[0] if self.verbs else None


def content_lemmas(doc_or_span) -> set[str]:
    """Lower-case lemmas of the content words (nouns, verbs, adjectives, adverbs, names, numbers)."""
    return {lemma_of(t) for t in doc_or_span if is_content(t)}


def lemma_of(token) -> str:
    lemma = token.lemma_.lower() if token.pos_ != "PROPN" else token.text.lower()
    return lemma.strip("'’.") or token.text.lower()


def is_content(token) -> bool:
    return not token.is_stop and not token.is_punct and not token.is_space and token.pos_ in (
        "NOUN", "PROPN", "VERB", "ADJ", "ADV", "NUM") and any(c.isalnum() for c in token.text)


def analyse_question(question: str) -> QuestionAnalysis:
    doc = parse_one(question)
    wh_token = next((t for t in doc if t.tag_ in ("WP", "WDT", "WRB", "WP$")), None)
    wh = wh_token.lower_ if wh_token is not None else ""
    focus_token = None
    if wh == "how" and wh_token.i + 1 < len(doc) and doc[wh_token.i + 1].lower_ in ("many", "much"):
        wh = f"how {doc[wh_token.i + 1].lower_}"
        if wh == "how many":  # "How many (of the) workers …"
            after = doc[wh_token.i + 2] if wh_token.i + 2 < len(doc) and doc[wh_token.i + 2].lower_ == "of" else doc[wh_token.i + 1]
            focus_token = _noun_after(doc, after)
    start = wh_token  # the focus noun phrase starts after this token
    if wh in ("which", "what", "whose"):
        if wh_token.i + 1 < len(doc) and doc[wh_token.i + 1].lower_ == "of":  # "Which of the companies …"
            start = doc[wh_token.i + 1]
        focus_token = _noun_after(doc, start)  # "Which eastern German state …", "In what year …"
    if focus_token is None and wh in ("what", "which") and wh_token.dep_ in ("attr", "nsubj", "dobj", "pobj"):
        # "What is the name of the case …" / "What was the airline that …": the subject of the copula
        root = wh_token.head
        focus_token = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass") and c.pos_ == "NOUN"), None)
    if focus_token is not None and focus_token.lemma_.lower() in _FRAME_NOUNS:
        following = doc[focus_token.i + 1 :]  # "the name of the case": the noun after "of"
        if len(following) > 1 and following[0].lower_ == "of" and _noun_after(doc, following[0]) is not None:
            start, focus_token = following[0], _noun_after(doc, following[0])
    focus = ""
    if focus_token is not None:
        before = doc[start.i + 1 : focus_token.i] if focus_token.i > start.i else []
        focus = " ".join([*(t.lower_ for t in before if t.pos_ == "NOUN"), focus_token.lemma_.lower()])
    kind = _kind(wh, focus_token, doc)

    verbs = [t for t in doc if t.pos_ == "VERB" and t.dep_ not in ("aux", "auxpass", "amod")]
    verbs.sort(key=lambda t: (t.dep_ != "ROOT", t.i))
    wh_role = "other"
    if wh_token is not None:
        anchor = wh_token.head if wh_token.dep_ == "det" else wh_token  # "Which company issued …": the noun
        wh_role = semantic_role(anchor)
    mentions = []
    for ent in doc.ents:
        if ent.label_ == "ORDINAL" or (wh_token is not None and ent.start <= wh_token.i < ent.end):
            continue  # "what year" is the question, not a name in it
        verb = governing_verb(ent.root)
        mentions.append(Mention(ent.text, ent.label_, frozenset(lemma_of(t) for t in ent if is_content(t)),
                                semantic_role(ent.root), verb.lemma_.lower() if verb is not None else None))
    # Adverbs ("reportedly", "formally") hedge or qualify; articles rarely repeat them in the answering sentence.
    lemmas = [lemma_of(t) for t in doc if is_content(t) and t.pos_ != "ADV" and t.i != (wh_token.i if wh_token else -1)]
    weights = term_weights(sorted(set(lemmas)))
    years = frozenset(t.text for t in doc if t.like_num and len(t.text) == 4 and t.text[:2] in ("19", "20"))
    named = {t.i for ent in doc.ents for t in ent}
    framing = set(focus.split()) | _FRAME_NOUNS | TIME_NOUNS | _QUANTITY_NOUNS
    predicate = {lemma_of(t): weights[lemma_of(t)] for t in doc
                 if lemma_of(t) in weights and t.i not in named and t.pos_ in ("NOUN", "VERB", "ADJ")
                 and lemma_of(t) not in framing}
    return QuestionAnalysis(question, wh, kind, focus, tuple(dict.fromkeys(v.lemma_.lower() for v in verbs)), wh_role,
                            mentions, weights, predicate, years)


def _noun_after(doc, token):
    """The head noun of the noun phrase right after ``token`` ("which eastern German state" → state; "which
    Dana-Farber oncologist" → oncologist), read from the parts of speech, which the small parser gets right more
    often than the attachment of "which"; None when no noun follows ("what did …")."""
    run = []
    for t in doc[token.i + 1 :]:
        if t.pos_ in ("ADJ", "NOUN", "PROPN", "NUM", "DET") and t.lower_ not in ("the", "a", "an") or t.tag_ == "HYPH":
            run.append(t)
        elif t.lower_ in ("the", "a", "an") and not run:
            run.append(t)
        else:
            break
    nouns = [t for t in run if t.pos_ == "NOUN"] or [t for t in run[-1:] if t.pos_ == "PROPN"]  # "Which Republican"
    return nouns[-1] if nouns else None


def _kind(wh: str, focus_token, doc) -> str:
    if wh == "how many":
        return "count"
    if wh == "how much":
        return "quantity"
    if wh == "how":
        following = doc[doc[:].start + 1].lower_ if len(doc) > 1 else ""
        nxt = next((t for t in doc if t.tag_ == "WRB"), None)
        after = doc[nxt.i + 1].lower_ if nxt is not None and nxt.i + 1 < len(doc) else following
        return "quantity" if after in ("old", "long", "far", "big", "large", "tall", "high", "often", "fast") else "manner"
    if wh in ("who", "whom", "whose"):
        return "person"
    if wh == "when":
        return "time"
    if wh == "where":
        return "place"
    if wh == "why":
        return "reason"
    if wh in ("what", "which"):
        if focus_token is not None:
            noun = focus_token.lemma_.lower()
            if noun in TIME_NOUNS:
                return "time"
            if noun in _QUANTITY_NOUNS:
                return "quantity"
            if noun in ("reason", "cause", "motive", "explanation"):
                return "reason"
            return "entity"
        return "thing"
    return "other"
