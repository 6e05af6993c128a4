"""Serving the API: :func:`serve` checks who could reach it, takes the port, loads the models, then runs uvicorn."""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import SettingError
from ..nlp import english
from .app import create_app
from .openai_format import MODEL_ID
from .security import check_exposure

if TYPE_CHECKING:
    from ..pipeline import Pipeline


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, taken before any model loads: a port in use fails in a second, not after the wait."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as err:
        sock.close()
        raise SettingError(f"cannot listen on {host}:{port} ({err.strerror or err}); choose another --port "
                           "(QA_BOT_API_PORT) or --host") from None
    return sock


def serve(pipeline: Pipeline, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the API around ``pipeline`` on its settings' ``api_host``/``api_port`` until interrupted."""
    import uvicorn

    settings = pipeline.settings
    check_exposure(settings)
    pipeline.check_model()
    sock = bind(settings.api_host, settings.api_port)
    try:
        pipeline.store(create=True)
        # Load the models, the keyword index and spaCy now, so the first question does not wait for them; and so
        # that no two first requests load one twice.
        pipeline.embedder.embed_query("warm up")
        _ = pipeline.retriever, pipeline.answerer, pipeline.summarizer, pipeline.generator
        english()
        host, port = sock.getsockname()[:2]
        if on_ready:
            shown = f"[{host}]" if ":" in host else host
            on_ready(f"qa-bot API on http://{shown}:{port}/v1 (model {MODEL_ID!r}"
                     f"{', API key required' if settings.api_key else ''})")
        server = uvicorn.Server(uvicorn.Config(create_app(pipeline), log_level="info", timeout_graceful_shutdown=10))
        server.run(sockets=[sock])
    finally:
        sock.close()
