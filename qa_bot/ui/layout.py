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

# WCAG AA (4.5:1) for every text, light and dark: Gradio's default subdued grey (#bbbbc2 on #fafafa, 1.8:1), its
# orange buttons (white on #f97316, 2.8:1) and accent-coloured selected tab fall short of it.
THEME = gr.themes.Default().set(
    body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
    input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
    color_accent="*primary_700",
    button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_800",
    button_cancel_background_fill="*error_700", button_cancel_background_fill_dark="*error_700",
    button_cancel_background_fill_hover="*error_800", button_cancel_background_fill_hover_dark="*error_800",
    button_cancel_text_color="white", button_cancel_text_color_dark="white",
)

# The drop zone's screen-reader name is "Click to upload or drop files" while it shows "Drop File Here - or - Click to
# Upload": a name that does not contain the visible words fails speech input (WCAG 2.5.3). Gradio's own strings are
# reworded so the two agree.
I18N = gr.I18n(en={"upload_text.drop_file": "Click to upload", "common.or": "or", "upload_text.click_to_upload": "drop files"})

CSS = """
.dark { --color-accent: var(--primary-400); }  /* the theme has no dark accent: the light one is 3.6:1 on dark */
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
/* the closest sentence of a related (not cited) passage: underlined, never the citations' yellow */
.qa-passage .qa-closest { text-decoration: underline dashed var(--body-text-color-subdued); text-underline-offset: 3px; }
.qa-declined > p { border-left: 4px solid #d97706; padding-left: .6rem; }
.qa-error { color: var(--error-text-color, #b91c1c); font-weight: 600; margin: .3rem 0; }
.qa-note { color: var(--body-text-color-subdued); margin: .3rem 0; }
.qa-note ul { margin: .2rem 0 0 1.2rem; }
#chat .message { overflow-wrap: anywhere; }
#chat .placeholder { padding: 0 1.5rem; text-align: center; color: var(--body-text-color-subdued); }
#library .table-wrap, #library .table-wrap * { font-family: var(--font); }
#ask-row button { align-self: stretch; }
#upload-status { min-height: 2.5rem; }
#library .table-container { min-width: 660px; }
#library { overflow-x: auto !important; }
"""
# Gradio scopes CSS to the app's content, and the footer is outside it. On small screens Gradio hides "Use via API"
# but not the dot that separated it from "Settings".
HEAD = "<style>@media (max-width: 640px) { footer > .divider { display: none !important; } }</style>"


def build_app(pipeline: Pipeline) -> gr.Blocks:
    """Build (not launch) the Gradio app around ``pipeline``; all state is per session or in the pipeline."""
    settings = pipeline.settings
    handlers = Handlers(pipeline)

    # -- controls ------------------------------------------------------------------------------------------------------
    with gr.Blocks(title="qa-bot", analytics_enabled=False) as demo:
        header = gr.Markdown(elem_id="header")
        history = gr.State([])
        pending = gr.State(None)  # where the answer being written starts in the chat, so Stop can end it there
        answering = gr.State(False)  # a question was taken and its answer has not ended
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"):
                chatbot = gr.Chatbot(
                    label="Conversation", elem_id="chat", height=440, render_markdown=False, latex_delimiters=[],
                    sanitize_html=True, allow_tags=False, feedback_options=None, buttons=["copy"], show_label=False,
                    placeholder="Ask about the indexed articles. Each answer cites its sources, like this [1].")
                # The question box needs a line of its own on a phone: below 300 px its placeholder wraps, so the
                # row wraps and the buttons go under it.
                with gr.Row(equal_height=True, elem_id="ask-row"):
                    question = gr.Textbox(label="Question", placeholder="Ask about the articles…", show_label=False,
                                          scale=8, min_width=300, elem_id="question", autofocus=True,
                                          max_length=settings.answer.max_question_chars, submit_btn=False)
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=60, size="md")
                    stop_btn = gr.Button("Stop", variant="stop", elem_id="stop", scale=1, min_width=60, size="md",
                                         visible=False)
                    clear_btn = gr.Button("Clear", elem_id="clear", scale=1, min_width=60, size="md")
                # The question being answered: the box is free for the next one meanwhile. Hidden, not a State, so
                # that it is the first input of the /ask API.
                sent = gr.Textbox(visible=False, label="Question")
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
                # Adding articles comes first, with its progress and result right under the drop zone, where the
                # person who dropped the files is looking (below a long table they were out of sight).
                files = gr.File(file_count="multiple", type="filepath", elem_id="upload", height=150,
                                file_types=sorted(SUPPORTED_SUFFIXES - {".markdown"}),
                                label=f"Add articles: .txt, .md, .html or .jsonl, up to {settings.max_upload_mb} MB each")
                upload_status = gr.HTML(elem_id="upload-status", js_on_load=None)
                search = gr.Textbox(label="Search the library", placeholder="title, source, date or id",
                                    elem_id="library-search")
                # Widths in % of the table, which is at least 660 px wide (CSS): a phone shows the title, source and
                # date side by side and scrolls sideways to the rest.
                table = gr.Dataframe(headers=LIBRARY_HEADERS, datatype="str", interactive=False, wrap=True,
                                     elem_id="library", max_height=420, label="Articles in the library",
                                     column_widths=["24%", "13%", "12%", "7%", "28%", "16%"])
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
        chat_inputs = [sent, chatbot, history, k, source_filter, date_from, date_to, show_scores]
        chat_outputs = [chatbot, history, sources_html, pending]
        controls = [answering, ask_btn, stop_btn]
        model = {"concurrency_id": "model", "concurrency_limit": 1}  # one model instance: requests queue on it
        private = {"api_visibility": "private", "show_progress": "hidden"}
        # A question is taken (the box empties, Ask is disabled, Stop shown) before its answer is queued; one sent
        # while an answer is on its way is refused and stays in the box, instead of queueing behind it with a stale
        # chat. Steps of one chain, so they cannot overtake each other.
        taken = gr.on([ask_btn.click, question.submit], handlers.take, [question, answering],
                      [sent, question, *controls], queue=False, **private)
        answer = taken.success(handlers.respond, chat_inputs, chat_outputs, api_name="ask", show_progress="minimal",
                               **model)
        answer.then(handlers.idle, None, controls, queue=False, **private)
        stop_btn.click(handlers.stop, [chatbot, pending], [chatbot, pending, *controls], cancels=[answer], **private)
        for cleared in (clear_btn.click, chatbot.clear):  # an answer left running would bring the old chat back
            cleared(handlers.clear_chat, None, [chatbot, history, question, sources_html, pending, *controls],
                    cancels=[answer], **private)

        listing = [table, selected, pick, source_filter, header]
        index = {"concurrency_id": "index", "concurrency_limit": 1}  # one writer at a time
        search.change(readable_errors(handlers.library_rows), search, table, api_name="library", show_progress="hidden")
        # Each long event draws its progress on its own status line only, never over the table or the pickers.
        files.upload(handlers.upload, [files, search, selected], [upload_status, *listing, files], api_name="upload",
                     show_progress_on=upload_status, **index)
        table.select(handlers.select_row, None, [selected, confirm_row], api_visibility="private")
        delete_btn.click(handlers.ask_delete, selected, [confirm_row, confirm_text, library_status],
                         api_visibility="private")
        cancel_btn.click(lambda: gr.update(visible=False), None, confirm_row, api_visibility="private")
        confirm_btn.click(handlers.delete_doc, [selected, search], [library_status, confirm_row, *listing],
                          api_name="delete", show_progress_on=library_status, **index)
        summarise_one.click(handlers.summarize_selected, [selected, search], [library_status, table],
                            api_name="summarize_library", show_progress_on=library_status, **model)
        summarise_btn.click(handlers.summarize_article, [pick, length], [summary_out, summary_note],
                            api_name="summarize_article", show_progress_on=summary_out, **model)
        summarise_text_btn.click(handlers.summarize_text, [paste, length, pick], [summary_out, summary_note],
                                 api_name="summarize_text", show_progress_on=summary_out, **model)
        demo.load(readable_errors(handlers.loaded), None, [source_filter, selected, pick, table, header],
                  api_visibility="private")
    demo.queue(default_concurrency_limit=4)
    return demo
