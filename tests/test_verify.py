"""Unit tests of answer verification and question kinds (no index, no model)."""
import pytest

from qa_bot.answer import split_answer_sentences, verify_sentence
from qa_bot.chunk import split_sentences
from qa_bot.evidence import (
    Evidence,
    answer_type_match,
    asked_predicate,
    focus_noun,
    main_clause,
    new_names,
    proper_names,
    question_kind,
    select_evidence,
)
from qa_bot.records import Chunk
from qa_bot.text import stem

TEXT = ("Monday, the world's largest coffee chain announced the change at all its stores. "
        "Starbucks said customers must now buy something to use its cafes and restrooms. "
        "The new rules were posted in Seattle, where Starbucks was founded.")


def evidence(text: str = TEXT) -> list[Evidence]:
    chunk = Chunk(chunk_id="c1", doc_id="d1", text=text, start=0, end=len(text), index=0,
                  title="Coffee chain rules")
    return [Evidence(chunk, s.start, s.end, 0) for s in split_sentences(text)]


@pytest.mark.parametrize(("question", "kind"), [
    ("Which coffee chain announced the change?", "entity"),
    ("In which country did they meet?", "entity"),
    ("What is the name of the case?", "entity"),
    ("What did the company announce?", "other"),
    ("What reason did the company give?", "why"),
    ("Before the vote, whom had she met?", "who"),
    ("Who announced the change?", "who"),
    ("When did the rules change?", "when"),
    ("How many stores changed?", "number"),
    ("Roughly how many stores changed?", "number"),
    ("Until what date will the rules apply?", "date"),
    ("According to the company, why did the rules change?", "why"),
])
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def test_a_name_at_the_start_of_a_sentence_counts_when_it_is_a_name_elsewhere():
    assert "starbucks" not in proper_names("Starbucks said so.")
    assert "starbucks" in proper_names("Starbucks said so.", frozenset({"starbucks"}))
    assert answer_type_match("entity", "Starbucks [1].", "Which coffee chain announced it?", frozenset({"starbucks"}))
    assert not answer_type_match("entity", "The world's largest coffee chain.", "Which coffee chain announced it?")


def test_entity_question_needs_a_name_in_the_answer():
    question = "Which coffee chain announced that customers must buy something?"
    verdict = verify_sentence("The coffee chain announced customers must buy something to use its cafes.",
                              question, evidence(), 0.75)
    assert not verdict.supported and "name" in verdict.reason
    verdict = verify_sentence("Starbucks said customers must buy something.", question, evidence(), 0.75)
    assert verdict.supported and verdict.evidence[0].text.startswith("Starbucks")


def test_a_draft_describing_the_evidence_is_not_an_answer():
    verdict = verify_sentence("The evidence is a post about Starbucks customers and cafes.",
                              "Which coffee chain announced that customers must buy something?", evidence(), 0.75)
    assert not verdict.supported and "evidence" in verdict.reason


def test_answer_sentences_keep_abbreviations_whole():
    assert split_answer_sentences("The case is Carpenter v. United States [1]. Rep. Ed Royce said so.") == [
        "The case is Carpenter v. United States [1].", "Rep. Ed Royce said so."]


def test_names_that_do_not_name_the_thing_asked_for():
    question = "Which coffee chain announced the change in its North Korean stores?"
    # a modifier, a weekday, and a form of a word of the question are not an answer
    assert new_names("The Seattle-based coffee chain announced it Wednesday in North Korea.", question) == set()
    assert new_names("Starbucks announced it.", question, frozenset({"starbucks"})) == {"starbucks"}
    # hyphenated surnames are still names
    assert "ros-lehtinen" in new_names("It was opposed by Representative Ileana Ros-Lehtinen.", "Who opposed it?")


def test_a_weekday_is_not_the_date_asked_for():
    question = "Until what date will the state of emergency last?"
    assert not answer_type_match("date", "The government declared a state of emergency Thursday.", question)
    assert answer_type_match("date", "The state of emergency will last until March 3.", question)
    assert answer_type_match("date", "The ban applies from Jan. 15, 2027.", question)


def test_what_a_question_asks_about():
    # In the stems qa_bot compares words by (whatever the stemmer makes of them), not a stemmer's spelling.
    def stems(*words):
        return {stem(w) for w in words}

    assert asked_predicate("What did Senator Ann Lee eat for breakfast on the day of the vote?") == stems("eat",
                                                                                                        "breakfast")
    # the noun after "which" is the kind of answer, not something the answer repeats
    assert focus_noun("Which coffee chain announced the change?") == stems("coffee", "chain")
    assert asked_predicate("Which coffee chain announced the change?") == stems("announced", "change")
    # and the stems are word forms' common root: the answer's "announces" or "changes" meets them
    assert stems("announces", "changes") == stems("announced", "change")
    # a leading phrase set off by a comma only places the question
    assert main_clause("Before his trip in June, whom had the president gone to meet there?").startswith("whom had")


def test_a_true_sentence_that_does_not_answer_what_was_asked_is_rejected():
    text = ("Senator Ann Lee voted against the four immigration proposals on Thursday. "
            "The proposals failed after weeks of debate in the Senate.")
    question = "What did Senator Ann Lee eat for breakfast on the Thursday of the vote?"
    verdict = verify_sentence("Senator Ann Lee voted against the four immigration proposals.", question,
                              evidence(text), 0.75)
    assert not verdict.supported and verdict.reason == "does not answer what was asked"


def test_a_why_answer_must_give_a_reason():
    text = ("Two representatives voted against the bill on Friday. "
            "They voted against it because it did not include action for young immigrants.")
    question = "Why did the two representatives vote against the bill?"
    assert not verify_sentence("The two representatives voted against the bill on Friday.", question,
                               evidence(text), 0.75).supported
    assert verify_sentence("They voted against it because it did not include action for young immigrants.",
                           question, evidence(text), 0.75).supported


def test_near_duplicate_sentences_take_one_evidence_slot():
    import numpy as np
    from qa_bot.records import Hit

    first = "Manufacturers must stop using the dye in food by Jan. 15, 2027, the agency said."
    copy = "Manufacturers must stop using the dye in food by Jan. 15, 2027, the agency said on Wednesday."
    other = "Drug makers have until Jan. 18, 2028 to stop using the dye."
    hits = [Hit(chunk=Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", text=t, start=0, end=len(t), index=0, title="Dye ban"),
                score=1.0 - i / 10) for i, t in enumerate([first, copy, other])]
    ranked = select_evidence("By what date must manufacturers stop using the dye?", hits,
                             lambda texts: np.ones((len(texts), 2)) / np.sqrt(2), np.ones(2) / np.sqrt(2))
    assert [ev.text for ev in ranked] == [first, other]


def test_middling_evidence_is_quoted_only_when_its_sentence_answers_by_itself():
    from qa_bot.answer import answers_by_itself

    text = ("Ann Lee, the city's chief engineer, is leading the delegation at the bridge talks. "
            "The talks will resume on Monday after a week of delays.")
    best = evidence(text)[0]
    assert answers_by_itself(best, "Who led the delegation at the bridge talks?")
    # the same sentence for a question it does not answer: no new name of what was asked, or nothing of the predicate
    assert not answers_by_itself(best, "Who chaired the budget committee's hearing on the talks?")
    assert not answers_by_itself(best, "What did the delegation eat at the talks?")  # untyped: needs a verified draft
