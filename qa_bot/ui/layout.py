"""Where each control of the browser chat sits and which handler each event calls: :func:`build_app`. What the
handlers do is in ``handlers.py``; nothing here decides anything.

Nothing launches on import and no state lives at module level: each browser session keeps its own chat history in a
``gr.State``, and every model call goes through one concurrency group, so several people queue on the one model."""
from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from ..load import SUPPORTED_SUFFIXES
from .digest import digest_tab
from .handlers import LENGTHS, LIBRARY_HEADERS, Handlers, readable_errors

if TYPE_CHECKING:
    from ..pipeline import Pipeline

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


def build_app(pipeline: Pipeline) -> gr.Blocks:
    """Build (not launch) the Gradio app around ``pipeline``; all state is per session or in the pipeline."""
    settings = pipeline.settings
    handlers = Handlers(pipeline)

    # -- controls ------------------------------------------------------------------------------------------------------
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
                                          max_length=settings.answer.max_question_chars, submit_btn=False)
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=60, size="md")
                    clear_btn = gr.Button("Clear", elem_id="clear", scale=1, min_width=60, size="md")
                sources_html = gr.HTML(elem_id="sources", js_on_load=None)
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    with gr.Row():
                        k = gr.Slider(1, 20, value=settings.answer.top_k, step=1, label="Passages to read per question",
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
            digest_tab(pipeline)

        # -- events ----------------------------------------------------------------------------------------------
        chat_inputs = [question, chatbot, history, k, source_filter, date_from, date_to, show_scores]
        chat_outputs = [chatbot, history, question, sources_html]
        model = {"concurrency_id": "model", "concurrency_limit": 1}  # one model instance: requests queue on it
        ask_btn.click(handlers.respond, chat_inputs, chat_outputs, api_name="ask", show_progress="minimal", **model)
        question.submit(handlers.respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="minimal",
                        **model)
        clear_btn.click(handlers.clear_chat, None, chat_outputs, api_visibility="private")
        chatbot.clear(handlers.clear_chat, None, chat_outputs, api_visibility="private")

        listing = [table, selected, pick, source_filter, header]
        index = {"concurrency_id": "index", "concurrency_limit": 1}  # one writer at a time
        search.change(readable_errors(handlers.library_rows), search, table, api_name="library", show_progress="hidden")
        files.upload(handlers.upload, [files, search, selected], [upload_status, *listing, files], api_name="upload",
                     **index)
        table.select(handlers.select_row, None, [selected, confirm_row], api_visibility="private")
        delete_btn.click(handlers.ask_delete, selected, [confirm_row, confirm_text, library_status],
                         api_visibility="private")
        cancel_btn.click(lambda: gr.update(visible=False), None, confirm_row, api_visibility="private")
        confirm_btn.click(handlers.delete_doc, [selected, search], [library_status, confirm_row, *listing],
                          api_name="delete", **index)
        summarise_one.click(handlers.summarize_selected, [selected, search], [library_status, table],
                            api_name="summarize_library", **model)
        summarise_btn.click(handlers.summarize_article, [pick, length], [summary_out, summary_note],
                            api_name="summarize_article", **model)
        summarise_text_btn.click(handlers.summarize_text, [paste, length], [summary_out, summary_note],
                                 api_name="summarize_text", **model)
        demo.load(readable_errors(handlers.loaded), None, [source_filter, selected, pick, table, header],
                  api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    return demo
