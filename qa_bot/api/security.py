"""Who may call the API and how much they may send: the loopback rule (any other address needs a key), the key,
and the request size limit, all checked before a request's body is read."""
from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import SettingError
from ..settings import Settings
from .errors import error_response

OPEN_PATHS = frozenset({"/healthz"})  # says only that the server is up: load balancers probe it without a key


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(settings: Settings) -> None:
    """Refuse to listen beyond this machine without a key: the API reads, adds and deletes articles."""
    if not is_loopback(settings.api_host) and settings.api_key is None:
        raise SettingError(
            f"refusing to listen on {settings.api_host} without an API key: anyone who can reach this machine could "
            "read and change your articles. Set QA_BOT_API_KEY (clients send it as Authorization: Bearer <key>), or "
            "leave out --host to stay on 127.0.0.1."
        )


class RequireKey:
    """ASGI middleware: every request but ``OPEN_PATHS`` must carry ``Authorization: Bearer <key>``. The key is
    compared in constant time, so the time a wrong key takes says nothing about the right one."""

    def __init__(self, app: ASGIApp, key: str):
        self.app = app
        self.key = key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        scheme, _, token = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key):
            await self.app(scope, receive, send)
            return
        message = ("incorrect API key" if token else
                   "missing API key: send it as the header Authorization: Bearer <key> (QA_BOT_API_KEY on the server)")
        response = error_response(401, message, "invalid_request_error", None, "invalid_api_key",
                                  {"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)


class TooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413)


class LimitBody:
    """ASGI middleware: a request whose body is over ``max_bytes`` is refused with 413 — at once when it says its
    length, else as soon as the bytes read pass the limit (FastAPI's handlers then answer in OpenAI's shape). The
    body is never held whole beyond the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int, too_large: Callable[[], Response]):
        self.app = app
        self.max_bytes = max_bytes
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.too_large()(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise TooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if started:
                raise
            await self.too_large()(scope, receive, send)
