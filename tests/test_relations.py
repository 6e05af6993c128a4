"""Who did what to whom (qa_bot.relations) on the real spaCy pipeline: a claim is rejected only where the article
gives its participants the opposite roles."""
import pytest

from qa_bot.relations import clauses, role_conflicts
from qa_bot.nlp import parse_one

ARTICLE = ["Vladimir Putin was greeted by Kim Jong-un on June 18 and 19.",
           "Putin welcomed Kim Jong Un to the Russian Far East in September.",
           "The firm raised prices twice last year.",
           "In Milan, top floors of tall office blocks shook."]


@pytest.mark.parametrize(("claim", "conflict"), [
    ("Kim Jong-un greeted Vladimir Putin.", False),  # the passive turned round: the same roles
    ("Putin was greeted by Kim.", False),
    ("Kim Jong-un hosted Putin in June.", False),  # another verb, the roles the article gives them
    ("Putin greeted Kim Jong-un in Pyongyang.", True),  # the case: the roles swapped
    ("Kim was greeted by Putin in June.", True),  # swapped through a passive
    ("Kim welcomed Putin to the Far East.", True),  # the other sentence's verb, swapped
    ("Kim Jong Un, who was greeted by Putin, smiled.", True),  # a relative clause stands for its noun
    ("Putin and his aides greeted Kim.", True),  # conjoined subjects share the role
    ("Putin arrived and greeted Kim.", True),  # conjoined verbs share the subject
    ("Prices rose twice last year.", False),  # no object: "rise" and "raise" take prices either way
    ("In Milan, top floors were shaken by the tremor.", False),  # the article's "floors shook" has no object either
    ("The police arrested a man in Lowdale.", False),
    ("The firm, which raised prices, cut prices at other firms.", False),  # agent and patient share a word  # nothing in the article says otherwise
])
def test_role_conflicts_table(claim, conflict):
    found = role_conflicts(claim, ARTICLE)
    assert bool(found) is conflict, found


def test_clauses_read_agents_and_patients_from_the_parse():
    (clause,) = clauses(parse_one("Vladimir Putin was greeted by Kim Jong-un."))
    assert clause.verb == "greet"
    assert [a.text for a in clause.agents] == ["Kim Jong-un"] and [p.text for p in clause.patients] == ["Vladimir Putin"]
    assert {"kim", "jong", "un"} <= clause.agents[0].words


def test_a_plural_common_noun_is_not_the_singular_participant():
    assert role_conflicts("Two local charities were thanked.", ["The charity thanked the mayor."]) == []
    assert role_conflicts("The charity was thanked.", ["The charity thanked the mayor."])


def test_a_conjoined_verb_keeps_its_own_passive_subject():
    greet = next(c for c in clauses(parse_one("Putin left Pyongyang, and Kim was greeted by crowds.")) if c.verb == "greet")
    assert [a.text for a in greet.agents] == ["crowds"] and [p.text for p in greet.patients] == ["Kim"]


def test_a_conflict_says_which_participant_changed_roles():
    (first, *_) = role_conflicts("Putin greeted Kim Jong-un.", ARTICLE)
    assert "Putin" in first and "agent" in first
