"""Serving the app built by :func:`~qa_bot.ui.layout.build_app`."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import gradio as gr

from .layout import CSS, HEAD, I18N, THEME

if TYPE_CHECKING:
    from ..pipeline import Pipeline


def launch_app(demo: gr.Blocks, pipeline: Pipeline, *, host: str, port: int, auth: tuple[str, str] | None = None,
               block: bool = True, on_ready: Callable[[str], None] | None = None) -> str:
    """Serve ``demo``. Uploads over the size limit are refused by the server itself (HTTP 413), before any handler
    runs. Returns the local URL; with ``block`` it serves until interrupted."""
    _, local_url, _ = demo.launch(
        server_name=host, server_port=port, auth=auth, prevent_thread_lock=True, show_error=False, quiet=True,
        inbrowser=False, share=False, ssr_mode=False, mcp_server=False, footer_links=["api", "settings"],
        max_file_size=pipeline.settings.max_upload_mb * 2**20, css=CSS, head=HEAD, theme=THEME, i18n=I18N,
        auth_message="qa-bot: sign in with the user and password given to --auth (or QA_BOT_AUTH)." if auth else None,
    )
    if on_ready:
        on_ready(local_url)
    if block:
        demo.block_thread()
    return local_url
