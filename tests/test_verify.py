"""Unit tests of answer verification and question kinds (no index, no model)."""
import pytest

from qa_bot.answer import split_answer_sentences, verify_sentence
from qa_bot.chunk import split_sentences
from qa_bot.evidence import Evidence, answer_type_match, proper_names, question_kind
from qa_bot.records import Chunk

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
    ("What reason did the company give?", "other"),
    ("Who announced the change?", "who"),
    ("When did the rules change?", "when"),
    ("How many stores changed?", "number"),
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
