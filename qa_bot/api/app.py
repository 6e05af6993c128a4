"""The API's routes: :func:`create_app` builds them around one pipeline. Nothing is served on import, and every
bit of state (the pipeline, its locks) belongs to the app that :func:`create_app` returns.

Every route that works on the pipeline is a plain ``def``: FastAPI runs it in its thread pool, so a question being
answered never holds up the event loop (or /healthz). As in the browser chat, answering and summarising queue on one
lock (one model instance, whatever the number of clients) and index writes on another."""
from __future__ import annotations

import functools
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, File, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import StreamingResponse

from ..errors import DocumentNotFoundError
from ..load import JSONL_SUFFIXES, safe_upload_name, slug_id
from .errors import APIError, install_error_handlers, too_large
from .openai_format import MODEL_ID, ChatRequest, SummaryRequest, completion, completion_chunks, conversation, model_card
from .security import LimitBody, RequireKey

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..settings import Settings


def create_app(pipeline: Pipeline, settings: Settings | None = None) -> FastAPI:
    """The OpenAI-compatible API around ``pipeline``. ``settings`` (the pipeline's by default) supply the key, the
    allowed browser origins and the request size limit."""
    settings = settings or pipeline.settings
    model_lock = threading.Lock()  # answering and summarising: one at a time on the one model instance
    index_lock = threading.Lock()  # ingest and delete: one writer at a time
    created = int(time.time())
    # /docs would load its page scripts from a CDN: nothing here fetches from the network.
    app = FastAPI(title="qa-bot", summary="Answers with sources from your news articles, OpenAI-compatible.",
                  docs_url=None, redoc_url=None)
    install_error_handlers(app, settings.max_upload_mb)
    # Middleware added later runs earlier: CORS answers a browser's preflight (which carries no key), then the key
    # is checked, then the size, so a caller without the key never gets a body read.
    app.add_middleware(LimitBody, max_bytes=settings.max_upload_mb * 2**20,
                       too_large=functools.partial(too_large, settings.max_upload_mb))
    if settings.api_key is not None:
        app.add_middleware(RequireKey, key=settings.api_key.get_secret_value())
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])

    @app.get("/healthz")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict:
        card = model_card(created, pipeline.model_name, pipeline.embedder.name, pipeline.settings.answer.wording,
                          pipeline.settings.collection)
        return {"object": "list", "data": [card]}

    @app.post("/v1/chat/completions")
    def chat(request: ChatRequest):
        if request.model != MODEL_ID:
            raise APIError(404, f"the model {request.model!r} is not served here; ask {MODEL_ID!r} (GET /v1/models)",
                           param="model", code="model_not_found")
        question, history = conversation(request.messages)
        # The answerer gives out text only once it is checked, so the whole answer is made under the lock and then
        # streamed: a slow client never holds the model.
        with model_lock:
            events = list(pipeline.ask_stream(question, history=history))
        answer = events[-1].answer
        if not request.stream:
            return completion(answer)
        pieces = [event.text for event in events if event.kind == "token"]
        return StreamingResponse(completion_chunks(answer, pieces), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    @app.post("/v1/summaries")
    def summaries(request: SummaryRequest) -> dict:
        if not request.doc_ids and not request.texts:
            raise APIError(400, "name document ids (doc_ids) or texts (texts) to summarise", param="doc_ids")
        store = pipeline.store()
        for doc_id in request.doc_ids:  # every id checked before the first summary costs model time
            if store.document(doc_id) is None:
                raise DocumentNotFoundError(doc_id)
        data = []
        for index, doc_id in enumerate(request.doc_ids):
            with model_lock:
                summary = pipeline.summarize_document(doc_id, request.length)
            data.append({"doc_id": doc_id, "index": index, "summary": summary.text, "path": summary.path})
        for index, text in enumerate(request.texts):
            with model_lock:
                summary = pipeline.summarize_text(text, "", request.length)
            data.append({"doc_id": None, "index": index, "summary": summary.text, "path": summary.path})
        return {"object": "list", "data": data}

    @app.get("/v1/documents")
    def documents() -> dict:
        return {"object": "list", "data": [record.to_json() for record in pipeline.documents()]}

    @app.post("/v1/documents")
    def add_documents(files: list[UploadFile] = File(default=[])) -> dict:
        """Index uploaded files as `qa-bot ingest` indexes files: each named after its cleaned bare name (a .jsonl's
        records by their own ids), unchanged ones skipped, bad ones reported and skipped."""
        if not files:
            raise APIError(400, "no files were uploaded; send each as a multipart form field named 'files'",
                           param="files")
        with tempfile.TemporaryDirectory(prefix="qa-bot-upload-") as folder:
            paths: list[Path] = []
            names: dict[str, str] = {}  # temporary path -> the uploaded name, for the messages
            doc_ids: dict[Path, str] = {}
            for number, upload in enumerate(files):
                name = safe_upload_name(upload.filename or "upload")
                path = Path(folder) / str(number) / name  # a folder each: two uploads may share a name
                path.parent.mkdir()
                with path.open("wb") as out:
                    shutil.copyfileobj(upload.file, out)
                paths.append(path)
                names[str(path)] = name
                if path.suffix.lower() not in JSONL_SUFFIXES:
                    doc_ids[path] = slug_id(Path(name))
            with index_lock:
                report = pipeline.ingest(paths, doc_ids=doc_ids)
        record = report.to_json()
        for key in ("errors", "warnings"):  # the uploaded names, not where they were kept for the ingest
            record[key] = [_renamed(message, names) for message in record[key]]
        if report.documents == 0 and report.errors:
            raise APIError(400, "nothing was indexed: " + "; ".join(record["errors"]), param="files",
                           code="no_documents")
        return {**record, "index": pipeline.stats()}

    @app.delete("/v1/documents/{doc_id:path}")
    def delete_document(doc_id: str) -> dict:
        with index_lock:
            if not pipeline.delete(doc_id):
                raise DocumentNotFoundError(doc_id)
        return {"id": doc_id, "object": "document", "deleted": True}

    return app


def _renamed(message: str, names: dict[str, str]) -> str:
    for path, name in names.items():
        message = message.replace(path, name)
    return message
