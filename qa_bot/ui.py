"""The browser chat, built by :func:`build_app` from a pipeline and served by :func:`launch_app`.

Nothing launches on import and no state lives at module level: each browser session keeps its own chat history in a
``gr.State``, and every model call goes through one concurrency group, so several people queue on the one model.

Article text is untrusted. Everything taken from an article (answer text, titles, sources, passages) is HTML-escaped
here before Gradio sees it; the Chatbot renders no Markdown and Gradio's own sanitiser is only a second line."""
from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from .answer import AnswerEvent
from .errors import IndexNotFoundError, QABotError
from .load import JSONL_SUFFIXES, SUPPORTED_SUFFIXES, load_file, slug_id
from .records import Answer, Citation, Hit
from .retrieve import Filters

if TYPE_CHECKING:
    from .pipeline import Pipeline

log = logging.getLogger(__name__)

LENGTHS = {"One line": "short", "Paragraph": "paragraph"}
LIBRARY_HEADERS = ["Title", "Source", "Date", "Chunks", "One-line summary", "ID"]
CONTEXT_CHARS = 320  # passage text shown on each side of the cited sentence
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SAFE_NAME_RE = re.compile(r"[^\w.\-]+")
_ABSOLUTE_PATH_RE = re.compile(r"(?<![\w:/.~])~?/(?:[^\s/'\"`]+/)*([^\s/'\"`;,]+)/?")  # group 1: the last part
_URL_CREDENTIALS_RE = re.compile(r"(?<=://)[^/@\s]+@")
_SENTENCE_END_RE = re.compile(r"[.!?][”\"’)]?\s")

CSS = """
.qa-sources { display: flex; flex-direction: column; gap: .6rem; min-width: 0; }
.qa-sources > p { margin: 0; }
.qa-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
           background: var(--background-fill-secondary); color: var(--body-text-color);
           overflow-wrap: anywhere; max-width: 100%; box-sizing: border-box; }
.qa-card h4 { margin: 0 0 .2rem 0; font-size: 1rem; line-height: 1.3; }
.qa-card h4 a { color: var(--link-text-color); }
.qa-label { font-weight: 700; margin-right: .4rem; }
.qa-declined .qa-label { font-weight: 600; font-size: .75rem; text-transform: uppercase; letter-spacing: .04em;
                         border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 .3rem;
                         color: var(--body-text-color-subdued); vertical-align: middle; }
.qa-meta { color: var(--body-text-color-subdued); font-size: .85rem; margin-bottom: .3rem; }
.qa-passage { font-size: .92rem; line-height: 1.45; margin: 0; }
.qa-passage mark { background: #fde68a; color: #1f2937; padding: 0 .1rem; border-radius: 2px; }
.qa-declined > p { border-left: 4px solid #d97706; padding-left: .6rem; }
.qa-error { color: var(--error-text-color, #b91c1c); font-weight: 600; margin: .3rem 0; }
.qa-note { color: var(--body-text-color-subdued); margin: .3rem 0; }
.qa-note ul { margin: .2rem 0 0 1.2rem; }
#chat .message { overflow-wrap: anywhere; }
#chat .placeholder { padding: 0 1.5rem; text-align: center; color: var(--body-text-color-subdued); }
#library .table-wrap, #library .table-wrap * { font-family: var(--font); }
#ask-row button { align-self: stretch; }
"""


# -- rendering (pure functions: tested without a server) ------------------------------------------------------------
def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def chat_text(text: str) -> str:
    """Chat bubble content: escaped, so an article's markup shows as text; the [n] markers stay as typed."""
    return html.escape(text or "", quote=False)


def highlighted_passage(passage: str, quote: str, context: int = CONTEXT_CHARS) -> str:
    """The passage around the cited sentence, escaped, with the sentence in <mark>. Whitespace may differ between the
    quote and the passage (the quote is one line), so both are compared with whitespace collapsed."""
    passage = " ".join(passage.split())  # one compact paragraph: the card is read beside the answer
    quote = " ".join(quote.split())
    start = passage.find(quote) if quote else -1
    if start < 0:
        return f"<mark>{esc(quote)}</mark>" if quote else esc(passage[: 2 * context])
    end = start + len(quote)
    before = passage[max(0, start - context) : start]
    after = passage[end : end + context]
    if start > context:  # start at a sentence (or else a word) and show that text was left out
        boundary = _SENTENCE_END_RE.search(before)
        before = "…" + (before[boundary.end():] if boundary else before.split(" ", 1)[-1])
    if end + context < len(passage):
        ends = list(_SENTENCE_END_RE.finditer(after))
        after = (after[: ends[-1].end()].rstrip() if ends else after.rsplit(" ", 1)[0]) + " …"
    return f"{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}"


def score_line(hit: Hit | None) -> str:
    if hit is None:
        return ""
    parts = [f"fused {hit.score:.4f}"]
    if hit.dense_score is not None:
        parts.append(f"cosine {hit.dense_score:.2f}")
    if hit.dense_rank is not None:
        parts.append(f"dense #{hit.dense_rank}")
    if hit.lexical_rank is not None:
        parts.append(f"BM25 #{hit.lexical_rank}")
    return ", ".join(parts)


def render_card(citation: Citation, label: str, score: str = "") -> str:
    title = esc(citation.title or citation.doc_id)
    if citation.url and re.match(r"https?://", citation.url, re.IGNORECASE):
        title = f'<a href="{esc(citation.url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    meta = " · ".join(esc(x) for x in (citation.source, citation.published, citation.doc_id) if x)
    if score:
        meta += f' · <span class="qa-score">{esc(score)}</span>'
    return (f'<div class="qa-card" data-doc-id="{esc(citation.doc_id)}">'
            f'<h4><span class="qa-label">{esc(label)}</span>{title}</h4><div class="qa-meta">{meta}</div>'
            f'<p class="qa-passage">{highlighted_passage(citation.passage or citation.quote, citation.quote)}</p></div>')


def render_sources(answer: Answer, show_scores: bool = False) -> str:
    hits = {h.chunk.chunk_id: h for h in answer.hits}

    def score(c: Citation) -> str:
        return score_line(hits.get(c.chunk_id)) if show_scores else ""

    rewritten = (f'<p class="qa-note">Searched for: {esc(answer.standalone_question)}</p>'
                 if answer.standalone_question else "")
    if answer.declined:
        cards = "".join(render_card(c, "Related", score(c)) for c in answer.related)
        lead = ("<p><strong>No article answers this.</strong> The closest passages are below; they are related, "
                "not sources.</p>" if cards else "<p><strong>No article answers this.</strong></p>")
        return f'<div class="qa-sources qa-declined" data-state="declined">{rewritten}{lead}{cards}</div>'
    how = ("quoted from the article; the model's own wording did not pass the checks"
           if answer.path == "extractive" else "every sentence checked against its source")
    cards = "".join(render_card(c, f"[{c.n}]", score(c)) for c in answer.citations)
    return (f'<div class="qa-sources" data-state="answered">{rewritten}<p><strong>Sources</strong> '
            f'<span class="qa-meta">({esc(how)})</span></p>{cards}</div>')


def public_text(message: str) -> str:
    """A library message made fit for the browser: absolute paths cut to their last part, passwords in URLs removed.
    The CLI shows the full message; the browser belongs to whoever reaches the server."""
    message = _URL_CREDENTIALS_RE.sub("", message)
    return _ABSOLUTE_PATH_RE.sub(lambda m: m.group(1), message)


def user_message(err: BaseException) -> str:
    """What a person is told when something fails: our own errors say how to fix it; anything else is logged with
    its traceback on the server and shown as one plain sentence."""
    if isinstance(err, QABotError):
        return public_text(str(err))
    log.exception("unexpected error in the UI", exc_info=err)
    return "Something went wrong on the server (the details are in its log); please try again."


def readable_errors(fn: Callable) -> Callable:
    """For handlers whose outputs have no room for a message: a failure shows as Gradio's error toast, one sentence."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            raise gr.Error(user_message(err)) from None

    return wrapper


def error_html(message: str) -> str:
    return f'<p class="qa-error" role="alert">{esc(message)}</p>'


def note_html(lines: Sequence[str], items: Sequence[str] = ()) -> str:
    body = "".join(f"<p>{esc(line)}</p>" for line in lines)
    if items:
        body += "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul>"
    return f'<div class="qa-note">{body}</div>'


def parse_filters(sources: list[str] | None, date_from: str, date_to: str) -> Filters:
    dates = []
    for label, value in (("from", date_from), ("to", date_to)):
        value = (value or "").strip()
        if value and not _DATE_RE.fullmatch(value):
            raise QABotError(f"the 'published {label}' date {value!r} is not a date; write it as YYYY-MM-DD")
        dates.append(value or None)
    return Filters(tuple(sources or ()), dates[0], dates[1])


def safe_upload_name(path: str) -> str:
    """The bare file name of an upload, reduced to safe characters: it becomes the document id, never a path."""
    name = _SAFE_NAME_RE.sub("_", Path(path).name).strip("._")
    return name or "upload"


# -- the app -------------------------------------------------------------------------------------------------------
def build_app(pipeline: Pipeline) -> gr.Blocks:
    """Build (not launch) the Gradio app around ``pipeline``; all state is per session or in the pipeline."""
    settings = pipeline.settings
    max_upload_bytes = settings.max_upload_mb * 2**20

    # -- chat --------------------------------------------------------------------------------------------------------
    def respond(message: str, chat: list[dict], history: list[list[str]], k: int, sources: list[str],
                date_from: str, date_to: str, show_scores: bool) -> Iterator[tuple]:
        question = (message or "").strip()
        chat = list(chat or [])
        if not question:
            yield chat, history, message, error_html("Type a question first.")
            return
        chat.append({"role": "user", "content": chat_text(question)})
        chat.append({"role": "assistant", "content": "Searching the articles…"})
        yield chat, history, "", ""
        try:
            filters = parse_filters(sources, date_from, date_to)
            events: Iterator[AnswerEvent] = pipeline.ask_stream(
                question, history=[(q, a) for q, a in history or []], filters=filters, k=int(k))
            text, answer = "", None
            for event in events:
                if event.kind == "status" and not text:
                    chat[-1] = {"role": "assistant", "content": chat_text(event.text)}
                elif event.kind == "token":
                    text += event.text
                    chat[-1] = {"role": "assistant", "content": chat_text(text)}
                elif event.kind == "answer":
                    answer = event.answer
                    continue
                yield chat, history, "", gr.skip()
            if answer is None:
                raise RuntimeError("the answer stream ended without an answer")
            chat[-1] = {"role": "assistant", "content": chat_text(answer.text)}
            history = [*(history or []), [answer.standalone_question or question, answer.text]]
            yield chat, history, "", render_sources(answer, bool(show_scores))
        except Exception as err:  # noqa: BLE001 — a person sees a sentence, never a stack trace
            message_text = ("the library is empty: add articles in the Library tab (or with qa-bot ingest PATH)"
                            if isinstance(err, IndexNotFoundError) else user_message(err))
            chat[-1] = {"role": "assistant", "content": chat_text(f"Sorry — {message_text}")}
            yield chat, history, "", error_html(message_text)

    def clear_chat() -> tuple:
        return [], [], "", ""

    # -- library -----------------------------------------------------------------------------------------------------
    def records() -> list:
        return pipeline.documents()

    def library_rows(query: str = "") -> list[list[Any]]:
        needle = (query or "").casefold().strip()
        rows = []
        for r in records():
            if needle and needle not in f"{r.title} {r.source} {r.doc_id} {r.published or ''}".casefold():
                continue
            rows.append([r.title or r.doc_id, r.source, r.published or "", r.n_chunks,
                         pipeline.cached_summary(r) or "", r.doc_id])
        return rows

    def require_article(doc_id: str | None) -> str:
        doc_id = (doc_id or "").strip()
        if not doc_id:
            raise QABotError("pick an article first: click its row in the table or choose it from the list")
        if pipeline.store().document(doc_id) is None:
            raise QABotError(f"there is no article {doc_id!r} in the library; choose one from the list")
        return doc_id

    def article_choices() -> list[tuple[str, str]]:
        return [(f"{r.title or r.doc_id} ({r.doc_id})", r.doc_id) for r in records()]

    def source_choices() -> list[str]:
        return sorted({r.source for r in records() if r.source})

    def header_text() -> str:
        docs = records()
        chunks = sum(r.n_chunks for r in docs)
        return (f"**qa-bot** — answers from {len(docs)} indexed article{'s' * (len(docs) != 1)} ({chunks} passages), "
                "each sentence checked against the article it cites. Runs on this machine; nothing leaves it.")

    def refreshed(query: str, selected: str | None = None) -> tuple:
        """Everything that lists articles, after the library changed."""
        choices = article_choices()
        ids = {v for _, v in choices}
        keep = selected if selected in ids else None
        return (library_rows(query), gr.update(choices=choices, value=keep), gr.update(choices=choices),
                gr.update(choices=source_choices()), header_text())

    def expected_documents(path: Path) -> int:
        if path.suffix.lower() in JSONL_SUFFIXES:
            with path.open("rb") as handle:
                return max(1, sum(1 for line in handle if line.strip()))
        return 1

    def upload(files: list[str] | None, query: str, selected: str | None,
               progress: gr.Progress = gr.Progress()) -> tuple:
        paths = [Path(f) for f in files or []]
        if not paths:
            return (note_html(["No files chosen."]), *refreshed(query, selected), None)
        problems: list[str] = []
        accepted: list[tuple[Path, str]] = []
        for path in paths:
            name = safe_upload_name(str(path))
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(f"{name}: not a supported type ({suffix or 'no extension'}); use .txt, .md, .html or .jsonl")
            elif path.stat().st_size > max_upload_bytes:
                problems.append(f"{name}: larger than the {settings.max_upload_mb} MB upload limit")
            else:
                accepted.append((path, name))
        if not accepted:
            return (note_html(["Nothing was indexed."], problems), *refreshed(query, selected), None)
        total = sum(expected_documents(p) for p, _ in accepted)
        done = 0
        progress((0, total), desc="Indexing articles", unit="articles")

        def advanced(n: int) -> None:
            nonlocal done
            done += n
            progress((min(done, total), total), desc="Indexing articles", unit="articles")

        def documents():
            for path, name in accepted:
                # The id comes from the cleaned bare name, never from the client's path.
                yield from load_file(path, doc_id=None if path.suffix.lower() in JSONL_SUFFIXES else slug_id(Path(name)))

        try:
            report = pipeline.ingest_documents(documents(), progress=advanced)
        except Exception as err:  # noqa: BLE001
            return (error_html(user_message(err)), *refreshed(query, selected), None)
        for issue in report.issues:
            where = safe_upload_name(issue.path) + (f" line {issue.line}" if issue.line else "")
            problems.append(f"{where}: {public_text(issue.message)}")
        return (note_html([f"Indexed: {report.summary()}."], problems), *refreshed(query, selected), None)

    def select_row(event: gr.SelectData) -> tuple:
        row = event.row_value or []
        doc_id = row[-1] if row else None
        return gr.update(value=doc_id), gr.update(visible=False)

    def ask_delete(doc_id: str | None) -> tuple:
        try:
            record = pipeline.store().document(require_article(doc_id))
        except Exception as err:  # noqa: BLE001
            return gr.update(visible=False), "", error_html(user_message(err))
        title = record.title or record.doc_id
        return gr.update(visible=True), f"<p>Delete “{esc(title)}” from the index? This cannot be undone.</p>", ""

    def delete_doc(doc_id: str | None, query: str) -> tuple:
        doc_id = (doc_id or "").strip()
        if not doc_id:
            return (error_html("Pick an article first."), gr.update(visible=False), *refreshed(query))
        try:
            deleted = pipeline.delete(doc_id)
        except Exception as err:  # noqa: BLE001
            return (error_html(user_message(err)), gr.update(visible=False), *refreshed(query, doc_id))
        message = f"Deleted {doc_id}." if deleted else f"There is no article {doc_id} in the index."
        return (note_html([message]), gr.update(visible=False), *refreshed(query))

    def summarize_selected(doc_id: str | None, query: str) -> tuple:
        try:
            summary = pipeline.summarize_document(require_article(doc_id), "short")
        except Exception as err:  # noqa: BLE001
            return error_html(user_message(err)), gr.skip()
        return note_html([summary.text]), library_rows(query)

    # -- summarise tab -----------------------------------------------------------------------------------------------
    def explain(path: str) -> str:
        return {"generated": "Written by the model and checked against the article.",
                "extractive": "Taken from the article itself: the model's wording did not pass the checks.",
                "cached": "From the cache."}.get(path, "")

    def summarize_article(doc_id: str | None, length: str) -> tuple[str, str]:
        try:
            summary = pipeline.summarize_document(require_article(doc_id), LENGTHS.get(length, "short"))
        except Exception as err:  # noqa: BLE001
            return "", error_html(user_message(err))
        return summary.text, note_html([explain(summary.path)])

    def summarize_text(text: str, length: str) -> tuple[str, str]:
        try:
            summary = pipeline.summarize_text(text or "", "", LENGTHS.get(length, "short"))
        except Exception as err:  # noqa: BLE001
            return "", error_html(user_message(err))
        if not summary.text:
            return "", error_html("No sentences found in that text to summarise.")
        return summary.text, note_html([explain(summary.path)])

    def loaded() -> tuple:
        choices = article_choices()
        return (gr.update(choices=source_choices()), gr.update(choices=choices), gr.update(choices=choices),
                library_rows(""), header_text())

    # -- layout ------------------------------------------------------------------------------------------------------
    with gr.Blocks(title="qa-bot", analytics_enabled=False) as demo:
        header = gr.Markdown(elem_id="header")
        history = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                chatbot = gr.Chatbot(
                    elem_id="chat", height=440, render_markdown=False, latex_delimiters=[], sanitize_html=True,
                    allow_tags=False, feedback_options=None, buttons=["copy"], show_label=False,
                    placeholder="Ask about the indexed articles. Each answer cites its sources, like this [1].")
                with gr.Row(equal_height=True, elem_id="ask-row"):
                    question = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                          scale=8, min_width=150, elem_id="question", autofocus=True,
                                          max_length=settings.max_question_chars, submit_btn=False)
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=60, size="md")
                    clear_btn = gr.Button("Clear", elem_id="clear", scale=1, min_width=60, size="md")
                sources_html = gr.HTML(elem_id="sources", js_on_load=None)
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    with gr.Row():
                        k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages to read per question",
                                      min_width=220)
                        source_filter = gr.Dropdown(choices=[], multiselect=True, label="Only these sources",
                                                    elem_id="source-filter", min_width=220,
                                                    allow_custom_value=True)
                    with gr.Row():
                        date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", min_width=140)
                        date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", min_width=140)
                    show_scores = gr.Checkbox(label="Show retrieval scores on the source cards", value=False)
            # The article dropdowns take any value (allow_custom_value): their choices are filled per browser
            # session, while API callers send ids directly; every handler checks the id against the index itself.
            with gr.Tab("Library", id="library-tab", elem_id="library-tab"):
                search = gr.Textbox(label="Search the library", placeholder="title, source, date or id",
                                    elem_id="library-search")
                table = gr.Dataframe(headers=LIBRARY_HEADERS, datatype="str", interactive=False, wrap=True,
                                     elem_id="library", max_height=420,
                                     column_widths=["300px", "140px", "104px", "76px", "430px", "166px"])
                with gr.Row(equal_height=True):
                    selected = gr.Dropdown(choices=[], label="Selected article (or click a row)",
                                           elem_id="library-pick", scale=4, min_width=240, filterable=True,
                                           allow_custom_value=True)
                    summarise_one = gr.Button("Summarise in one line", elem_id="library-summarise", scale=1,
                                              min_width=150, size="md")
                    delete_btn = gr.Button("Delete…", elem_id="library-delete", scale=1,
                                           min_width=100, size="md")
                with gr.Row(visible=False, elem_id="confirm-row", equal_height=True) as confirm_row:
                    confirm_text = gr.HTML(elem_id="confirm-text", js_on_load=None)
                    confirm_btn = gr.Button("Yes, delete", variant="stop", elem_id="confirm-delete", min_width=100,
                                            size="md")
                    cancel_btn = gr.Button("Cancel", elem_id="cancel-delete", min_width=100, size="md")
                library_status = gr.HTML(elem_id="library-status", js_on_load=None)
                files = gr.File(file_count="multiple", type="filepath", elem_id="upload", height=150,
                                file_types=sorted(SUPPORTED_SUFFIXES - {".markdown"}),
                                label=f"Add articles: .txt, .md, .html or .jsonl, up to {settings.max_upload_mb} MB each")
                upload_status = gr.HTML(elem_id="upload-status", js_on_load=None)
            with gr.Tab("Summarise", id="summarise-tab", elem_id="summarise-tab"):
                with gr.Row():
                    with gr.Column(scale=3, min_width=300):
                        pick = gr.Dropdown(choices=[], label="Article", elem_id="pick-article", filterable=True,
                                           allow_custom_value=True)
                        length = gr.Radio(list(LENGTHS), value="One line", label="Length", elem_id="length")
                        summarise_btn = gr.Button("Summarise the article", elem_id="summarise-article",
                                                  variant="primary", size="md")
                        paste = gr.Textbox(lines=6, label="…or paste an article", elem_id="paste",
                                           max_length=200_000)
                        summarise_text_btn = gr.Button("Summarise the pasted text", elem_id="summarise-text", size="md")
                    with gr.Column(scale=2, min_width=280):
                        summary_out = gr.Textbox(label="Summary", elem_id="summary", interactive=False, lines=4,
                                                 buttons=["copy"])
                        summary_note = gr.HTML(elem_id="summary-note", js_on_load=None)

        # -- events ----------------------------------------------------------------------------------------------
        chat_inputs = [question, chatbot, history, k, source_filter, date_from, date_to, show_scores]
        chat_outputs = [chatbot, history, question, sources_html]
        model = {"concurrency_id": "model", "concurrency_limit": 1}  # one model instance: requests queue on it
        ask_btn.click(respond, chat_inputs, chat_outputs, api_name="ask", show_progress="minimal", **model)
        question.submit(respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="minimal",
                        **model)
        clear_btn.click(clear_chat, None, chat_outputs, api_visibility="private")
        chatbot.clear(clear_chat, None, chat_outputs, api_visibility="private")

        listing = [table, selected, pick, source_filter, header]
        index = {"concurrency_id": "index", "concurrency_limit": 1}  # one writer at a time
        search.change(readable_errors(library_rows), search, table, api_name="library", show_progress="hidden")
        files.upload(upload, [files, search, selected], [upload_status, *listing, files], api_name="upload",
                     **index)
        table.select(select_row, None, [selected, confirm_row], api_visibility="private")
        delete_btn.click(ask_delete, selected, [confirm_row, confirm_text, library_status],
                         api_visibility="private")
        cancel_btn.click(lambda: gr.update(visible=False), None, confirm_row, api_visibility="private")
        confirm_btn.click(delete_doc, [selected, search], [library_status, confirm_row, *listing],
                          api_name="delete", **index)
        summarise_one.click(summarize_selected, [selected, search], [library_status, table],
                            api_name="summarize_library", **model)
        summarise_btn.click(summarize_article, [pick, length], [summary_out, summary_note],
                            api_name="summarize_article", **model)
        summarise_text_btn.click(summarize_text, [paste, length], [summary_out, summary_note],
                                 api_name="summarize_text", **model)
        demo.load(readable_errors(loaded), None, [source_filter, selected, pick, table, header],
                  api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    return demo


def launch_app(demo: gr.Blocks, pipeline: Pipeline, *, host: str, port: int, auth: tuple[str, str] | None = None,
               block: bool = True, on_ready: Callable[[str], None] | None = None) -> str:
    """Serve ``demo``. Uploads over the size limit are refused by the server itself (HTTP 413), before any handler
    runs. Returns the local URL; with ``block`` it serves until interrupted."""
    _, local_url, _ = demo.launch(
        server_name=host, server_port=port, auth=auth, prevent_thread_lock=True, show_error=False, quiet=True,
        inbrowser=False, share=False, ssr_mode=False, mcp_server=False, footer_links=["api", "settings"],
        max_file_size=pipeline.settings.max_upload_mb * 2**20, css=CSS,
        auth_message="qa-bot: sign in with the user and password given to --auth (or QA_BOT_AUTH)." if auth else None,
    )
    if on_ready:
        on_ready(local_url)
    if block:
        demo.block_thread()
    return local_url


__all__ = ["CSS", "build_app", "launch_app", "render_sources", "render_card", "highlighted_passage", "chat_text"]
