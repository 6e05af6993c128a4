"""Every call to a Chroma server goes through :func:`with_retries`: transient failures are retried with backoff,
then reported as one-line :class:`~qa_bot.errors.ServerError` messages that say what to do."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import ServerError

T = TypeVar("T")


def with_retries(fn: Callable[[], T], retries: int, where: str, *, remote: bool) -> T:
    """Run one call; transient server failures (connection lost, timeout, HTTP 5xx/429) are retried with exponential
    backoff (0.5 s, 1 s, 2 s, ...), then reported as a ServerError that says what to do. Every store write is an
    idempotent upsert or delete, so repeating one that may have reached the server is safe. ``where`` names the
    server in messages; with ``remote`` false (the embedded store) errors pass through untouched."""
    delay = 0.5
    for attempt in range(retries + 1):
        try:
            return fn()
        except Exception as err:
            if remote and is_transient(err) and attempt < retries:
                time.sleep(delay)
                delay *= 2
                continue
            tries = f"{retries + 1} {'try' if retries == 0 else 'tries'}"
            translated = server_error(err, where, tries) if remote else None
            if translated is None:
                raise
            raise translated from err
    raise AssertionError("unreachable")


def is_transient(err: Exception) -> bool:
    import httpx
    from chromadb.errors import InternalError, RateLimitError

    if isinstance(err, (httpx.TransportError, InternalError, RateLimitError)):
        return True  # connection refused/reset, timeouts, and the server's own 500 and 429
    return isinstance(err, httpx.HTTPStatusError) and (err.response.status_code >= 500 or err.response.status_code == 429)


def server_error(err: Exception, where: str, tries: str) -> ServerError | None:
    """A one-line ServerError for a failure of the server itself; None for errors the caller handles (not found,
    invalid arguments), which the embedded store raises the same way."""
    import httpx
    from chromadb.errors import AuthorizationError, ChromaAuthError

    rerun = "then rerun the command (an ingest skips the documents it already finished)"
    if isinstance(err, httpx.TimeoutException):
        return ServerError(f"{where} did not answer within the timeout, {tries}; check its load, raise "
                           f"QA_BOT_SERVER_TIMEOUT_S if it is just slow, {rerun}")
    if isinstance(err, httpx.TransportError):
        return ServerError(f"cannot reach {where} ({type(err).__name__}, {tries}); start it "
                           f"(chroma run --path DIR --port PORT) or unset QA_BOT_CHROMA_URL, {rerun}")
    if isinstance(err, (ChromaAuthError, AuthorizationError)) or (
        isinstance(err, httpx.HTTPStatusError) and err.response.status_code in (401, 403)
    ):
        return ServerError(f"{where} refused the credentials; set QA_BOT_CHROMA_TOKEN (and QA_BOT_CHROMA_TOKEN_HEADER "
                           "if the server reads another header than Authorization)")
    if is_transient(err):
        detail = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        return ServerError(f"{where} answered with an error, {tries} ({type(err).__name__}: {detail}); "
                           f"see the server's log, {rerun}")
    if isinstance(err, httpx.HTTPStatusError):
        return ServerError(f"{where} answered HTTP {err.response.status_code} for {err.request.url.path}; "
                           "is QA_BOT_CHROMA_URL the address of a Chroma server?")
    return None
