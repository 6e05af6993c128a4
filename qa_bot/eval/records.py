"""The evaluation's input files as typed records: gold Q&A items and reference summaries (JSON lines, checked by
pydantic models), and the article-extraction benchmark's ground truth.

A bad line is a :class:`~qa_bot.errors.GoldFormatError` naming ``file:line``, the field and the fix; the first problem
in a file is reported (fields in the order the models declare them)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ..errors import GoldFormatError, InputError
from .metrics import normalize_answer

CONVERSATION_EXAMPLE = ('{"id", "doc_ids": [...], "turns": [{"question", "answers": [...]}, '
                        '{"question", "answers": [...], "independent": false}]}')
GOLD_EXAMPLE = '{"id", "question", "answerable", "answers": [...], "doc_ids": [...], "evidence", "type", "source"}'
SUMMARY_EXAMPLE = '{"doc_id", "text", "reference"} (optionally "title")'


# --- field types: what a JSON value must be, and the message when it is not -----------------------------------------
def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("gold_field", "{message}", {"message": message})


def _shown(value: Any) -> str:
    return json.dumps(value)[:80]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _problem(f"must be a string, got {_shown(value)}")
    return value.strip()


def _non_empty_string(value: Any) -> str:
    value = _string(value)
    if not value:
        raise _problem("is empty")
    return value


def _true_or_false(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _problem(f"must be true or false, got {_shown(value)}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _problem(f"must be a list of strings, got {_shown(value)}")
    value = tuple(v.strip() for v in value)
    if any(not v for v in value):
        raise _problem("holds an empty string")
    return value


def _string_or_none(value: Any) -> str:
    return "" if value is None else _string(value)


Text = Annotated[str, BeforeValidator(_non_empty_string)]
OptionalText = Annotated[str, BeforeValidator(_string)]
NullableText = Annotated[str, BeforeValidator(_string_or_none)]
Flag = Annotated[bool, BeforeValidator(_true_or_false)]
Strings = Annotated[tuple[str, ...], BeforeValidator(_strings)]


class GoldItem(BaseModel):
    """One gold question. Answerable questions have acceptable short ``answers`` and the ``doc_ids`` that support
    them; unanswerable ones have neither. Other fields of a line (e.g. ``absent_answers``) are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Text
    question: Text
    answerable: Flag
    answers: Strings
    doc_ids: Strings
    type: Text
    evidence: OptionalText = ""
    source: OptionalText = ""
    line: int = 0  # where it is in its file

    @model_validator(mode="after")
    def _consistent(self) -> GoldItem:
        if self.answerable and not self.answers:
            raise _problem(f"question {self.id!r} is answerable but has no answers; "
                           "list at least one, or set \"answerable\": false")
        if self.answerable and not self.doc_ids:
            raise _problem(f"question {self.id!r} is answerable but has no doc_ids; list the documents that answer it")
        if not self.answerable and self.answers:
            raise _problem(f"question {self.id!r} is marked unanswerable but lists answers; "
                           "empty \"answers\" or set \"answerable\": true")
        if self.answers and not any(normalize_answer(a) for a in self.answers):
            raise _problem(f"the answers of {self.id!r} are only punctuation or articles")
        return self


class SummaryReference(BaseModel):
    """An article and its reference summary; ``title`` (optional) is shown to the summariser, as the headline of an
    indexed article is."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    doc_id: Text
    text: Text
    reference: Text
    title: NullableText = ""
    line: int = 0


class ConversationTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    question: Text
    answers: Strings
    independent: Flag = False  # a second question that does not depend on the first
    dependency: OptionalText = ""  # how it depends: pronoun, possessive, demonstrative, ellipsis, what-about, implicit
    standalone: OptionalText = ""  # how a careful person would rewrite it to stand alone


class Conversation(BaseModel):
    """Two turns about the articles ``doc_ids``: a question, then a follow-up (or an independent question)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: Text
    doc_ids: Strings
    turns: tuple[ConversationTurn, ConversationTurn]
    line: int = 0


# --- reading JSON-lines files -------------------------------------------------------------------------------------
def read_jsonl_records(path: Path, what: str, example: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a bad line is a GoldFormatError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise GoldFormatError(f"{what} file {path} does not exist; pass a .jsonl file with one {example} per line")
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise GoldFormatError(f"{what} file {path} cannot be read ({err.strerror or err})") from err
    found = False
    with handle:
        number = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as err:
                raise GoldFormatError(f"{path}:{number + 1}: not UTF-8 text ({err.reason}); save the file as UTF-8") from err
            if not line:
                break
            number += 1
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise GoldFormatError(f"{path}:{number}: not valid JSON ({err.msg} at column {err.colno}); "
                                      f"each line must be one object like {example}") from err
            if not isinstance(record, dict):
                raise GoldFormatError(f"{path}:{number}: expected a JSON object like {example}, "
                                      f"got {type(record).__name__}")
            found = True
            yield number, record
    if not found:
        raise GoldFormatError(f"{what} file {path} holds no records; it needs one {example} per line")


def _parse(model: type[BaseModel], record: dict, path: Path, number: int):
    """The record as ``model``; the first problem pydantic finds becomes a one-line GoldFormatError."""
    where = f"{path}:{number}"
    try:
        return model.model_validate({**record, "line": number})
    except ValidationError as err:
        first = err.errors()[0]
        field = first["loc"][0] if first["loc"] else None
        if first["type"] == "missing":
            raise GoldFormatError(f"{where}: missing field {field!r}") from None
        message = first["ctx"]["message"] if first["type"] == "gold_field" else first["msg"]
        raise GoldFormatError(f"{where}: field {field!r} {message}" if field else f"{where}: {message}") from None


def _load(model: type[BaseModel], path: Path | str, what: str, example: str, key: str) -> list:
    """Every record of a JSON-lines file as ``model``, with ``key`` unique across the file."""
    path = Path(path)
    items = []
    seen: dict[str, int] = {}
    for number, record in read_jsonl_records(path, what, example):
        item = _parse(model, record, path, number)
        value = getattr(item, key)
        if value in seen:
            raise GoldFormatError(f"{path}:{number}: {key} {value!r} is also on line {seen[value]}; "
                                  f"{key}s must be unique")
        seen[value] = number
        items.append(item)
    return items


def load_gold(path: Path | str) -> list[GoldItem]:
    """Read and check a gold Q&A file; the first problem raises :class:`GoldFormatError` with file:line and the fix.

    Required: ``id``, ``question``, ``answerable``, ``answers``, ``doc_ids``, ``type``; ``evidence`` and ``source`` may
    be left out. Answerable questions need at least one answer and one doc id; unanswerable ones must have no
    answers. Other fields (e.g. ``absent_answers``) are ignored."""
    return _load(GoldItem, path, "gold", GOLD_EXAMPLE, "id")


def load_conversations(path: Path | str) -> list[Conversation]:
    """Read and check two-turn conversations (GoldFormatError with file:line on a bad one)."""
    return _load(Conversation, path, "conversation", CONVERSATION_EXAMPLE, "id")


def load_summary_references(path: Path | str) -> list[SummaryReference]:
    """Read and check ``{"doc_id", "text", "reference"}`` records (GoldFormatError with file:line on a bad one)."""
    return _load(SummaryReference, path, "reference", SUMMARY_EXAMPLE, "doc_id")


# --- the article-extraction benchmark ------------------------------------------------------------------------------
def load_extraction_benchmark(html_dir: Path) -> tuple[dict[str, Any], list[Path]]:
    """The benchmark's ground truth (page key → ``{"url", "articleBody", ...}``) and its pages
    (``html/<key>.html.gz``), checked: a missing or unreadable part is an InputError saying what the folder needs."""
    html_dir = Path(html_dir)
    gt_path = html_dir / "ground-truth.json"
    pages_dir = html_dir / "html"
    if not html_dir.is_dir():
        raise InputError(
            f"Extraction benchmark folder {html_dir} does not exist; point it at the folder that holds "
            "ground-truth.json and html/<key>.html.gz."
        )
    if not gt_path.is_file():
        raise InputError(
            f"{gt_path} is missing; the extraction benchmark folder must hold ground-truth.json "
            "(article-extraction-benchmark layout)."
        )
    pages = sorted(pages_dir.glob("*.html.gz")) if pages_dir.is_dir() else []
    if not pages:
        raise InputError(
            f"No pages found under {pages_dir}; the extraction benchmark folder must hold html/<key>.html.gz files."
        )
    try:
        truth = json.loads(gt_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{gt_path} is not readable JSON ({err}); restore it from the benchmark copy.") from err
    if not isinstance(truth, dict):
        raise InputError(f"{gt_path} must be a JSON object keyed by page key; restore it from the benchmark copy.")
    keys = [page_key(p) for p in pages]
    missing = [k for k in keys if k not in truth]
    if missing:
        raise InputError(
            f"{len(missing)} page(s) in {pages_dir} have no entry in ground-truth.json "
            f"(first: {missing[0]}); the folder must be an unmodified benchmark copy."
        )
    return truth, pages


def page_key(page: Path) -> str:
    return page.name[: -len(".html.gz")]


def read_page(page: Path) -> str:
    """A benchmark page's HTML: UTF-8 as fetched, Latin-1 for anything else."""
    import gzip

    raw = gzip.decompress(page.read_bytes())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
