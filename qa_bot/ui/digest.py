"""The Digest tab: the indexed articles of a period grouped into topics (qa_bot.digest), shown as HTML.

Its own module with one entry point, :func:`digest_tab`, called inside the page's ``gr.Tabs()``: the tab's controls and
its one event live here, so the page layout needs a single line for it."""
from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from ..digest import Digest, build_digest
from .render import error_html, esc, note_html, user_message

if TYPE_CHECKING:
    from ..pipeline import Pipeline


def render_digest(digest: Digest) -> str:
    if not digest.topics:
        return note_html(["No indexed articles match these dates and source."])
    parts = [f'<p class="qa-meta">{digest.n_articles} articles in {len(digest.topics)} topics</p>']
    for topic in digest.topics:
        items = "".join(f'<li><span class="qa-meta">{esc(a.published or "undated")} · {esc(a.source)} · '
                        f"<code>{esc(a.doc_id)}</code></span><br>{esc(a.summary)}</li>" for a in topic.articles)
        parts.append(f'<div class="qa-card qa-topic"><h4>{esc(topic.headline)} ({len(topic.articles)})</h4>'
                     f'<ul class="qa-passage">{items}</ul></div>')
    return f'<div class="qa-sources">{"".join(parts)}</div>'


def digest_tab(pipeline: Pipeline) -> None:
    """The tab's controls and event; call inside ``gr.Tabs()`` of the page's ``gr.Blocks``."""
    def show(date_from: str, date_to: str, source: str) -> str:
        try:
            return render_digest(build_digest(pipeline, (date_from or "").strip() or None,
                                              (date_to or "").strip() or None, (source or "").strip() or None))
        except Exception as err:  # noqa: BLE001 — shown in the tab, as the other tabs show theirs
            return error_html(user_message(err))

    with gr.Tab("Digest", id="digest-tab", elem_id="digest-tab"):
        with gr.Row(equal_height=True):
            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD", min_width=140,
                                   elem_id="digest-from")
            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD", min_width=140, elem_id="digest-to")
            source = gr.Textbox(label="Source", placeholder="any", min_width=140, elem_id="digest-source")
            build = gr.Button("Build the digest", variant="primary", elem_id="digest-build", min_width=140)
        out = gr.HTML(elem_id="digest", js_on_load=None)
    # Summaries not cached yet are made by the one model: the digest queues with the other model calls.
    build.click(show, [date_from, date_to, source], out, api_name="digest", concurrency_id="model",
                concurrency_limit=1)
