"""qa-bot as a server any OpenAI client can use (`qa-bot serve`), one job per module:

- ``openai_format.py``: the chat request read into a question and its history; answers written as OpenAI's
  ``chat.completion`` and its streamed chunks, with the sources in ``citations``;
- ``errors.py``: every failure as OpenAI's error body, with the library's (the CLI's) one-line message;
- ``security.py``: the loopback rule and the API key;
- ``app.py``: :func:`create_app`, the routes around one pipeline;
- ``server.py``: :func:`serve`, checks and warm-up, then uvicorn."""
from .app import create_app
from .openai_format import MODEL_ID
from .server import serve

__all__ = ["MODEL_ID", "create_app", "serve"]
