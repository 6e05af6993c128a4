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
from ..summarize import Summary

log = logging.getLogger("qa_bot.ui")

CONTEXT_CHARS = 320  # passage text shown on each side of the cited sentence
_ABSOLUTE_PATH_RE = re.compile(r"(?<![\w:/.~])~?/(?:[^\s/'\"`]+/)*([^\s/'\"`;,]+)/?")  # group 1: the last part
_URL_CREDENTIALS_RE = re.compile(r"(?<=://)[^/@\s]+@")
_SENTENCE_END_RE = re.compile(r"[.!?][”\"’)]?\s|\n")


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def chat_text(text: str) -> str:
    """Chat bubble content: escaped, so an article's markup shows as text; the [n] markers stay as typed."""
    return html.escape(text or "", quote=False)


def highlighted_passage(passage: str, quote: str, context: int = CONTEXT_CHARS, related: bool = False) -> str:
    """The passage around the cited sentence, escaped, with the sentence in <mark> (a related passage's closest
    sentence in a quieter <span>: it is not a citation). Each line of the passage stays a line, so a heading does not
    run into the sentence after it; other whitespace is collapsed, and the quote (one line) matches across it."""
    passage = "\n".join(line for line in (" ".join(part.split()) for part in passage.split("\n")) if line)
    words = quote.split()
    found = re.search(r"\s+".join(map(re.escape, words)), passage) if words else None
    opening, closing = ('<span class="qa-closest">', "</span>") if related else ("<mark>", "</mark>")
    if found is None:
        return f"{opening}{esc(' '.join(words))}{closing}" if words else _lines(passage[: 2 * context])
    start, end = found.span()
    before = passage[max(0, start - context) : start]
    after = passage[end : end + context]
    if start > context:  # start at a sentence (or else a word) and show that text was left out
        boundary = _SENTENCE_END_RE.search(before)
        before = "…" + (before[boundary.end():] if boundary else before.split(" ", 1)[-1])
    if end + context < len(passage):
        ends = list(_SENTENCE_END_RE.finditer(after))
        after = (after[: ends[-1].end()].rstrip() if ends else after.rsplit(" ", 1)[0]) + " …"
    return f"{_lines(before)}{opening}{_lines(passage[start:end])}{closing}{_lines(after)}"


def _lines(text: str) -> str:
    return esc(text).replace("\n", "<br>")


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


def render_card(citation: Citation, label: str, score: str = "", related: bool = False) -> str:
    title = esc(citation.title or citation.doc_id)
    if citation.url and re.match(r"https?://", citation.url, re.IGNORECASE):
        title = f'<a href="{esc(citation.url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    # No raw id: the title names the article (the id stays in data-doc-id for tools).
    meta = [esc(x) for x in (citation.source, citation.published) if x]
    if score:
        meta.append(f'<span class="qa-score">{esc(score)}</span>')
    meta_line = f'<div class="qa-meta">{" · ".join(meta)}</div>' if meta else ""
    passage = highlighted_passage(citation.passage or citation.quote, citation.quote, related=related)
    return (f'<div class="qa-card" data-doc-id="{esc(citation.doc_id)}">'
            f'<h4><span class="qa-label">{esc(label)}</span>{title}</h4>{meta_line}'
            f'<p class="qa-passage">{passage}</p></div>')


def render_sources(answer: Answer, show_scores: bool = False) -> str:
    hits = {h.chunk.chunk_id: h for h in answer.hits}

    def score(c: Citation) -> str:
        return score_line(hits.get(c.chunk_id)) if show_scores else ""

    rewritten = (f'<p class="qa-note">Searched for: {esc(answer.standalone_question)}</p>'
                 if answer.standalone_question else "")
    if answer.declined:
        cards = "".join(render_card(c, "Related", score(c), related=True) for c in answer.related)
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


def sentence(message: str) -> str:
    """A message shown on its own starts with a capital (library messages are written to follow "Error: ")."""
    return message[:1].upper() + message[1:]


def error_html(message: str) -> str:
    return f'<p class="qa-error" role="alert">{esc(sentence(message))}</p>'


def summary_note(summary: Summary, length: str) -> str:
    """How a summary was made, saying only what was checked: the checks look for the names and numbers of the
    model's words in the article (and, for a paragraph, in one sentence of it) and reject a line that turns round who
    did what to whom as the parse reads it; they cannot tell whether every relation the model states is right."""
    if summary.path not in ("generated", "extractive"):  # stored before the cache kept how it was made
        return note_html(["From the summary cache."])
    if summary.path == "generated" and length == "paragraph":
        how = ("Written by the model. Each sentence checked: its names and numbers appear together in one sentence of "
               "the article, most of its words are the article's, and it does not turn round who did what to whom.")
        if summary.dropped:
            how += f" {summary.dropped} sentence{'s' * (summary.dropped != 1)} that failed were left out."
    elif summary.path == "generated":
        how = ("Written by the model. Checked: its names and numbers appear in the article, most of its words are the "
               "article's, and it does not turn round who did what to whom.")
    elif length == "paragraph":
        how = "Sentences taken from the article, one from each part of it."
    else:
        how = "A sentence taken from the article: its most central one, cut to one line."
    if summary.path == "extractive" and summary.fallback:
        how = f"{how[:-1]}, because {summary.fallback}."
    return note_html([how])


def note_html(lines: Sequence[str], items: Sequence[str] = ()) -> str:
    body = "".join(f"<p>{esc(line)}</p>" for line in lines)
    if items:
        body += "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in items) + "</ul>"
    return f'<div class="qa-note">{body}</div>'


def parse_filters(sources: list[str] | None, date_from: str, date_to: str) -> Filters:
    """The search filters of the chat form; an empty date box means no bound (Filters checks the dates)."""
    return Filters(tuple(sources or ()), (date_from or "").strip() or None, (date_to or "").strip() or None)
