"""Every failure as OpenAI's error body, ``{"error": {"message", "type", "param", "code"}}``, so OpenAI clients raise
their usual exceptions (``openai.BadRequestError`` …) with our message. The message of a library error is the
CLI's own: ``str(err)``, one line naming the fix; this module only picks the HTTP status for it."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import (
    DocumentNotFoundError,
    EmbedderMismatchError,
    IndexBusyError,
    IndexNotFoundError,
    InputError,
    ModelNotFoundError,
    QABotError,
    ServerError,
    SettingError,
)

log = logging.getLogger("qa_bot.api")

# (error class, HTTP status, OpenAI error type, code); the first match wins. What the caller can fix is a 4xx; a
# server set up wrong (missing model, another embedder, a bad setting) is a 500, and a failing Chroma or model
# server behind this one a 502. A plain QABotError is a request the library refused ("no text to summarise").
STATUSES: list[tuple[type[QABotError], int, str, str | None]] = [
    (DocumentNotFoundError, 404, "not_found_error", "document_not_found"),
    (InputError, 400, "invalid_request_error", None),
    (IndexNotFoundError, 409, "invalid_request_error", "index_empty"),
    (IndexBusyError, 409, "invalid_request_error", "index_busy"),
    (ServerError, 502, "server_error", "upstream_error"),
    (SettingError, 500, "server_error", None),
    (ModelNotFoundError, 500, "server_error", None),
    (EmbedderMismatchError, 500, "server_error", None),
    (QABotError, 400, "invalid_request_error", None),
]


class APIError(Exception):
    """A request the API itself refuses (an unknown model, no question, no files), in OpenAI's terms."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code


def error_response(status: int, message: str, type: str, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type, "param": param, "code": code}}, status,
                        headers=headers)


def too_large(max_body_mb: int) -> JSONResponse:
    return error_response(413, f"the request is larger than the {max_body_mb} MB limit (QA_BOT_MAX_UPLOAD_MB on the "
                          "server); send fewer or smaller files", "invalid_request_error", None, "request_too_large")


def status_of(err: QABotError) -> tuple[int, str, str | None]:
    return next((status, type_, code) for cls, status, type_, code in STATUSES if isinstance(err, cls))


def install_error_handlers(app: FastAPI, max_body_mb: int) -> None:
    @app.exception_handler(APIError)
    async def api_error(_request: Request, err: APIError) -> JSONResponse:
        return error_response(err.status, err.message, err.type, err.param, err.code)

    @app.exception_handler(QABotError)
    async def library_error(_request: Request, err: QABotError) -> JSONResponse:
        status, type_, code = status_of(err)
        if status >= 500:
            log.error("%s: %s", type(err).__name__, err)
        return error_response(status, str(err), type_, None, code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        if first.get("type") == "json_invalid":  # its "loc" is a character offset, not a field
            return error_response(400, f"the request body is not valid JSON ({first.get('ctx', {}).get('error')})",
                                  "invalid_request_error", None, "json_invalid")
        where = [str(part) for part in first.get("loc", ()) if part != "body"]
        message = f"{'.'.join(where) or 'the request body'}: {first.get('msg', 'is not valid')}"
        return error_response(400, message, "invalid_request_error", ".".join(where) or None, first.get("type"))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        if err.status_code == 413:
            return too_large(max_body_mb)
        if err.status_code == 404:
            return error_response(404, f"no such endpoint: {request.method} {request.url.path}", "not_found_error")
        if err.status_code == 405:
            return error_response(405, f"{request.method} is not allowed on {request.url.path}",
                                  "invalid_request_error")
        return error_response(err.status_code, str(err.detail), "invalid_request_error")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error in the API", exc_info=err)
        return error_response(500, "something went wrong on the server (the details are in its log); please try "
                              "again", "server_error")
