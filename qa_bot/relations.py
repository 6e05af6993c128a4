"""Who did what to whom: a check that a model's sentence keeps the roles the article gives its participants.

A small model rewording "Putin was greeted by Kim Jong-un" may write "Putin greeted Kim Jong-un": every name is in the
article, every word too, and the checks on names and numbers pass. What changed is who is the agent and who the
patient of the verb. This module reads both roles from spaCy's dependency parse (passives turned round, shared
subjects of conjoined verbs, relative pronouns resolved to their noun) and reports a claim whose roles the article
has only the other way round.

Only what the article contradicts is reported, not what it fails to support: a claim "A v B" is rejected when the
article has B acting on A and never A acting on B, or when A fills only the opposite role of the same verb. A
clause without an object ("Prices rose"), in the claim or in the article, contradicts nothing, since many verbs take
the same noun as subject or object ("the firm raised prices" / "prices rose", "floors shook" / "floors were shaken").
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .nlp import NAME_LABELS, SUBJECT_DEPS, governing_verb, parse, parse_one, semantic_role

@dataclass(frozen=True)
class Participant:
    words: frozenset[str]  # lower-case words and lemmas; two participants are the same if they share one
    text: str  # as written

    def same(self, others: Sequence[Participant]) -> bool:
        return any(self.words & other.words for other in others)


@dataclass
class Clause:
    """One verb and the participants the parse gives it."""

    verb: str  # lemma
    text: str  # the verb as written
    agents: list[Participant] = field(default_factory=list)
    patients: list[Participant] = field(default_factory=list)


def _participant(token) -> Participant | None:
    """The words that name the participant ``token`` stands for, and how it reads; None for a pronoun or a word that
    names nothing (a relative pronoun stands for the noun its clause describes: "Kim, who greeted Putin")."""
    if token.tag_ in ("WP", "WDT") and token.head.dep_ == "relcl":
        token = token.head.head
    if token.ent_iob_ != "O" and token.ent_type_ in NAME_LABELS:
        ent = next(e for e in token.doc.ents if e.start <= token.i < e.end)
        words = frozenset(w for t in ent if t.is_alpha and not t.is_stop for w in _forms(t))
        return Participant(words, ent.text) if words else None
    if token.pos_ == "PROPN" and token.is_alpha:
        return Participant(frozenset(_forms(token)), token.text)
    if token.pos_ == "NOUN" and token.is_alpha:
        # a common noun as written: "the charity" and "charities" are not the same participant
        return Participant(frozenset({token.lower_}), token.text)
    return None


def _forms(token) -> tuple[str, str]:
    # a name's word and its lemma: the parse may read "Seafoods" as a name in one sentence and a plural in another
    return token.lower_, token.lemma_.lower()


def _role_and_verb(token):
    """``token``'s role and verb; a conjunct ("Putin and Kim signed…") takes the role of the first one."""
    first, seen = token, 0
    while first.dep_ == "conj" and first.head is not first and seen < 8:
        first, seen = first.head, seen + 1
    role = semantic_role(first)
    if role == "other" or first.head is first:
        return role, None
    return role, governing_verb(first.head)


def clauses(doc) -> list[Clause]:
    """The clauses of a parsed text, with the named or nominal participants of each verb."""
    by_verb: dict[int, Clause] = {}
    for token in doc:
        role, verb = _role_and_verb(token)
        if verb is None:
            continue
        participant = _participant(token)
        if participant is None:
            continue
        clause = by_verb.setdefault(verb.i, Clause(verb.lemma_.lower(), verb.text))
        (clause.agents if role == "agent" else clause.patients).append(participant)
    # "Putin arrived and greeted Kim": the second verb shares the first one's subject, if it has none of its own
    # ("…, and ships were sent": that one is passive)
    for i, clause in list(by_verb.items()):
        verb = doc[i]
        has_subject = any(c.dep_ in SUBJECT_DEPS for c in verb.children)
        if not clause.agents and not has_subject and verb.dep_ == "conj" and verb.head.i in by_verb:
            clause.agents.extend(by_verb[verb.head.i].agents)
    return list(by_verb.values())


def role_conflicts(claim: str, sources: Sequence[str]) -> list[str]:
    """What ``claim`` says about who did what to whom that ``sources`` (article sentences) say the other way round;
    empty when nothing is contradicted."""
    source_clauses = [c for doc in parse([s for s in sources if s.strip()]) for c in clauses(doc)]
    problems: list[str] = []
    for clause in clauses(parse_one(claim)):
        for agent in clause.agents:
            for patient in clause.patients:
                if agent.same([patient]):
                    continue
                forward = any(agent.same(s.agents) and patient.same(s.patients) for s in source_clauses)
                backward = any(patient.same(s.agents) and agent.same(s.patients) for s in source_clauses)
                if backward and not forward:
                    problems.append(f"it has “{agent.text} {clause.text} {patient.text}”; the article has it the "
                                    f"other way round")
        if not clause.patients:
            continue  # "Prices rose": no object, no role to contradict (see the module's docstring)
        same_verb = [s for s in source_clauses if s.verb == clause.verb]
        for role, parts in (("agent", clause.agents), ("patient", clause.patients)):
            for part in parts:
                if part.same(clause.patients if role == "agent" else clause.agents):
                    continue  # "the charity helps charities": which of the two the article means cannot be told
                same = part.same([p for s in same_verb for p in (s.agents if role == "agent" else s.patients)])
                # the article's subject of a verb without an object contradicts nothing either ("the floors shook"
                # for "the floors were shaken")
                other = part.same([p for s in same_verb
                                   for p in (s.patients if role == "agent" else s.agents if s.patients else [])])
                if other and not same:
                    reverse = "patient" if role == "agent" else "agent"
                    problems.append(f"it makes {part.text} the {role} of “{clause.text}”; the article makes it the "
                                    f"{reverse}")
    return list(dict.fromkeys(problems))


__all__ = ["Clause", "Participant", "clauses", "role_conflicts"]
