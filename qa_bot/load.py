"""Load articles from files and folders (.txt, .md, .html/.htm, .jsonl) and clean them of web boilerplate.

The loader never raises for one bad file: it yields a :class:`LoadIssue` for it and goes on, so one broken file in a
batch costs nothing else."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from .records import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
# The longest article of the news corpus is ~100 KB; a page saved with inline images can reach a few MB. A bigger
# .txt/.md/.html file is a dump of many articles, not one: it is refused before it is read, so memory stays flat.
# The same cap applies to one line (one record) of a .jsonl file, which is otherwise streamed line by line.
MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class LoadIssue:
    path: str
    message: str
    line: int | None = None
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


# --- plain-text boilerplate -------------------------------------------------------------------------------------
# Lines a web page copied as text carries around the article. Each pattern matches a whole (stripped) line.
_BOILERPLATE_LINES = [
    r"skip to (main )?content",
    r"(share|share this( article| story| page)?|share on \w+)\s*:?",
    r"(most popular|most read|trending( now)?|related( articles| stories)?|read more|see also|more from \w+)\s*:?",
    r"(advertisement|sponsored( content)?|promoted)",
    r"(subscribe|sign up|sign in|log in|login|register)( (now|today|for free|to our newsletter))?\.?",
    r"(follow us|like us|follow)( on (twitter|facebook|instagram|x))?\s*:?",
    r"(facebook|twitter|x|linkedin|whatsapp|email|print|copy link)(\s*[|/·•]\s*(facebook|twitter|x|linkedin|whatsapp|email|print|copy link))*",
    r"(cookie|cookies)( policy| settings| preferences)?",
    r"(back to top|top of page|menu|search|home|close)",
    r"[\w.\- ]+\.(jpe?g|png|gif|webp|svg|avif)",  # an image file name left where the image was
    r"(image|photo|picture|video)( credit)?s?\s*:.*",
    r"(advertisement|ad)\s*-\s*scroll to continue",
]
_BOILERPLATE_RE = re.compile(r"^(?:" + "|".join(_BOILERPLATE_LINES) + r")$", re.IGNORECASE)
# A media caption glued to its label when the page was copied: "videoThe mysterious armored train …".
_GLUED_CAPTION_RE = re.compile(r"^(video|photo|image|gallery|audio|slideshow)(?=[A-Z])")
_SOURCE_LINE_RE = re.compile(r"^(?:source|sources|via)\s*[:\-–—]\s*([^\n]{2,80}?)\s*$", re.IGNORECASE | re.MULTILINE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")


def normalise_text(text: str) -> str:
    """Unicode NFC, no control/zero-width characters, unified newlines, collapsed runs of blank lines and spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", text.replace("\t", " ").replace("\xa0", " "))
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    # composed last: removing a zero-width character can bring a letter and its combining mark together ("A\u200b\u0300")
    return unicodedata.normalize("NFC", re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())


def _is_title_like(line: str) -> bool:
    return 0 < len(line) <= 200 and not line.endswith((".", "?", "!", ":", ";", ",")) or line.endswith("?")


def clean_page_text(text: str) -> tuple[str, str]:
    """Remove web-page furniture from text copied from a browser. Returns ``(title, body)``.

    The title is the first substantial line when it looks like a headline; repeated copies of any line (a title shown
    three times, a repeated caption) are kept once. The body starts with the title once."""
    lines = [line for line in normalise_text(text).split("\n")]
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        if not line:
            kept.append("")
            continue
        key = line.casefold()
        if _BOILERPLATE_RE.match(line) or _GLUED_CAPTION_RE.match(line):
            continue
        if key in seen and len(line) < 300:
            continue
        seen.add(key)
        kept.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    first = next((line for line in body.split("\n") if line), "")
    title = first if _is_title_like(first) and len(first.split()) >= 3 else ""
    return title, body


# --- decoding ---------------------------------------------------------------------------------------------------
_BINARY_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x1f\x8b": "a gzip archive",
}


class _Unreadable(Exception):
    pass


def decode_bytes(data: bytes) -> tuple[str, str | None]:
    """Decode file bytes as text. Returns ``(text, warning)``; raises _Unreadable for binary data."""
    for signature, kind in _BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise _Unreadable(f"this is {kind}, not text; convert it to .txt, .md, .html or .jsonl first")
    sample = data[:8192]
    if b"\x00" in sample:
        raise _Unreadable("this looks like a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        text = data.decode("cp1252", errors="replace")
        controls = sum(1 for ch in text[:8192] if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
        if controls > len(text[:8192]) * 0.05:
            raise _Unreadable("this looks like a binary file, not text") from err
        return text, f"not valid UTF-8 (first bad byte at offset {err.start}); read as Windows-1252 instead"


# --- documents --------------------------------------------------------------------------------------------------
def content_hash(*parts: str | None) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _finish(doc: Document) -> Document:
    return replace(doc, content_hash=content_hash(doc.text, doc.title, doc.url, doc.source, doc.published))


def safe_upload_name(path: str) -> str:
    """The bare file name of an upload, reduced to safe characters: it becomes the document id, never a path."""
    name = re.sub(r"[^\w.\-]+", "_", Path(path).name).strip("._")
    return name or "upload"


def slug_id(relative: Path) -> str:
    """A stable document id from a file's path below the folder given to ingest (its name when a file was given)."""
    stem = relative.with_suffix("").as_posix()
    return re.sub(r"[^\w.\-/]+", "-", stem).strip("-/") or "document"


def _with_file_date(doc: Document, path: Path) -> Document:
    """The day the file was last changed, for a library row whose article gives no date (after the content hash:
    a file that is only touched, as by a new checkout, is still unchanged)."""
    try:
        changed = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).date().isoformat()
    except OSError:
        return doc
    return replace(doc, file_date=changed)


def split_source_line(body: str) -> tuple[str, str]:
    """``(source, body)``: a page copied as text often names its source on a line of its own ("Source: Le Parisien");
    that line is the source, not article text. The last such line wins; the body keeps every other line."""
    found = list(_SOURCE_LINE_RE.finditer(body))
    if not found:
        return "", body
    line = found[-1]
    return line.group(1).strip(), re.sub(r"\n{3,}", "\n\n", body[: line.start()] + body[line.end():]).strip()


def _load_text_file(path: Path, doc_id: str, text: str) -> Document | LoadIssue:
    title, body = clean_page_text(text)
    source, body = split_source_line(body)
    if not body:
        return LoadIssue(str(path), "the file is empty (or only whitespace); nothing to index")
    if path.suffix.lower() in {".md", ".markdown"}:
        heading = re.match(r"#\s+(.+)", body)
        if heading:
            title = heading.group(1).strip()
    document = _finish(Document(doc_id=doc_id, text=body, title=title or path.stem, source=source, path=str(path)))
    return _with_file_date(document, path)


def _load_html_file(path: Path, doc_id: str, html: str) -> Document | LoadIssue:
    from .extract import extract_article  # trafilatura is heavy: import it only when HTML is read

    article = extract_article(html)
    text = normalise_text(article.text)
    if not text:
        return LoadIssue(str(path), "no article text found in this HTML page (only navigation or boilerplate)")
    document = _finish(
        Document(
            doc_id=doc_id,
            text=text,
            title=article.title or path.stem,
            url=article.url,
            source=article.source,
            published=article.published,
            path=str(path),
        )
    )
    return _with_file_date(document, path)


JSONL_REQUIRED = ("doc_id", "text")


def _parse_jsonl_line(path: Path, line: str, number: int) -> Document | LoadIssue | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return LoadIssue(str(path), f"not valid JSON ({err.msg}); line skipped", line=number)
    if not isinstance(record, dict):
        return LoadIssue(str(path), "expected a JSON object; line skipped", line=number)
    missing = [name for name in JSONL_REQUIRED if not isinstance(record.get(name), str) or not record[name].strip()]
    if missing:
        return LoadIssue(str(path), f"missing required field {', '.join(missing)}; line skipped", line=number)
    text = normalise_text(record["text"])
    if not text:
        return LoadIssue(str(path), "empty text; line skipped", line=number)
    published = record.get("published")
    return _finish(
        Document(
            doc_id=record["doc_id"].strip(),
            text=text,
            title=str(record.get("title") or "").strip(),
            url=record.get("url") or None,
            source=str(record.get("source") or "").strip(),
            published=str(published)[:10] if published else None,
            path=str(path),
        )
    )


def load_file(path: Path, doc_id: str | None = None) -> Iterator[Document | LoadIssue]:
    """Documents (or issues) from one file; ``doc_id`` defaults to the file's name without suffix."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield LoadIssue(str(path), f"unsupported file type {suffix or '(none)'}; use .txt, .md, .html, .htm or .jsonl")
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES and suffix not in JSONL_SUFFIXES:
            yield LoadIssue(
                str(path),
                f"file is {size / 2**20:.0f} MB; one article over {MAX_FILE_BYTES // 2**20} MB is refused unread — "
                "if it holds many articles, split it into files or convert it to .jsonl (one article a line)",
            )
            return
        if suffix in JSONL_SUFFIXES:
            yield from _load_jsonl_streaming(path)
            return
        data = path.read_bytes()
    except OSError as err:
        yield LoadIssue(str(path), f"cannot read the file: {err.strerror or err}")
        return
    try:
        text, warning = decode_bytes(data)
    except _Unreadable as err:
        yield LoadIssue(str(path), str(err))
        return
    if warning:
        yield LoadIssue(str(path), warning, level="warning")
    doc_id = doc_id or slug_id(Path(path.name))
    if suffix in HTML_SUFFIXES:
        yield _load_html_file(path, doc_id, text)
    else:
        yield _load_text_file(path, doc_id, text)


def _load_jsonl_streaming(path: Path) -> Iterator[Document | LoadIssue]:
    """Read a .jsonl line by line so a large corpus never sits in memory (one line at a time, each capped).

    A doc_id that repeats is kept from its last valid line only: a first pass finds that line, so an earlier copy is
    never indexed and then replaced, and ingesting the same file again writes nothing."""
    with path.open("rb") as handle:
        head = handle.read(8)
        handle.seek(0)
        try:
            decode_bytes(head)
        except _Unreadable as err:
            yield LoadIssue(str(path), str(err))
            return
        last_line: dict[str, int] = {}
        for number, raw in _numbered_lines(handle):
            item = _parse_raw_jsonl_line(path, raw, number)
            if isinstance(item, Document):
                last_line[item.doc_id] = number
        handle.seek(0)
        first_line: dict[str, int] = {}
        for number, raw in _numbered_lines(handle):
            item = _parse_raw_jsonl_line(path, raw, number)
            if isinstance(item, Document):
                first_line.setdefault(item.doc_id, number)
                if last_line[item.doc_id] != number:
                    continue  # superseded by a later line, reported there
                if first_line[item.doc_id] != number:
                    yield LoadIssue(
                        str(path),
                        f"doc_id {item.doc_id!r} also on line {first_line[item.doc_id]}; the later record wins",
                        number,
                        "warning",
                    )
            if item is not None:
                yield item


def _numbered_lines(handle) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` of a binary file; ``None`` for a line over MAX_FILE_BYTES, skipped unheld."""
    number = 0
    while raw := handle.readline(MAX_FILE_BYTES + 1):
        number += 1
        if len(raw) > MAX_FILE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = handle.readline(2**20)
            yield number, None
        else:
            yield number, raw


def _parse_raw_jsonl_line(path: Path, raw: bytes | None, number: int) -> Document | LoadIssue | None:
    if raw is None:
        return LoadIssue(str(path), f"line is over {MAX_FILE_BYTES // 2**20} MB; line skipped", line=number)
    try:
        line = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return LoadIssue(str(path), "not valid UTF-8; line skipped", line=number)
    return _parse_jsonl_line(path, line, number)


def iter_files(paths: Iterable[Path], doc_ids: Mapping[Path, str] | None = None,
               ) -> Iterator[tuple[Path, str | None] | LoadIssue]:
    """Expand folders recursively into supported files. Yields (file, doc_id) pairs or issues for missing paths.

    A file inside a folder is named by its path below the folder; a file given directly by ``doc_ids[file]`` if
    there, else (``None``) by its own name."""
    for path in paths:
        path = Path(path)
        if not path.exists():
            yield LoadIssue(str(path), "no such file or folder")
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            files = [p for p in files if not any(part.startswith(".") for part in p.relative_to(path).parts)]
            if not files:
                yield LoadIssue(str(path), "the folder holds no .txt, .md, .html or .jsonl files")
            for file in files:
                yield file, slug_id(file.relative_to(path))
        else:
            yield path, (doc_ids or {}).get(path)


def load_paths(paths: Iterable[Path | str], doc_ids: Mapping[Path, str] | None = None,
               ) -> Iterator[Document | LoadIssue]:
    """All documents under the given files and folders, with an issue for each thing that could not be read.
    ``doc_ids`` names files given directly (an upload is named after its cleaned name, not its temporary path);
    a .jsonl's records always carry their own ids."""
    for item in iter_files((Path(p) for p in paths), doc_ids):
        if isinstance(item, LoadIssue):
            yield item
        else:
            file, doc_id = item
            yield from load_file(file, doc_id)
