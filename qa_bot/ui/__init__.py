"""The browser chat (Gradio), one job per module:

- ``render.py``: pure functions from answers and records to escaped HTML and readable messages;
- ``handlers.py``: what each control does (:class:`Handlers`), callable without a server; the document registry is
  read once per refresh (:class:`Library`), and uploads go through :meth:`Pipeline.ingest` like any other ingest;
- ``layout.py``: :func:`build_app`, where the controls sit and which handler each event calls;
- ``server.py``: :func:`launch_app`."""
from .layout import CSS, build_app
from .render import chat_text, highlighted_passage, render_card, render_sources
from .server import launch_app

__all__ = ["CSS", "build_app", "launch_app", "render_sources", "render_card", "highlighted_passage", "chat_text"]
