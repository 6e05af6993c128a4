"""The Gradio chat: built by :func:`build_app` from a pipeline; nothing launches on import and no state lives at
module level. Article text is untrusted, so everything taken from an article is HTML-escaped before it is shown."""
from __future__ import annotations

import html
import re
import shutil
import tempfile
from pathlib import Path

from .errors import QABotError
from .load import SUPPORTED_SUFFIXES
from .pipeline import Pipeline
from .records import Answer, Citation
from .retrieve import Filters

CSS = """
.qa-sources { display: flex; flex-direction: column; gap: .6rem; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
           background: var(--background-fill-secondary); overflow-wrap: anywhere; max-width: 100%; box-sizing: border-box; }
.qa-card h4 { margin: 0 0 .2rem 0; font-size: 1rem; }
.qa-meta { color: var(--body-text-color-subdued); font-size: .85rem; margin-bottom: .3rem; }
.qa-passage { font-size: .9rem; line-height: 1.4; white-space: pre-wrap; }
.qa-passage mark { background: #ffe58a; color: #111; padding: 0 .1rem; }
.qa-declined { border-left: 4px solid #d97706; padding-left: .6rem; }
.qa-error { color: #b91c1c; font-weight: 600; }
"""


def _esc(text: str | None) -> str:
    return html.escape(text or "", quote=True)


def render_card(c: Citation, label: str, show_scores: bool = False, score: str = "") -> str:
    title = _esc(c.title or c.doc_id)
    if c.url and re.match(r"https?://", c.url):
        title = f'<a href="{_esc(c.url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    meta = " · ".join(_esc(x) for x in (c.source, c.published, c.doc_id) if x)
    passage = c.passage or c.quote
    at = passage.find(c.quote) if c.quote else -1
    if at >= 0:
        body = _esc(passage[:at]) + "<mark>" + _esc(c.quote) + "</mark>" + _esc(passage[at + len(c.quote):])
    else:
        body = "<mark>" + _esc(c.quote) + "</mark>"
    extra = f' <span class="qa-meta">{_esc(score)}</span>' if show_scores and score else ""
    return (f'<div class="qa-card" data-doc-id="{_esc(c.doc_id)}"><h4>{label} {title}</h4>'
            f'<div class="qa-meta">{meta}{extra}</div><div class="qa-passage">{body}</div></div>')


def render_sources(answer: Answer, show_scores: bool = False) -> str:
    if answer.declined:
        cards = "".join(render_card(c, "Related:", show_scores) for c in answer.related)
        return (f'<div class="qa-sources qa-declined"><p><strong>No source answers this.</strong> '
                f'Closest passages (not sources):</p>{cards}</div>')
    scores = {h.chunk.chunk_id: f"fused {h.score:.4f}" + (f", cosine {h.dense_score:.2f}" if h.dense_score else "")
              for h in answer.hits}
    cards = "".join(render_card(c, f"[{c.n}]", show_scores, scores.get(c.chunk_id, "")) for c in answer.citations)
    return f'<div class="qa-sources"><p><strong>Sources</strong> ({_esc(answer.path)})</p>{cards}</div>'


def error_html(err: Exception) -> str:
    message = str(err) if isinstance(err, QABotError) else "Something went wrong while answering; please try again."
    return f'<p class="qa-error">{_esc(message)}</p>'


def build_app(pipeline: Pipeline, upload_dir: Path | None = None):
    import gradio as gr

    settings = pipeline.settings
    upload_root = Path(upload_dir or tempfile.mkdtemp(prefix="qa-bot-uploads-"))
    max_bytes = settings.max_upload_mb * 2**20

    def respond(message: str, chat: list, history: list, k: int, sources: list, date_from: str, date_to: str,
                show_scores: bool):
        chat = list(chat or [])
        chat.append({"role": "user", "content": _esc(message)})
        chat.append({"role": "assistant", "content": "…"})
        yield chat, history, "", "<p>Searching…</p>"
        try:
            filters = Filters(tuple(sources or ()), date_from.strip() or None, date_to.strip() or None)
            text = ""
            answer = None
            for event in pipeline.ask_stream(message, history=[tuple(h) for h in history], filters=filters, k=int(k)):
                if event.kind == "token":
                    text += event.text
                    chat[-1] = {"role": "assistant", "content": _esc(text)}
                    yield chat, history, "", gr.skip()
                elif event.kind == "answer":
                    answer = event.answer
            chat[-1] = {"role": "assistant", "content": _esc(answer.text)}
            history = list(history) + [[answer.standalone_question or message, answer.text]]
            yield chat, history, "", render_sources(answer, show_scores)
        except Exception as err:  # shown as a readable message, never a stack trace
            chat[-1] = {"role": "assistant", "content": _esc(str(err) if isinstance(err, QABotError) else "Sorry, something went wrong.")}
            yield chat, history, "", error_html(err)

    def library_rows(query: str = ""):
        q = (query or "").casefold()
        rows = []
        for r in pipeline.documents():
            if q and q not in f"{r.doc_id} {r.title} {r.source}".casefold():
                continue
            rows.append([r.doc_id, r.title, r.source, r.published or "", r.n_chunks])
        return rows

    def doc_choices():
        return [(f"{r.title or r.doc_id} ({r.doc_id})", r.doc_id) for r in pipeline.documents()]

    def upload(files, progress=gr.Progress()):
        if not files:
            return "<p>No files chosen.</p>", library_rows(), gr.update(choices=doc_choices())
        session_dir = Path(tempfile.mkdtemp(dir=upload_root))
        saved, problems = [], []
        for f in progress.tqdm(files, desc="Indexing"):
            src = Path(f if isinstance(f, str) else f.name)
            name = Path(src.name).name  # a bare file name: nothing in it can point outside the upload folder
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(f"{name}: unsupported type {suffix or '(none)'} (use .txt, .md, .html or .jsonl)")
                continue
            if src.stat().st_size > max_bytes:
                problems.append(f"{name}: larger than {settings.max_upload_mb} MB")
                continue
            target = session_dir / re.sub(r"[^\w.\-]+", "_", name)
            shutil.copyfile(src, target)
            saved.append(target)
        report = pipeline.ingest(saved) if saved else None
        lines = [f"<p>{_esc(report.summary())}</p>"] if report else []
        issues = problems + [f"{Path(i.path).name}: {i.message}" for i in (report.issues if report else [])]
        if issues:
            lines.append("<ul>" + "".join(f"<li>{_esc(x)}</li>" for x in issues) + "</ul>")
        return "".join(lines), library_rows(), gr.update(choices=doc_choices())

    def delete_doc(doc_id: str, query: str):
        try:
            ok = pipeline.delete(doc_id.strip())
            msg = f"Deleted {doc_id}." if ok else f"No article with id {doc_id}."
        except QABotError as err:
            msg = str(err)
        return f"<p>{_esc(msg)}</p>", library_rows(query), gr.update(choices=doc_choices())

    def summarize_doc(doc_id: str, length: str):
        if not doc_id:
            return "Pick an article first."
        try:
            return pipeline.summarize_document(doc_id, "paragraph" if length == "Paragraph" else "short").text
        except QABotError as err:
            return f"Error: {err}"

    def summarize_text(text: str, length: str):
        try:
            return pipeline.summarize_text(text or "", "", "paragraph" if length == "Paragraph" else "short").text
        except QABotError as err:
            return f"Error: {err}"

    with gr.Blocks(title="qa-bot") as demo:
        gr.Markdown("## qa-bot — ask the news articles")
        history = gr.State([])
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(label="Chat", height=420, elem_id="chat", sanitize_html=True)
            with gr.Row():
                question = gr.Textbox(placeholder="Ask about the articles…", show_label=False, scale=5,
                                      elem_id="question", max_length=settings.max_question_chars)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                clear = gr.Button("Clear", scale=1, elem_id="clear")
            sources_html = gr.HTML(elem_id="sources")
            with gr.Accordion("Settings", open=False):
                k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Passages to retrieve")
                source_filter = gr.Dropdown(choices=[], multiselect=True, label="Only these sources")
                date_from = gr.Textbox(label="Published from (YYYY-MM-DD)")
                date_to = gr.Textbox(label="Published to (YYYY-MM-DD)")
                show_scores = gr.Checkbox(label="Show retrieval scores", value=False)
        with gr.Tab("Library"):
            search = gr.Textbox(label="Search articles", elem_id="library-search")
            table = gr.Dataframe(headers=["doc_id", "title", "source", "published", "chunks"],
                                 value=library_rows, interactive=False, elem_id="library", wrap=True)
            files = gr.File(file_count="multiple", label="Add articles (.txt, .md, .html, .jsonl)",
                            file_types=sorted(SUPPORTED_SUFFIXES), elem_id="upload")
            upload_status = gr.HTML(elem_id="upload-status")
            with gr.Row():
                delete_id = gr.Textbox(label="Document id to delete", scale=3)
                delete_btn = gr.Button("Delete", variant="stop", scale=1)
        with gr.Tab("Summarise"):
            with gr.Row():
                pick = gr.Dropdown(choices=doc_choices(), label="Article", elem_id="pick-article", scale=3)
                length = gr.Radio(["One line", "Paragraph"], value="One line", label="Length", scale=1)
            summarise_btn = gr.Button("Summarise article", elem_id="summarise-article")
            paste = gr.Textbox(lines=6, label="…or paste text", elem_id="paste")
            summarise_text_btn = gr.Button("Summarise text", elem_id="summarise-text")
            summary_out = gr.Textbox(label="Summary", elem_id="summary", interactive=False)

        inputs = [question, chatbot, history, k, source_filter, date_from, date_to, show_scores]
        outputs = [chatbot, history, question, sources_html]
        send.click(respond, inputs, outputs, concurrency_id="model", concurrency_limit=1, api_name="ask")
        question.submit(respond, inputs, outputs, concurrency_id="model", concurrency_limit=1, api_name=False)
        clear.click(lambda: ([], [], "", ""), None, [chatbot, history, question, sources_html], api_name=False)
        search.change(library_rows, search, table, api_name="library")
        files.upload(upload, files, [upload_status, table, pick], api_name="upload")
        delete_btn.click(delete_doc, [delete_id, search], [upload_status, table, pick], api_name="delete")
        summarise_btn.click(summarize_doc, [pick, length], summary_out, concurrency_id="model",
                            concurrency_limit=1, api_name="summarize_article")
        summarise_text_btn.click(summarize_text, [paste, length], summary_out, concurrency_id="model",
                                 concurrency_limit=1, api_name="summarize_text")
        demo.load(lambda: gr.update(choices=sorted({r.source for r in pipeline.documents() if r.source})), None,
                  source_filter, api_name=False)
        demo.load(lambda: gr.update(choices=doc_choices()), None, pick, api_name=False)
    demo.queue(default_concurrency_limit=4)
    return demo
