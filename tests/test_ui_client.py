"""The browser chat's endpoints through gradio_client (no browser): the app is built on fakes (hashed-word embedder,
scripted LLM, in-memory Chroma) and served in this process on a free localhost port."""
from __future__ import annotations

import html
import os
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from gradio_client import Client, handle_file  # noqa: E402

from qa_bot.records import Answer, Citation  # noqa: E402
from qa_bot.ui import build_app, highlighted_passage, launch_app, render_sources  # noqa: E402

from .conftest import REPO, FakeEmbedder, ScriptedGenerator  # noqa: E402
from .servers import free_port  # noqa: E402

VOLCANO = ("Volcano erupts near Lowdale\n\nThe Mount Ember volcano erupted on Tuesday, sending ash 5 kilometres high. "
           "Officials evacuated 1,200 residents from the village of Lowdale. Scientists said lava flows were slowing.")
BUDGET = ("# City budget passes\n\nThe city council approved a budget of 40 million dollars on Monday. "
          "The mayor said the money would fund new schools and repair roads.")
BEES_HTML = """<!doctype html><html><head><title>Rooftop bees thrive in Marlow</title>
<meta property="og:site_name" content="Marlow Herald">
<meta property="article:published_time" content="2024-04-11T08:00:00Z">
<link rel="canonical" href="https://marlow-herald.example/news/rooftop-bees"></head>
<body><nav>Home | News | Sport</nav><article><h1>Rooftop bees thrive in Marlow</h1>
<p>Beekeepers on the roof of Marlow library harvested 85 kilograms of honey this spring, the town council said.</p>
<p>The hives were installed three years ago by the volunteer group Marlow Pollinators, which tends eleven colonies.</p>
<p>Council officer Dev Patel said the honey would be sold at the Saturday market to fund the reading programme.</p>
</article><footer>Copyright Marlow Herald</footer></body></html>"""
XSS_JSONL = (
    '{"doc_id": "xss-harbour", "title": "Harbour <img src=x onerror=\\"window.__xss=4\\"> festival", '
    '"source": "Lowdale <b>Gazette</b>", "url": "javascript:window.__xss=5", "published": "2024-05-02", '
    '"text": "Harbour festival draws crowds. The Lowdale harbour festival drew 12,000 visitors on Saturday, the '
    'organisers said. <script>window.__xss=1</script> The lantern parade was led by the mayor, Ingrid Falk. '
    '<img src=x onerror=\\"window.__xss=2\\"> Fireworks closed the evening over the old lighthouse."}\n'
)


def reply(messages: list[dict]) -> str:
    """The scripted model: a rewrite for follow-ups, a supported answer for the questions the tests ask."""
    system, user = messages[0]["content"], messages[-1]["content"]
    if system.startswith("Rewrite"):
        return "How many were evacuated after the Mount Ember volcano erupted on Tuesday?"
    question = user.rsplit("Question:", 1)[-1]
    if "explode" in question:
        raise RuntimeError("llama context exploded")  # an unexpected failure deep in the stack
    if "residents" in question or "evacuated" in question:
        return "Officials evacuated 1,200 residents from Lowdale [1]."
    if "erupt" in question:
        return "The Mount Ember volcano erupted on Tuesday [1]."
    if "visitors" in question:
        return "The Lowdale harbour festival drew 12,000 visitors [1]."
    if "honey" in question:
        return "Beekeepers harvested 85 kilograms of honey [1]."
    return "The articles do not say."


class CountingGenerator(ScriptedGenerator):
    """Records how many calls run at the same time, to show that requests queue on the one model."""

    def __init__(self, replies):
        super().__init__(replies)
        self.active = 0
        self.most_active = 0
        self._lock = threading.Lock()

    def generate(self, messages, max_tokens, stop=()):
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            time.sleep(0.2)
            return super().generate(messages, max_tokens, stop)
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import chromadb

    from qa_bot.pipeline import Pipeline
    from qa_bot.settings import AnswerSettings, Settings

    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "volcano.txt").write_text(VOLCANO)
    (corpus / "budget.md").write_text(BUDGET)
    # wording="model": these tests drive the model (streaming, queueing, its errors), which extraction would skip
    settings = Settings(index_dir=root / "index", collection=f"ui{uuid.uuid4().hex[:10]}", 
                        answer=AnswerSettings(wording="model"), max_upload_mb=1, _env_file=None)
    generator = CountingGenerator(reply)
    pipeline = Pipeline(settings, embedder=FakeEmbedder(), generator=generator, client=chromadb.EphemeralClient())
    pipeline.ingest([corpus])
    demo = build_app(pipeline)
    url = launch_app(demo, pipeline, host="127.0.0.1", port=free_port(), block=False)
    yield url, pipeline, generator, root
    demo.close()


@pytest.fixture
def client(served):
    return Client(served[0], verbose=False)


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def ask(client: Client, question: str, **options) -> tuple[list[dict], str, list]:
    """Ask through /ask; returns the final chat, the sources HTML and every streamed update."""
    args = {"k": 5, "sources": [], "date_from": "", "date_to": "", "show_scores": False} | options
    job = client.submit(question, [], args["k"], args["sources"], args["date_from"], args["date_to"],
                        args["show_scores"], api_name="/ask")
    chat, sources = job.result(timeout=60)
    return chat, sources, job.outputs()


def library(client: Client, query: str = "") -> list[list]:
    return client.predict(query, api_name="/library")["data"]


# -- asking --------------------------------------------------------------------------------------------------------
def test_ask_streams_a_cited_answer_with_a_source_card(client):
    chat, sources, updates = ask(client, "How many residents did officials evacuate from Lowdale?", show_scores=True)
    answer = text_of(chat[-1])
    direct, quoted = answer.split("\n\n")  # the model's verified wording, then the sentence it rests on
    assert direct == "Officials evacuated 1,200 residents from Lowdale [1]."
    assert quoted == ("From the article “Volcano erupts near Lowdale”: "
                      "“Officials evacuated 1,200 residents from the village of Lowdale.” [1]")
    streamed = [text_of(u[0][-1]) for u in updates if u[0]]
    assert "Searching the articles…" in streamed
    partial = [s for s in streamed if s and answer.startswith(s.strip()) and s.strip() != answer]
    assert len(partial) >= 3, f"the answer arrived in one piece, not streamed: {streamed}"
    assert 'data-state="answered"' in sources and 'data-doc-id="volcano"' in sources
    assert "<mark>Officials evacuated 1,200 residents from the village of Lowdale.</mark>" in sources
    assert "[1]" in sources and "fused " in sources  # the card's label, and the scores asked for


def test_declined_answer_shows_related_passages_not_sources(client):
    chat, sources, _ = ask(client, "Who won the football world cup in Brazil?")
    assert "do not say" in text_of(chat[-1])
    assert 'data-state="declined"' in sources and "related, not sources" in sources
    assert "Sources" not in sources and "[1]" not in sources


def test_each_session_keeps_its_own_history_and_clear_is_per_session(served):
    url, *_ = served
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    ask(first, "When did the Mount Ember volcano erupt?")
    _, sources, _ = ask(second, "And how many were evacuated?")  # no history in this session: nothing to rewrite
    assert "Searched for" not in sources
    _, sources, _ = ask(first, "And how many were evacuated?")  # this session's history makes it a follow-up
    assert "Searched for: How many were evacuated?" in sources and 'data-doc-id="volcano"' in sources


def test_requests_queue_on_the_one_model(served):
    url, _, generator, _ = served
    generator.most_active = 0
    clients = [Client(url, verbose=False) for _ in range(3)]
    jobs = [c.submit("How many residents did officials evacuate from Lowdale?", [], 5, [], "", "", False,
                     api_name="/ask") for c in clients]
    answers = [text_of(job.result(timeout=60)[0][-1]).split("\n\n")[0] for job in jobs]
    assert answers == ["Officials evacuated 1,200 residents from Lowdale [1]."] * 3
    assert generator.most_active == 1


def test_errors_are_sentences_not_tracebacks(client):
    chat, sources, _ = ask(client, "   ")
    assert chat == [] and "Type a question first." in sources
    chat, sources, _ = ask(client, "Which residents?", date_from="last week")
    assert "write it as YYYY-MM-DD" in sources and "Traceback" not in sources
    chat, sources, _ = ask(client, "x " * 800)
    assert "the limit is 1,000" in sources
    chat, sources, _ = ask(client, "How many residents did officials evacuate from Lowdale before it could explode?")
    assert "Something went wrong on the server" in sources and "exploded" not in sources
    assert "Something went wrong" in text_of(chat[-1]) and "RuntimeError" not in text_of(chat[-1])


def test_source_and_date_filters_narrow_what_is_searched(client):
    question = "How many residents did officials evacuate from Lowdale?"
    _, sources, _ = ask(client, question, sources=["Marlow Herald"])
    assert 'data-state="declined"' in sources and 'data-doc-id="volcano"' not in sources
    _, sources, _ = ask(client, question, date_from="2030-01-01")
    assert 'data-state="declined"' in sources and 'data-doc-id="volcano"' not in sources
    _, sources, _ = ask(client, question)
    assert 'data-doc-id="volcano"' in sources


# -- library -------------------------------------------------------------------------------------------------------
def test_upload_lists_the_article_answers_from_it_and_delete_removes_it(client, tmp_path):
    page = tmp_path / "rooftop bees.html"
    page.write_text(BEES_HTML)
    status, rows, *_ = client.predict([handle_file(page)], "", None, api_name="/upload")
    assert "1 added" in status
    row = next(r for r in rows["data"] if r[-1] == "rooftop_bees")
    assert row[:4] == ["Rooftop bees thrive in Marlow", "Marlow Herald", "2024-04-11", 1]
    assert [r[-1] for r in library(client, "marlow")] == ["rooftop_bees"]

    chat, sources, _ = ask(client, "How much honey did the beekeepers harvest?")
    assert "85 kilograms" in text_of(chat[-1]) and text_of(chat[-1]).endswith("[1]")
    assert 'data-doc-id="rooftop_bees"' in sources
    assert 'href="https://marlow-herald.example/news/rooftop-bees"' in sources

    status, rows, *_ = client.predict("rooftop_bees", "", api_name="/delete")
    assert "Deleted rooftop_bees" in status and all(r[-1] != "rooftop_bees" for r in rows["data"])
    status, *_ = client.predict("rooftop_bees", "", api_name="/delete")
    assert "There is no article rooftop_bees" in status


def test_upload_reports_bad_files_and_keeps_the_good_ones(client, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Bridge reopens in Lowdale\n\nThe old stone bridge in Lowdale reopened on Friday after repairs.")
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    status, rows, *_ = client.predict([handle_file(good), handle_file(empty)], "", None, api_name="/upload")
    assert "1 added" in status and "empty.txt: the file is empty" in status
    assert any(r[-1] == "good" for r in rows["data"])


def test_upload_names_cannot_point_outside_the_upload_folder(served, client):
    url, pipeline, _, root = served
    target = f"qa-bot-escape-{uuid.uuid4().hex[:8]}"
    hostile = "../" * 12 + f"tmp/{target}.txt"
    response = httpx.post(f"{url}gradio_api/upload", files={
        "files": (hostile, b"Escape attempt\n\nThe pier in Lowdale was closed on Monday after a storm damaged it.")})
    assert response.status_code == 200
    stored = Path(response.json()[0])
    assert stored.name == f"{target}.txt" and ".." not in stored.parts
    assert not Path(f"/tmp/{target}.txt").exists()
    status, rows, *_ = client.predict([{"path": str(stored), "meta": {"_type": "gradio.FileData"}}], "", None,
                                      api_name="/upload")
    assert "1 added" in status and any(r[-1] == target for r in rows["data"])

    # A path on the server that was never uploaded is refused before the handler runs.
    secret = root / "secret-memo.txt"
    secret.write_text("Secret memo\n\nThe launch code is 1234 and nobody may know it.")
    started = httpx.post(f"{url}gradio_api/call/upload",
                         json={"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}], "", None]})
    events = httpx.get(f"{url}gradio_api/call/upload/{started.json()['event_id']}", timeout=30).text
    assert "event: error" in events
    assert pipeline.store().document("secret-memo") is None


def test_oversize_upload_is_refused_by_the_server(served, client, tmp_path):
    url, pipeline, _, _ = served
    big = tmp_path / "big.txt"
    big.write_text("Huge article\n\n" + "The council met again on Monday to discuss the harbour. " * 30_000)  # ~1.7 MB
    response = httpx.post(f"{url}gradio_api/upload", files={"files": ("big.txt", big.read_bytes())})
    assert response.status_code == 413
    assert "maximum allowed size" in response.text
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client reads the limit too
        client.predict([handle_file(big)], "", None, api_name="/upload")
    assert pipeline.store().document("big") is None


def test_markup_in_articles_is_escaped_everywhere(client, tmp_path):
    feed = tmp_path / "xss.jsonl"
    feed.write_text(XSS_JSONL)
    status, rows, *_ = client.predict([handle_file(feed)], "", None, api_name="/upload")
    assert "1 added" in status
    chat, sources, _ = ask(client, "How many visitors did the Lowdale harbour festival draw?")
    answer = text_of(chat[-1])
    assert "12,000 visitors" in answer and "<" not in answer
    assert 'data-doc-id="xss-harbour"' in sources
    for markup in ("<script", "<img", "<b>", "onerror=\"", "javascript:"):
        assert markup not in sources, markup
    assert "Harbour &lt;img src=x onerror=&quot;window.__xss=4&quot;&gt; festival" in sources
    assert "Lowdale &lt;b&gt;Gazette&lt;/b&gt;" in sources


# -- summaries -----------------------------------------------------------------------------------------------------
def test_summaries_of_an_article_are_cached_and_shown_in_the_library(served, client):
    _, _, generator, _ = served
    summary, note = client.predict("volcano", "One line", api_name="/summarize_article")
    assert "Mount Ember" in summary or "Lowdale" in summary
    assert note
    calls = len(generator.prompts)
    again, _ = client.predict("volcano", "One line", api_name="/summarize_article")
    assert again == summary and len(generator.prompts) == calls  # the cached line, no model call
    status, table = client.predict("volcano", "", api_name="/summarize_library")
    assert summary in status
    assert next(r for r in table["data"] if r[-1] == "volcano")[4] == summary


def test_summaries_of_pasted_text_and_readable_errors(client):
    summary, _ = client.predict(BUDGET, "One line", api_name="/summarize_text")
    assert "budget" in summary.lower()
    summary, note = client.predict("   ", "One line", api_name="/summarize_text")
    assert summary == "" and "There is no text to summarise" in note  # a sentence, capitalised
    summary, note = client.predict("no-such-article", "Paragraph", api_name="/summarize_article")
    assert summary == "" and "no article 'no-such-article'" in html.unescape(note)
    summary, note = client.predict(None, "One line", api_name="/summarize_article")
    assert "Pick an article first" in note
    summary, note = client.predict("", "One line", "volcano", api_name="/summarize_text")
    assert summary == "" and "The paste box is empty" in note and "Summarise the article" in html.unescape(note)


# -- serving -------------------------------------------------------------------------------------------------------
def test_a_password_protected_app_refuses_strangers(served):
    _, pipeline, _, _ = served
    demo = build_app(pipeline)
    url = launch_app(demo, pipeline, host="127.0.0.1", port=free_port(), auth=("alice", "s3cret"), block=False)
    try:
        assert httpx.get(f"{url}config").status_code == 401
        with pytest.raises(Exception):
            Client(url, verbose=False)
        assert library(Client(url, auth=("alice", "s3cret"), verbose=False), "volcano")[0][-1] == "volcano"
    finally:
        demo.close()


def test_app_refuses_a_public_address_without_a_password(monkeypatch, capsys):
    import runpy

    monkeypatch.delenv("QA_BOT_AUTH", raising=False)
    main = runpy.run_path(str(REPO / "app.py"))["main"]
    assert main(["--host", "0.0.0.0"]) == 2
    assert "--auth user:pass" in capsys.readouterr().err
    assert main(["--host", "0.0.0.0", "--auth", "alice"]) == 2
    assert "user:pass" in capsys.readouterr().err


# -- rendering -----------------------------------------------------------------------------------------------------
def test_source_cards_escape_and_only_link_web_addresses():
    citation = Citation(n=1, doc_id="d<1>", title="<b>Title</b>", url="javascript:alert(1)", chunk_id="c",
                        quote="Quote with <i>markup</i>.", source="S & Co", published="2024-01-02",
                        passage="Before. Quote with <i>markup</i>. After.")
    shown = render_sources(Answer(question="q", text="t [1]", declined=False, citations=[citation]))
    assert "<b>" not in shown and "<i>" not in shown and "javascript:" not in shown and "href" not in shown
    assert "&lt;b&gt;Title&lt;/b&gt;" in shown and '<div class="qa-meta">S &amp; Co · 2024-01-02</div>' in shown
    assert "<mark>Quote with &lt;i&gt;markup&lt;/i&gt;.</mark>" in shown


def test_highlighted_passage_trims_to_whole_sentences_around_the_quote():
    passage = " ".join(f"Filler sentence number {i}." for i in range(40))
    shown = highlighted_passage(passage, "Filler sentence number 20.", context=80)
    assert shown.startswith("…Filler sentence number") and shown.endswith(" …")
    assert "<mark>Filler sentence number 20.</mark>" in shown
    assert "number 1." not in shown and "number 39." not in shown
    assert highlighted_passage("A passage  over\ntwo lines.", "passage over two lines.") == (
        "A <mark>passage over<br>two lines.</mark>")


def test_a_heading_keeps_its_own_line_and_related_passages_are_not_marked_as_citations():
    passage = "The visit was kept secret\n\nThe itinerary was not made public. Seoul is on alert."
    shown = highlighted_passage(passage, "The itinerary was not made public.")
    assert shown == "The visit was kept secret<br><mark>The itinerary was not made public.</mark> Seoul is on alert."
    related = highlighted_passage(passage, "Seoul is on alert.", related=True)
    assert "<mark>" not in related and '<span class="qa-closest">Seoul is on alert.</span>' in related
