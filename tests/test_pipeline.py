"""Ingest, store, retrieve and answer on fakes (EphemeralClient, hashed-word embedder, scripted LLM)."""
import pytest

from qa_bot.errors import EmbedderMismatchError, IndexNotFoundError, QuestionError
from qa_bot.retrieve import Filters

from .conftest import SEED, ScriptedGenerator


def write_corpus(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "volcano.txt").write_text(
        "Volcano erupts near village\n\nThe Mount Ember volcano erupted on Tuesday, sending ash 5 kilometres high. "
        "Officials evacuated 1,200 residents from the village of Lowdale. Scientists said lava flows were slowing.")
    (folder / "budget.md").write_text(
        "# City budget passes\n\nThe city council approved a budget of 40 million dollars on Monday. "
        "The mayor said the money would fund new schools and repair roads.")
    return folder


def test_ingest_is_idempotent_and_replaces_changed_files(make_pipeline, tmp_path):
    folder = write_corpus(tmp_path)
    p = make_pipeline()
    first = p.ingest([folder])
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    chunks = p.stats()["chunks"]
    again = p.ingest([folder])
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 2, 0)
    assert p.stats()["chunks"] == chunks
    (folder / "budget.md").write_text("# City budget fails\n\nThe council rejected the budget on Friday.")
    changed = p.ingest([folder])
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 1)
    texts = [c.text for c in p.store().document_chunks("budget")]
    assert texts and all("40 million" not in t for t in texts)
    assert p.stats()["docs"] == 2


def test_delete_and_stats(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    assert p.stats()["docs"] == 2
    assert p.delete("volcano")
    assert not p.delete("volcano")
    assert p.stats()["docs"] == 1
    assert all(c.doc_id == "budget" for c in p.store().iter_chunks())


def test_hybrid_retrieval_finds_the_right_article_and_filters(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path), SEED])
    hits = p.retriever.search("How many residents were evacuated from Lowdale?", k=3)
    assert hits[0].chunk.doc_id == "volcano"
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None
    only_seed = p.retriever.search("residents evacuated", k=3, filters=Filters(date_from="2024-01-01"))
    assert {h.chunk.doc_id for h in only_seed} <= {"000_b060f3c20b339b0c"}


def test_a_failure_on_the_bm25_side_reaches_the_caller(make_pipeline, tmp_path, monkeypatch):
    # the BM25 search runs in a worker thread beside the dense query: its errors must not vanish there
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    lexical = p.retriever.lexical_index

    def broken(*args, **kwargs):
        raise RuntimeError("bm25 index unreadable")

    monkeypatch.setattr(lexical, "search", broken)
    with pytest.raises(RuntimeError, match="bm25 index unreadable"):
        p.retriever.search("How many residents were evacuated from Lowdale?")


def test_the_answer_is_short_then_the_sentence_it_comes_from_cited(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["Officials evacuated 1,200 residents from Lowdale [2]."])
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("How many residents did officials evacuate from Lowdale?")
    assert not answer.declined and answer.path == "extracted"
    assert "1,200" in answer.direct and len(answer.direct.split()) <= 25
    assert answer.quote == "Officials evacuated 1,200 residents from the village of Lowdale."
    assert answer.citations[0].doc_id == "volcano" and answer.citations[0].quote == answer.quote
    direct_part, quoted_part = answer.text.split("\n\n")
    assert direct_part.startswith(answer.direct) and direct_part.endswith("[1].")
    assert quoted_part == f"From the article “Volcano erupts near village”: “{answer.quote}” [1]"
    assert not llm.prompts and "generate_s" not in answer.timings  # the article's words: no model asked


def test_the_model_s_wording_is_shown_only_when_its_facts_are_in_the_cited_sentence(make_pipeline, tmp_path):
    good = ScriptedGenerator(["1,200 residents [1]"])
    p = make_pipeline(generator=good, wording="model")
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("How many residents did officials evacuate from Lowdale?")
    assert answer.path == "generated" and answer.direct == "1,200 residents" and not answer.fallback
    assert "Lowdale" in good.prompts[0][-1]["content"] and "1,200 residents" in good.prompts[0][-1]["content"]

    for wrong in ("5,000 residents", "Donald Trump evacuated them"):  # a number, then a name, not in the sentence
        p2 = make_pipeline(generator=ScriptedGenerator([wrong]), wording="model", collection=p.settings.collection)
        answer = p2.ask("How many residents did officials evacuate from Lowdale?")
        assert answer.path == "extracted" and "1,200" in answer.direct and wrong not in answer.text
        assert answer.fallback and "not used" in answer.fallback


def test_question_with_no_evidence_is_declined_with_related_passages(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["Donald Trump."])
    p = make_pipeline(generator=llm, wording="model")
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("Who is the president of France?")
    assert answer.declined and answer.path == "declined" and not answer.citations and not answer.direct
    assert "do not say" in answer.text
    assert not llm.prompts  # the model is not even asked


def test_bad_questions_and_missing_index(make_pipeline, tmp_path, settings):
    from qa_bot.pipeline import Pipeline

    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    with pytest.raises(QuestionError, match="empty"):
        p.ask("   ")
    with pytest.raises(QuestionError, match="20,000 characters"):
        p.ask("x" * 20_000)
    empty = Pipeline(settings.model_copy(update={"index_dir": tmp_path / "nowhere"}), embedder=p.embedder)
    with pytest.raises(IndexNotFoundError, match="qa-bot ingest"):
        empty.ask("anything?")


def test_index_refuses_another_embedder(make_pipeline, tmp_path, settings, ephemeral_client):
    from qa_bot.pipeline import Pipeline

    from .conftest import FakeEmbedder

    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    other = FakeEmbedder()
    other.name = "another-model"
    with pytest.raises(EmbedderMismatchError, match="built with the embedder 'fake-embedder'"):
        Pipeline(settings, embedder=other, client=ephemeral_client).ask("volcano?")


def test_a_follow_up_is_rewritten_and_looked_up_in_the_previous_answer_s_article(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    first = p.ask("How many residents did officials evacuate from Lowdale?")
    answer = p.ask("Which volcano forced them out?", history=[first.as_turn()])
    assert answer.standalone_question and "them" not in answer.standalone_question.split()
    assert answer.hits[0].chunk.doc_id == "volcano"  # searched first in the article the first answer cited


def test_an_unrelated_question_after_an_answer_is_not_rewritten(make_pipeline, tmp_path):
    p = make_pipeline()
    p.ingest([write_corpus(tmp_path)])
    first = p.ask("How many residents did officials evacuate from Lowdale?")
    answer = p.ask("What budget did the city council approve on Monday?", history=[first.as_turn()])
    assert answer.standalone_question is None
    assert not answer.declined and answer.citations[0].doc_id == "budget"


def test_summary_is_cached_per_content_and_model(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["The Mount Ember volcano erupted on Tuesday and officials evacuated 1,200 residents."])
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    first = p.summarize_document("volcano")
    assert first.text.startswith("The Mount Ember volcano erupted") and first.path == "generated"
    second = p.summarize_document("volcano")
    assert second.text == first.text and len(llm.prompts) == 1
