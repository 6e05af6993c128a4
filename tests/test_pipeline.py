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


def test_answer_cites_the_supporting_sentence(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["Officials evacuated 1,200 residents from Lowdale [2]."])
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("How many residents did officials evacuate from Lowdale?")
    assert answer.path == "generated" and not answer.declined
    assert answer.text == "Officials evacuated 1,200 residents from Lowdale [1]."
    assert answer.citations[0].doc_id == "volcano"
    assert "1,200 residents" in answer.citations[0].quote
    # the model saw numbered evidence, and the question
    prompt = llm.prompts[0][-1]["content"]  # the last turn; the prompt's worked example comes before it
    assert "[1]" in prompt and "Lowdale?" in prompt


def test_unsupported_draft_falls_back_to_a_quoted_sentence(make_pipeline, tmp_path):
    # Every word but the number is in the evidence: only the number check can catch it.
    p = make_pipeline(generator=ScriptedGenerator(["Officials evacuated 5000 residents from the village of Lowdale [1]."]))
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("How many residents did officials evacuate from Lowdale?")
    assert answer.path == "extractive"
    assert "5000" not in answer.text
    assert "1,200 residents" in answer.text and answer.text.endswith("[1]")
    assert any("not in the evidence: ['5000']" in n for n in answer.notes), answer.notes

    p2 = make_pipeline(generator=ScriptedGenerator(["Donald Trump evacuated the residents of Lowdale [1]."]),
                       collection=p.settings.collection)
    answer = p2.ask("How many residents did officials evacuate from Lowdale?")
    assert answer.path == "extractive" and "Trump" not in answer.text


def test_strong_evidence_is_quoted_without_asking_the_model(make_pipeline, tmp_path):
    # The default (prefer_quotes): at or above extract_threshold the best sentence is the answer, and no time is
    # spent generating — the draft below would have verified, and is never asked for.
    llm = ScriptedGenerator(["Officials evacuated 1,200 residents from Lowdale [1]."])
    p = make_pipeline(generator=llm, prefer_quotes=True)
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("How many residents did officials evacuate from Lowdale?")
    assert answer.path == "extractive" and not answer.declined
    assert "“Officials evacuated 1,200 residents from the village of Lowdale.” [1]" in answer.text
    assert answer.citations[0].doc_id == "volcano"
    assert not llm.prompts and "generate_s" not in answer.timings


def test_a_quote_that_misses_the_question_falls_back_to_the_model(make_pipeline, tmp_path):
    # Strong evidence that does not mention what was asked is not quoted; the model's draft is checked instead, and
    # when it does not verify either, the bot declines.
    llm = ScriptedGenerator(["The village of Lowdale was evacuated [1]."])
    p = make_pipeline(generator=llm, prefer_quotes=True)
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("What music did the Lowdale band play during the evacuation?")
    assert len(llm.prompts) == 1
    assert "the best passages do not mention what was asked" in answer.notes
    assert answer.declined and answer.path == "declined"


def test_question_with_no_evidence_is_declined_with_related_passages(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["Donald Trump."])
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    answer = p.ask("Who is the president of France?")
    assert answer.declined and answer.path == "declined" and not answer.citations
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


def test_follow_up_is_rewritten_before_retrieval(make_pipeline, tmp_path):
    def reply(messages):
        if "Rewrite" in messages[0]["content"]:
            return "How many residents did officials evacuate from Lowdale after the Mount Ember volcano erupted?"
        return "Officials evacuated 1,200 residents from Lowdale [1]."

    p = make_pipeline(generator=ScriptedGenerator(reply))
    p.ingest([write_corpus(tmp_path)])
    history = [("When did the Mount Ember volcano erupt?", "On Tuesday [1].")]
    answer = p.ask("And how many residents were evacuated?", history=history)
    assert answer.standalone_question and "Mount Ember" in answer.standalone_question
    assert answer.citations and answer.citations[0].doc_id == "volcano"


def test_summary_is_cached_per_content_and_model(make_pipeline, tmp_path):
    llm = ScriptedGenerator(["The Mount Ember volcano erupted on Tuesday and officials evacuated 1,200 residents."])
    p = make_pipeline(generator=llm)
    p.ingest([write_corpus(tmp_path)])
    first = p.summarize_document("volcano")
    assert first.text.startswith("The Mount Ember volcano erupted") and first.path == "generated"
    second = p.summarize_document("volcano")
    assert second.text == first.text and len(llm.prompts) == 1
