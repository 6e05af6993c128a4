"""The browser chat's handlers called directly, without a server: each refresh reads the document registry once,
and an upload goes through Pipeline.ingest under its cleaned file name."""
from __future__ import annotations

from qa_bot.ui.handlers import Handlers

from .test_pipeline import write_corpus


def test_a_refresh_reads_the_registry_once(make_pipeline, tmp_path, monkeypatch):
    pipeline = make_pipeline()
    pipeline.ingest([write_corpus(tmp_path)])
    reads = []
    real = pipeline.documents
    monkeypatch.setattr(pipeline, "documents", lambda: reads.append(1) or real())
    handlers = Handlers(pipeline)

    rows, picker, summarise_picker, sources, header = handlers.refreshed("budget", selected="volcano")
    assert len(reads) == 1
    assert [r[-1] for r in rows] == ["budget"] and picker["value"] == "volcano"
    assert {v for _, v in summarise_picker["choices"]} == {"budget", "volcano"} and "2 indexed articles" in header
    handlers.loaded()
    assert len(reads) == 2


def test_an_upload_is_ingested_under_its_cleaned_name(make_pipeline, tmp_path, monkeypatch):
    pipeline = make_pipeline()
    upload = tmp_path / "client dir" / "Harbour news!.txt"
    upload.parent.mkdir()
    upload.write_text("Harbour reopens\n\nThe harbour of Lowdale reopened on Friday after the storm.")
    ingested = []
    real = pipeline.ingest
    monkeypatch.setattr(pipeline, "ingest", lambda *a, **k: ingested.append((a, k)) or real(*a, **k))

    status, rows, *_ = Handlers(pipeline).upload([str(upload)], "", None, progress=lambda *a, **k: None)
    assert "1 added" in status and len(ingested) == 1
    assert [r[-1] for r in rows] == ["Harbour_news_"]  # the bare name, cleaned; never the client's folder


def test_sources_note_says_why_the_article_s_words_are_shown():
    from qa_bot.records import Answer, Citation
    from qa_bot.ui.render import render_sources

    cite = Citation(n=1, doc_id="volcano", title="Volcano", url="", chunk_id="volcano:0",
                    quote="Officials evacuated 1,200 residents.")
    answer = Answer(question="How many?", text="1,200 [1].", declined=False, citations=[cite], path="extracted",
                    direct="1,200", quote=cite.quote)
    assert "own words)</span>" in render_sources(answer)  # no model was asked: nothing more to say
    answer.fallback = "the question is too long for the model to word the answer"
    assert "own words: the question is too long for the model" in render_sources(answer)  # asked, and why not used
