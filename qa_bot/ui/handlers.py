"""What each control of the browser chat does, as methods of :class:`Handlers`: plain functions of their inputs
that return the new values of their outputs, so they can be called (and tested) without a server. The layout
(``layout.py``) only places the controls and wires their events to these methods.

Each handler that lists articles reads the document registry once (:class:`Library`) and derives every list from
that one reading: the table, the two article pickers, the source filter and the header."""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from ..errors import IndexNotFoundError, QABotError
from ..load import JSONL_SUFFIXES, SUPPORTED_SUFFIXES, safe_upload_name, slug_id
from ..records import Turn
from ..store import DocumentRecord
from .render import (
    chat_text,
    error_html,
    esc,
    note_html,
    parse_filters,
    public_text,
    render_sources,
    sentence,
    summary_note,
    user_message,
)

if TYPE_CHECKING:
    from ..pipeline import Pipeline

LENGTHS = {"One line": "short", "Paragraph": "paragraph"}
LIBRARY_HEADERS = ["Title", "Source", "Date", "Chunks", "One-line summary", "ID"]
# The bar moves after each batch: 32 articles at a time (the CLI's batch) left a 40-article upload at 0 % for most of
# its run. A batch of 4 still embeds its chunks in one call.
UPLOAD_BATCH_DOCS = 4
EMPTY_LIBRARY = "the library is empty: add articles in the Library tab (or with qa-bot ingest PATH)"


def readable_errors(fn: Callable) -> Callable:
    """For handlers whose outputs have no room for a message: a failure shows as Gradio's error toast, one sentence."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001
            raise gr.Error(sentence(user_message(err))) from None

    return wrapper


@dataclass(frozen=True)
class Library:
    """One reading of the document registry, and everything the page lists from it."""

    records: Sequence[DocumentRecord]
    cached_summary: Callable[[DocumentRecord], str | None]

    def rows(self, query: str = "") -> list[list[Any]]:
        """The library table, filtered by a search over title, source, id and date."""
        needle = (query or "").casefold().strip()
        rows = []
        for r in self.records:
            # Where the article names no source or date, the file it came from and the day that file was changed
            # say where it is from, marked so that neither passes for the publisher or the publication date.
            source = r.source or (f"file {safe_upload_name(r.path)}" if r.path else "")
            date = r.published or (f"{r.file_date} (file)" if r.file_date else "")
            if needle and needle not in f"{r.title} {source} {r.doc_id} {date}".casefold():
                continue
            rows.append([r.title or r.doc_id, source, date, r.n_chunks, self.cached_summary(r) or "", r.doc_id])
        return rows

    def article_choices(self) -> list[tuple[str, str]]:
        return [(f"{r.title or r.doc_id} ({r.doc_id})", r.doc_id) for r in self.records]

    def source_choices(self) -> list[str]:
        return sorted({r.source for r in self.records if r.source})

    def header(self) -> str:
        chunks = sum(r.n_chunks for r in self.records)
        n = len(self.records)
        return (f"**qa-bot** — answers from {n} indexed article{'s' * (n != 1)} ({chunks} passages), "
                "each sentence checked against the article it cites. Runs on this machine; nothing leaves it.")


def expected_documents(path: Path) -> int:
    """How many articles a file holds, for the progress bar (one per line of a .jsonl)."""
    if path.suffix.lower() in JSONL_SUFFIXES:
        with path.open("rb") as handle:
            return max(1, sum(1 for line in handle if line.strip()))
    return 1


class Handlers:
    """The event handlers of one app, around one pipeline; all per-person state comes in as arguments."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.settings = pipeline.settings

    # -- reading the library -----------------------------------------------------------------------------------------
    def library(self) -> Library:
        return Library(self.pipeline.documents(), self.pipeline.cached_summary)

    def library_rows(self, query: str = "") -> list[list[Any]]:
        return self.library().rows(query)

    def refreshed(self, query: str, selected: str | None = None) -> tuple:
        """Everything that lists articles, after the library changed: table, library picker (keeping ``selected``
        if it is still there), summarise picker, source filter, header."""
        library = self.library()
        choices = library.article_choices()
        keep = selected if selected in {v for _, v in choices} else None
        return (library.rows(query), gr.update(choices=choices, value=keep), gr.update(choices=choices),
                gr.update(choices=library.source_choices()), library.header())

    def loaded(self) -> tuple:
        """A page (re)load: source filter, library picker, summarise picker, table, header."""
        library = self.library()
        choices = library.article_choices()
        return (gr.update(choices=library.source_choices()), gr.update(choices=choices), gr.update(choices=choices),
                library.rows(""), library.header())

    def require_article(self, doc_id: str | None) -> str:
        doc_id = (doc_id or "").strip()
        if not doc_id:
            raise QABotError("pick an article first: click its row in the table or choose it from the list")
        if self.pipeline.store().document(doc_id) is None:
            raise QABotError(f"there is no article {doc_id!r} in the library; choose one from the list")
        return doc_id

    # -- chat ----------------------------------------------------------------------------------------------------
    def respond(self, message: str, chat: list[dict], history: list[list[str]], k: int, sources: list[str],
                date_from: str, date_to: str, show_scores: bool) -> Iterator[tuple]:
        """Stream an answer into the chat: (chat, history, sources panel, pending) after each step. ``pending`` is
        where this answer starts in the chat while it is being written, then None."""
        question = (message or "").strip()
        chat = list(chat or [])
        if not question:
            yield chat, history, error_html("Type a question first."), None
            return
        start = len(chat)
        chat.append({"role": "user", "content": chat_text(question)})
        chat.append({"role": "assistant", "content": "Searching the articles…"})
        yield chat, history, "", start
        try:
            filters = parse_filters(sources, date_from, date_to)
            turns = [Turn(str(h[0]), str(h[1]), tuple(h[2]) if len(h) > 2 else ()) for h in history or []]
            events = self.pipeline.ask_stream(question, history=turns, filters=filters, k=int(k))
            text, answer = "", None
            for event in events:
                if event.kind == "status" and not text:
                    chat[-1] = {"role": "assistant", "content": chat_text(event.text)}
                elif event.kind == "token":
                    text += event.text
                    chat[-1] = {"role": "assistant", "content": chat_text(text)}
                elif event.kind == "answer":
                    answer = event.answer
                    continue
                yield chat, history, gr.skip(), gr.skip()
            if answer is None:
                raise RuntimeError("the answer stream ended without an answer")
            chat[-1] = {"role": "assistant", "content": chat_text(answer.text)}
            turn = answer.as_turn()
            history = [*(history or []), [turn.question, turn.answer, list(turn.doc_ids)]]
            yield chat, history, render_sources(answer, bool(show_scores)), None
        except Exception as err:  # noqa: BLE001 — a person sees a sentence, never a stack trace
            message_text = EMPTY_LIBRARY if isinstance(err, IndexNotFoundError) else user_message(err)
            chat[-1] = {"role": "assistant", "content": chat_text(f"Sorry — {message_text}")}
            yield chat, history, error_html(message_text), None

    @staticmethod
    def take(message: str, answering: bool) -> tuple:
        """A question was sent: (question being answered, question box, answering, Ask, Stop). It is taken, the box
        empties, Ask is disabled and Stop shown; while an answer is on its way it is refused (the error ends the
        event chain before an answer is queued) and stays in the box."""
        if answering:
            raise gr.Error("An answer is still being written: your question stays in the box until it is done, or "
                           "press Stop.", title="One question at a time", duration=6, print_exception=False)
        return message, "", True, gr.update(interactive=False), gr.update(visible=True)

    @staticmethod
    def idle() -> tuple:
        """(answering, Ask, Stop) once no answer is on its way."""
        return False, gr.update(interactive=True), gr.update(visible=False)

    @staticmethod
    def stop(chat: list[dict], pending: int | None) -> tuple:
        """Stop (its event cancels the answer): the question stays, and an answer that had begun says it was
        stopped. (chat, pending, answering, Ask, Stop)."""
        chat = list(chat or [])
        if pending is not None and len(chat) >= pending + 2:
            chat = [*chat[: pending + 1], {"role": "assistant", "content": "Stopped before the answer was complete."}]
        return (chat, None, *Handlers.idle())

    @staticmethod
    def clear_chat() -> tuple:
        """(chat, history, question box, sources, pending, answering, Ask, Stop), all as on a new page."""
        return ([], [], "", "", None, *Handlers.idle())

    # -- library -------------------------------------------------------------------------------------------------
    def upload(self, files: list[str] | None, query: str, selected: str | None,
               progress: gr.Progress = gr.Progress()) -> tuple:
        """Index uploaded files through :meth:`Pipeline.ingest`, each named by its cleaned bare file name (never by
        the client's path): (status, the five refreshed listings, the cleared file box)."""
        paths = [Path(f) for f in files or []]
        if not paths:
            return (note_html(["No files chosen."]), *self.refreshed(query, selected), None)
        problems: list[str] = []
        accepted: list[tuple[Path, str]] = []
        max_bytes = self.settings.max_upload_mb * 2**20
        for path in paths:
            name = safe_upload_name(str(path))
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(f"{name}: not a supported type ({suffix or 'no extension'}); use .txt, .md, .html or .jsonl")
            elif path.stat().st_size > max_bytes:
                problems.append(f"{name}: larger than the {self.settings.max_upload_mb} MB upload limit")
            else:
                accepted.append((path, name))
        if not accepted:
            return (note_html(["Nothing was indexed."], problems), *self.refreshed(query, selected), None)
        total = sum(expected_documents(p) for p, _ in accepted)
        done = 0
        progress((0, total), desc="Indexing articles", unit="articles")

        def advanced(n: int) -> None:
            nonlocal done
            done += n
            progress((min(done, total), total), desc="Indexing articles", unit="articles")

        # A .jsonl names its articles itself; any other file is one article, named after its cleaned bare name.
        doc_ids = {path: slug_id(Path(name)) for path, name in accepted if path.suffix.lower() not in JSONL_SUFFIXES}
        try:
            report = self.pipeline.ingest([path for path, _ in accepted], progress=advanced, doc_ids=doc_ids,
                                          batch_docs=UPLOAD_BATCH_DOCS)
        except Exception as err:  # noqa: BLE001
            return (error_html(user_message(err)), *self.refreshed(query, selected), None)
        for issue in report.issues:
            where = safe_upload_name(issue.path) + (f" line {issue.line}" if issue.line else "")
            problems.append(f"{where}: {public_text(issue.message)}")
        return (note_html([f"Indexed: {report.summary()}."], problems), *self.refreshed(query, selected), None)

    @staticmethod
    def select_row(event: gr.SelectData) -> tuple:
        """A click on a table row picks its article (the id is the last column) and hides the delete question."""
        row = event.row_value or []
        doc_id = row[-1] if row else None
        return gr.update(value=doc_id), gr.update(visible=False)

    def ask_delete(self, doc_id: str | None) -> tuple:
        """Show the confirmation row for the picked article: (confirm row, its text, status)."""
        try:
            record = self.pipeline.store().document(self.require_article(doc_id))
        except Exception as err:  # noqa: BLE001
            return gr.update(visible=False), "", error_html(user_message(err))
        title = record.title or record.doc_id
        return gr.update(visible=True), f"<p>Delete “{esc(title)}” from the index? This cannot be undone.</p>", ""

    def delete_doc(self, doc_id: str | None, query: str) -> tuple:
        """(status, hidden confirm row, the five refreshed listings)."""
        doc_id = (doc_id or "").strip()
        if not doc_id:
            return (error_html("Pick an article first."), gr.update(visible=False), *self.refreshed(query))
        try:
            deleted = self.pipeline.delete(doc_id)
        except Exception as err:  # noqa: BLE001
            return (error_html(user_message(err)), gr.update(visible=False), *self.refreshed(query, doc_id))
        message = f"Deleted {doc_id}." if deleted else f"There is no article {doc_id} in the index."
        return (note_html([message]), gr.update(visible=False), *self.refreshed(query))

    def summarize_selected(self, doc_id: str | None, query: str) -> tuple:
        """One-line summary of the picked article, cached, then shown in the table: (status, table)."""
        try:
            summary = self.pipeline.summarize_document(self.require_article(doc_id), "short")
        except Exception as err:  # noqa: BLE001
            return error_html(user_message(err)), gr.skip()
        return note_html([summary.text]), self.library_rows(query)

    # -- summarise tab -------------------------------------------------------------------------------------------
    def summarize_article(self, doc_id: str | None, length: str) -> tuple[str, str]:
        size = LENGTHS.get(length, "short")
        try:
            summary = self.pipeline.summarize_document(self.require_article(doc_id), size)
        except Exception as err:  # noqa: BLE001
            return "", error_html(user_message(err))
        return summary.text, summary_note(summary, size)

    def summarize_text(self, text: str, length: str, picked: str | None = None) -> tuple[str, str]:
        """Summarise the pasted text; ``picked`` (the article chosen above the box) only shapes the message when
        the box is empty."""
        size = LENGTHS.get(length, "short")
        if not (text or "").strip() and (picked or "").strip():
            return "", error_html("The paste box is empty. To summarise the article you picked, press "
                                  "“Summarise the article”.")
        try:
            summary = self.pipeline.summarize_text(text or "", "", size)
        except Exception as err:  # noqa: BLE001
            return "", error_html(user_message(err))
        if not summary.text:
            return "", error_html("No sentences found in that text to summarise.")
        return summary.text, summary_note(summary, size)
