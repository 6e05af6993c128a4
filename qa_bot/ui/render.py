"""What the browser shows, as pure functions of library records (tested without a server): answers and their source
cards, notes and errors, and the messages a person may see.

Article text is untrusted. Everything taken from an article (answer text, titles, sources, passages) is HTML-escaped
here before Gradio sees it; the Chatbot renders no Markdown and Gradio's own sanitiser is only a second line."""
from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence

from ..errors import QABotError
from ..records import Answer, Citation, Hit
from ..retrieve import Filters

log = logging.getLogger("qa_bot.ui")

CONTEXT_CHARS = 320  # passage text shown on each side of the cited sentence
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ABSOLUTE_PATH_RE = re.compile(r"(?<![\w:/.~])~?/(?:[^\s/'\"`]+/)*([^\s/'\"`;,]+)/?")  # group 1: the last part
_URL_CREDENTIALS_RE = re.compile(r"(?<=://)[^/@\s]+@")
_SENTENCE_END_RE = re.compile(r"[.!?][”\"’)]?\s")


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def chat_text(text: str) -> str:
    """Chat bubble content: escaped, so an article's markup shows as text; the [n] markers stay as typed."""
    return html.escape(text or "", quote=False)


def highlighted_passage(passage: str, quote: str, context: int = CONTEXT_CHARS) -> str:
    """The passage around the cited sentence, escaped, with the sentence in <mark>. Whitespace may differ between the
    quote and the passage (the quote is one line), so both are compared with whitespace collapsed."""
    passage = " ".join(passage.split())  # one compact paragraph: the card is read beside the answer
    quote = " ".join(quote.split())
    start = passage.find(quote) if quote else -1
    if start < 0:
        return f"<mark>{esc(quote)}</mark>" if quote else esc(passage[: 2 * context])
    end = start + len(quote)
    before = passage[max(0, start - context) : start]
    after = passage[end : end + context]
    if start > context:  # start at a sentence (or else a word) and show that text was left out
        boundary = _SENTENCE_END_RE.search(before)
        before = "…" + (before[boundary.end():] if boundary else before.split(" ", 1)[-1])
    if end + context < len(passage):
        ends = list(_SENTENCE_END_RE.finditer(after))
        after = (after[: ends[-1].end()].rstrip() if ends else after.rsplit(" ", 1)[0]) + " …"
    return f"{esc(before)}<mark>{esc(quote)}</mark>{esc(after)}"


def score_line(hit: Hit | None) -> str:
    if hit is None:
        return ""
    parts = [f"fused {hit.score:.4f}"]
    if hit.dense_score is not None:
        parts.append(f"cosine {hit.dense_score:.2f}")
    if hit.dense_rank is not None:
        parts.append(f"dense #{hit.dense_rank}")
    if hit.lexical_rank is not None:
        parts.append(f"BM25 #{hit.lexical_rank}")
    return ", ".join(parts)


def render_card(citation: Citation, label: str, score: str = "") -> str:
    title = esc(citation.title or citation.doc_id)
    if citation.url and re.match(r"https?://", citation.url, re.IGNORECASE):
        title = f'<a href="{esc(citation.url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    meta = " · ".join(esc(x) for x in (citation.source, citation.published, citation.doc_id) if x)
    if score:
        meta += f' · <span class="qa-score">{esc(score)}</span>'
    return (f'<div class="qa-card" data-doc-id="{esc(citation.doc_id)}">'
            f'<h4><span class="qa-label">{esc(label)}</span>{title}</h4><div class="qa-meta">{meta}</div>'
            f'<p class="qa-passage">{highlighted_passage(citation.passage or citation.quote, citation.quote)}</p></div>')


def render_sources(answer: Answer, show_scores: bool = False) -> str:
    hits = {h.chunk.chunk_id: h for h in answer.hits}

    def score(c: Citation) -> str:
        return score_line(hits.get(c.chunk_id)) if show_scores else ""

    rewritten = (f'<p class="qa-note">Searched for: {esc(answer.standalone_question)}</p>'
                 if answer.standalone_question else "")
    if answer.declined:
        cards = "".join(render_card(c, "Related", score(c)) for c in answer.related)
        lead = ("<p><strong>No article answers this.</strong> The closest passages are below; they are related, "
                "not sources.</p>" if cards else "<p><strong>No article answers this.</strong></p>")
        return f'<div class="qa-sources qa-declined" data-state="declined">{rewritten}{lead}{cards}</div>'
    how = {"extracted": "the answer is the cited sentence's own words",
           "generated": "worded by the model; every name and number in it is in the cited sentence",
           "quoted": "no part of the sentence is clearly the answer, so it is quoted whole"}.get(answer.path, "")
    if answer.fallback and answer.path == "extracted":  # the model was asked, and why its words are not shown
        how = f"{how}: {answer.fallback}"
    cards = "".join(render_card(c, f"[{c.n}]", score(c)) for c in answer.citations)
    return (f'<div class="qa-sources" data-state="answered">{rewritten}<p><strong>Sources</strong> '
            f'<span class="qa-meta">({esc(how)})</span></p>{cards}</div>')


def public_text(message: str) -> str:
    """A library message made fit for the browser: absolute paths cut to their last part, passwords in URLs removed.
    The CLI shows the full message; the browser belongs to whoever reaches the server."""
    message = _URL_CREDENTIALS_RE.sub("", message)
    return _ABSOLUTE_PATH_RE.sub(lambda m: m.group(1), message)


def user_message(err: BaseException) -> str:
    """What a person is told when something fails: our own errors say how to fix it; anything else is logged with
    its traceback on the server and shown as one plain sentence."""
    if isinstance(err, QABotError):
        return public_text(str(err))
    log.exception("unexpected error in the UI", exc_info=err)
    return "Something went wrong on the server (the details are in its log); please try again."


def error_html(message: str) -> str:
    return f'<p class="qa-error" role="alert">{esc(message)}</p>'


def note_html(lines: Sequence[str], items: Sequence[str] = ()) -> str:
    body = "".join(f"<p>{esc(line)}</p>" for line in lines)
    if items:
        body += "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul>"
    return f'<div class="qa-note">{body}</div>'


def parse_filters(sources: list[str] | None, date_from: str, date_to: str) -> Filters:
    dates = []
    for label, value in (("from", date_from), ("to", date_to)):
        value = (value or "").strip()
        if value and not _DATE_RE.fullmatch(value):
            raise QABotError(f"the 'published {label}' date {value!r} is not a date; write it as YYYY-MM-DD")
        dates.append(value or None)
    return Filters(tuple(sources or ()), dates[0], dates[1])
