"""The answering subpackage's parts, each on its own: the decision table, question analysis, the wording checks,
the attribution, and follow-up rewriting."""
from __future__ import annotations

import pytest

from qa_bot.answering.compose import answer_text, attribution
from qa_bot.answering.decision import Outcome, Signals, decide
from qa_bot.answering.followup import rewrite
from qa_bot.answering.model import Thresholds
from qa_bot.answering.question import analyse_question
from qa_bot.answering.verify import check_wording, clean_wording
from qa_bot.records import Chunk, Turn

CUTS = Thresholds(answer=0.5, span=0.3, quote=0.7, followup=0.5)


@pytest.mark.parametrize(("sentence", "span", "expected"), [
    (0.9, 0.8, Outcome.ANSWER),
    (0.5, 0.3, Outcome.ANSWER),  # both at their thresholds: answer
    (0.9, 0.29, Outcome.QUOTE),  # the sentence answers, but no span clearly does
    (0.9, None, Outcome.QUOTE),  # no candidate span at all
    (0.7, None, Outcome.QUOTE),  # at the quote threshold
    (0.6, 0.29, Outcome.DECLINE),  # likely enough for a clear span, not for a quote with none
    (0.49, 0.99, Outcome.DECLINE),  # a confident span in an unlikely sentence is still a decline
    (0.0, None, Outcome.DECLINE),
])
def test_decision_table(sentence, span, expected):
    assert decide(Signals(sentence, span), CUTS) is expected


@pytest.mark.parametrize(("question", "kind"), [
    ("Who greeted Vladimir Putin?", "person"),
    ("Whom did Biden award the medal?", "person"),
    ("When did Amazon buy PillPack?", "time"),
    ("In what year did Amazon enter China?", "time"),
    ("On what date was the government due to run out of money?", "time"),
    ("How many people died in the crash?", "count"),
    ("How much did the company pay?", "quantity"),
    ("Where was the summit held?", "place"),
    ("Why did the Dreamers protest?", "reason"),
    ("Which airline did the department sue?", "entity"),
    ("What is the name of the case the court decided?", "entity"),
    ("What did Russia give North Korea?", "thing"),
])
def test_question_kind_comes_from_the_question_word(question, kind):
    assert analyse_question(question).kind == kind


def test_roles_are_read_from_the_parse_and_passives_turned_round():
    active = analyse_question("Who greeted Vladimir Putin?")
    passive = analyse_question("Who was greeted by Putin?")
    assert active.main_verb == passive.main_verb == "greet"
    assert active.wh_role == "agent" and passive.wh_role == "patient"
    assert [m.role for m in active.mentions] == ["patient"]
    assert [m.role for m in passive.mentions] == ["agent"]


@pytest.mark.parametrize(("question", "focus"), [
    ("How many firefighters were hurt in the blaze?", "firefighter"),
    ("How many of the miners were rescued?", "miner"),
    ("Which eastern German state voted first?", "state"),
    ("How many did the club sign?", ""),
])
def test_the_focus_is_the_noun_asked_about_or_counted(question, focus):
    assert analyse_question(question).focus == focus


def test_a_span_without_a_number_is_told_from_one_with_it():
    from qa_bot.answering.spans import span_candidates, span_signals
    from qa_bot.nlp import parse_one

    qa = analyse_question("When did the tornado strike Parker City?")
    doc = parse_one("Thursday's storms came weeks before the anniversary of the tornado of April 3, 1974.")
    spans = {s.text: s for s in span_candidates(doc)}
    assert span_signals(qa, doc, spans["April 3, 1974"], set(qa.terms))["has_number"] == 1.0
    assert span_signals(qa, doc, spans["Thursday"], set(qa.terms))["has_number"] == 0.0


def test_kind_labels_follow_the_usual_mapping():
    assert analyse_question("Who won?").labels == {"PERSON", "ORG", "NORP"}
    assert analyse_question("When did it open?").labels == {"DATE", "TIME"}
    assert "MONEY" in analyse_question("How much did it cost?").labels


QUESTION = analyse_question("Which company recalled the canned tuna?")
SENTENCE = "Tri-Union Seafoods issued a voluntary recall of canned tuna sold under four brand names on Feb. 7."


@pytest.mark.parametrize(("wording", "problem"), [
    ("Tri-Union Seafoods", None),
    ("The company Tri-Union Seafoods", None),
    ("Bumble Bee Foods", "names"),  # a name the sentence does not have
    ("Tri-Union Seafoods, on Feb. 9", "numbers"),  # a number it does not have
    ("The company recalled the canned tuna", "repeats the question"),
    ("", "empty"),
    ("Tri-Union " + "very " * 30 + "Seafoods", "longer"),
    ("The recall issued Tri-Union Seafoods", "other way round"),  # who did what to whom, turned round
])
def test_wording_checks(wording, problem):
    found = check_wording(wording, QUESTION, SENTENCE, "Tri-Union Seafoods")
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_clean_wording_drops_markers_and_lead_ins():
    assert clean_wording("Answer: Tri-Union Seafoods [1]") == "Tri-Union Seafoods"
    assert clean_wording("“Tri-Union Seafoods”") == "Tri-Union Seafoods"


def _chunk(**kw) -> Chunk:
    base = dict(chunk_id="c1", doc_id="d1", text="x", start=0, end=1, index=0,
                title="North Korea: Vladimir Putin was greeted by Kim Jong-un on June 18 and 19")
    base.update(kw)
    return Chunk(**base)


def test_attribution_names_the_publisher_or_quotes_the_title_never_a_speaker():
    assert attribution(_chunk(source="Le Parisien", published="2024-06-17")) == "Le Parisien, 2024-06-17"
    titled = attribution(_chunk())
    assert titled.startswith("the article “North Korea:") and titled.endswith("”")
    text = answer_text("Expertise for its satellite program", "Russia provided …", _chunk(source="Le Parisien"), 1)
    assert text.startswith("Expertise for its satellite program [1].\n\nFrom Le Parisien: “Russia provided …” [1]")
    assert "According to" not in text


PREVIOUS = Turn("Which Kremlin spokesman told Tass in December 2018 that a Putin trip to Washington was unlikely?",
                "Dmitry Peskov", ("d1",))


@pytest.mark.parametrize(("question", "previous", "expected"), [
    ("What did he say about the summit?", PREVIOUS, "What did Dmitry Peskov say about the summit?"),
    ("What was his title?", PREVIOUS, "What was Dmitry Peskov’s title?"),
    ("And when?", Turn("Who finished second to Kirsty Coventry in the IOC election?", "Juan Antonio Samaranch Jr."),
     "When did Juan Antonio Samaranch Jr. finish second to Kirsty Coventry in the IOC election?"),
    ("And on what date?", Turn("Which stadium was picked to host the final?", "MetLife Stadium"),
     "On what date was MetLife Stadium picked to host the final?"),
    ("What about China?", Turn("How much were U.S. farm exports to Mexico worth in 2024?", "$30.3 billion"),
     "How much were U.S. farm exports to China worth in 2024?"),
])
def test_rewrite_makes_one_standalone_question(question, previous, expected):
    assert rewrite(question, previous) == expected


def test_word_vectors_cache_keeps_what_it_returns_when_it_fills_up():
    import numpy as np

    from qa_bot.answering.evidence import WordVectors

    embedded: list[str] = []

    def embed(words):
        embedded.extend(words)
        return np.array([[float(len(w))] for w in words])

    vectors = WordVectors(embed, size=3)
    assert set(vectors(["give", "say"])) == {"give", "say"}
    # "give" is cached, "provide" and "offer" are not: the cache is full and starts again, and "give" is still answered
    got = vectors(["give", "provide", "offer"])
    assert list(got) == ["give", "provide", "offer"] and got["provide"][0] == 7.0
    assert embedded == ["give", "say", "offer", "provide"]  # nothing embedded twice within a call
