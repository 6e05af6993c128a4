"""Evaluation: score the Q&A pipeline against a gold file, and the one-line summariser against reference summaries.

Every question goes through :meth:`Pipeline.ask`, the same path as ``qa-bot ask``. Metrics are computed by small pure
functions (normalisation, containment, token F1, per-question scores, aggregation) so they can be tested on hand-made
cases; the runners only time the calls and write the outputs. Nothing here is random: two runs with the same settings
give the same answers and metrics (latencies apart).

Definitions (answerable = the gold says the corpus answers it):

- ``answer_accuracy``: answerable questions whose answer text (citation markers removed, sources not counted) contains
  a gold answer after :func:`normalize_answer`, at word boundaries, and that were not declined.
- ``token_f1``: mean over answerable questions of the best SQuAD token F1 against the gold answers (0 when declined).
- ``retrieval_recall_at_k``: answerable questions with a gold document among the retrieved passages' documents.
- ``mrr``: mean of 1/rank of the first gold document among the distinct documents of the retrieved passages, in order.
- ``citation_precision``: of all citations shown in answers to answerable questions, the share pointing at a gold doc.
- ``citation_recall``: of the correct answers, the share citing at least one gold document.
- ``refusal_rate``: unanswerable questions declined; ``false_refusal_rate``: answerable questions declined.
- ``refusal_curve``: both rates had the refusal threshold been t, for a sweep of t, from each answer's evidence score
  (an answer is declined exactly when its best evidence score is below the threshold).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import string
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import GoldFormatError, IndexNotFoundError, InputError, QABotError
from .text import strip_citation_marks

__all__ = [
    "GoldItem", "SummaryReference", "load_gold", "load_summary_references", "normalize_answer", "answer_contains",
    "token_f1", "score_answer", "aggregate_qa", "refusal_curve", "eval_collection_name", "evaluate_qa",
    "format_qa_table", "evaluate_summaries", "format_summary_table", "QA_KEYS", "SUMMARY_KEYS",
]

# The keys the issue requires in the --json output (more may be present).
QA_KEYS = (
    "n", "n_answerable", "n_unanswerable", "answer_accuracy", "token_f1", "retrieval_recall_at_k", "mrr", "k",
    "citation_precision", "citation_recall", "refusal_rate", "false_refusal_rate", "latency_p50_s", "latency_p95_s",
    "model", "embedder", "prompt",
)
SUMMARY_KEYS = (
    "rouge1", "rouge2", "rougeL", "one_line_rate", "faithful_rate", "mean_words", "latency_p50_s",
    "lead1_rouge1", "lead1_rouge2", "lead1_rougeL",
)
ANSWER_PATHS = ("generated", "extractive", "declined")
CURVE_THRESHOLDS = tuple(round(i * 0.05, 2) for i in range(21))  # 0.00, 0.05, …, 1.00
DIGITS = 4


# --- gold and reference files ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    type: str
    evidence: str = ""
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class SummaryReference:
    doc_id: str
    text: str
    reference: str
    title: str = ""  # optional: the headline, which the summariser uses as it does for an indexed article
    line: int = 0


def _read_jsonl(path: Path, what: str, example: str) -> Iterable[tuple[int, dict]]:
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


def _field(path: Path, number: int, record: dict, key: str, kind: type, *, required: bool = True,
           non_empty: bool = False, default: Any = None) -> Any:
    where = f"{path}:{number}"
    if key not in record:
        if required:
            raise GoldFormatError(f"{where}: missing field {key!r}")
        return default
    value = record[key]
    names = {str: "a string", bool: "true or false", list: "a list of strings"}
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GoldFormatError(f"{where}: field {key!r} must be {names[list]}, got {json.dumps(value)[:80]}")
        value = [v.strip() for v in value]
        if any(not v for v in value):
            raise GoldFormatError(f"{where}: field {key!r} holds an empty string")
    elif not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise GoldFormatError(f"{where}: field {key!r} must be {names[kind]}, got {json.dumps(value)[:80]}")
    if kind is str:
        value = value.strip()
    if non_empty and not value:
        raise GoldFormatError(f"{where}: field {key!r} is empty")
    return value


GOLD_EXAMPLE = '{"id", "question", "answerable", "answers": [...], "doc_ids": [...], "evidence", "type", "source"}'
SUMMARY_EXAMPLE = '{"doc_id", "text", "reference"} (optionally "title")'


def load_gold(path: Path | str) -> list[GoldItem]:
    """Read and check a gold Q&A file; the first problem raises :class:`GoldFormatError` with file:line and the fix.

    Required: ``id``, ``question``, ``answerable``, ``answers``, ``doc_ids``, ``type``; ``evidence`` and ``source`` may
    be left out. Answerable questions need at least one answer and one doc id; unanswerable ones must have no
    answers. Other fields (e.g. ``absent_answers``) are ignored."""
    path = Path(path)
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for number, record in _read_jsonl(path, "gold", GOLD_EXAMPLE):
        item = GoldItem(
            id=_field(path, number, record, "id", str, non_empty=True),
            question=_field(path, number, record, "question", str, non_empty=True),
            answerable=_field(path, number, record, "answerable", bool),
            answers=tuple(_field(path, number, record, "answers", list)),
            doc_ids=tuple(_field(path, number, record, "doc_ids", list)),
            type=_field(path, number, record, "type", str, non_empty=True),
            evidence=_field(path, number, record, "evidence", str, required=False, default=""),
            source=_field(path, number, record, "source", str, required=False, default=""),
            line=number,
        )
        where = f"{path}:{number}"
        if item.answerable and not item.answers:
            raise GoldFormatError(f"{where}: question {item.id!r} is answerable but has no answers; "
                                  "list at least one, or set \"answerable\": false")
        if item.answerable and not item.doc_ids:
            raise GoldFormatError(f"{where}: question {item.id!r} is answerable but has no doc_ids; "
                                  "list the documents that answer it")
        if not item.answerable and item.answers:
            raise GoldFormatError(f"{where}: question {item.id!r} is marked unanswerable but lists answers; "
                                  "empty \"answers\" or set \"answerable\": true")
        if not any(normalize_answer(a) for a in item.answers) and item.answers:
            raise GoldFormatError(f"{where}: the answers of {item.id!r} are only punctuation or articles")
        if item.id in seen:
            raise GoldFormatError(f"{where}: id {item.id!r} is also on line {seen[item.id]}; ids must be unique")
        seen[item.id] = number
        items.append(item)
    return items


def load_summary_references(path: Path | str) -> list[SummaryReference]:
    """Read and check ``{"doc_id", "text", "reference"}`` records (GoldFormatError with file:line on a bad one)."""
    path = Path(path)
    items: list[SummaryReference] = []
    seen: dict[str, int] = {}
    for number, record in _read_jsonl(path, "reference", SUMMARY_EXAMPLE):
        item = SummaryReference(
            doc_id=_field(path, number, record, "doc_id", str, non_empty=True),
            text=_field(path, number, record, "text", str, non_empty=True),
            reference=_field(path, number, record, "reference", str, non_empty=True),
            title=_field(path, number, record, "title", str) if record.get("title") is not None else "",
            line=number,
        )
        if item.doc_id in seen:
            raise GoldFormatError(f"{path}:{number}: doc_id {item.doc_id!r} is also on line {seen[item.doc_id]}; "
                                  "doc_ids must be unique")
        seen[item.doc_id] = number
        items.append(item)
    return items


# --- metric functions --------------------------------------------------------------------------------------------
_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u0060": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",  # hyphens are removed like '-', not split on
})
_ASCII_PUNCT = set(string.punctuation)
_ARTICLES_RE = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation plus Unicode care: NFKC, curly quotes → straight, lower case, ASCII punctuation removed
    (other punctuation such as dashes becomes a space), articles a/an/the removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).lower()
    out = []
    for ch in text:
        if ch in _ASCII_PUNCT:
            continue
        out.append(" " if unicodedata.category(ch).startswith("P") else ch)
    text = _ARTICLES_RE.sub(" ", "".join(out))
    return " ".join(text.split())


def answer_contains(answer_text: str, golds: Sequence[str]) -> bool:
    """Whether the normalised answer contains any normalised gold answer as a whole-word sequence."""
    pred = f" {normalize_answer(strip_citation_marks(answer_text))} "
    return any(g and f" {g} " in pred for g in (normalize_answer(x) for x in golds))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(pred: str, golds: Sequence[str]) -> float:
    """The best SQuAD token F1 of ``pred`` against any of ``golds`` (0 when there are none)."""
    pred_tokens = normalize_answer(strip_citation_marks(pred)).split()
    return max((_f1(pred_tokens, normalize_answer(g).split()) for g in golds), default=0.0)


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def score_answer(item: GoldItem, answer: Any) -> dict[str, Any]:
    """Per-question scores of one :class:`~qa_bot.records.Answer` (metrics that do not apply are ``None``)."""
    declined = bool(answer.declined)
    retrieved = _distinct(h.chunk.doc_id for h in (answer.hits or []))
    cited = [c.doc_id for c in (answer.citations or [])] if not declined else []
    gold_docs = set(item.doc_ids)
    score = getattr(answer, "evidence_score", None)
    row: dict[str, Any] = {
        "declined": declined,
        "path": answer.path,
        "retrieved_doc_ids": retrieved,
        "cited_doc_ids": cited,
        "evidence_score": None if score is None else float(score),
        "correct": None, "token_f1": None, "retrieval_hit": None, "reciprocal_rank": None,
        "citations_gold": None, "cites_gold": None,
    }
    if item.answerable:
        correct = not declined and answer_contains(answer.text, item.answers)
        rank = next((i for i, d in enumerate(retrieved, start=1) if d in gold_docs), None)
        row.update(
            correct=correct,
            token_f1=0.0 if declined else round(token_f1(answer.text, item.answers), DIGITS),
            retrieval_hit=rank is not None,
            reciprocal_rank=round(1.0 / rank, DIGITS) if rank else 0.0,
            citations_gold=sum(d in gold_docs for d in cited),
            cites_gold=any(d in gold_docs for d in cited),
        )
    return row


def _mean(values: Iterable[float | bool]) -> float | None:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), DIGITS) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method), ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), DIGITS)


def aggregate_qa(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics over per-question rows (each: ``answerable`` plus the fields of :func:`score_answer`, and optionally
    ``latency_s``). Rates with nothing to count (e.g. refusal_rate without unanswerable questions) are ``None``."""
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]
    n_citations = sum(len(r["cited_doc_ids"]) for r in ans)
    correct = [r for r in ans if r["correct"]]
    latencies = [r["latency_s"] for r in rows if r.get("latency_s") is not None]
    paths = Counter(r["path"] for r in rows)
    return {
        "n": len(rows),
        "n_answerable": len(ans),
        "n_unanswerable": len(unans),
        "answer_accuracy": _mean(r["correct"] for r in ans),
        "token_f1": _mean(r["token_f1"] for r in ans),
        "retrieval_recall_at_k": _mean(r["retrieval_hit"] for r in ans),
        "mrr": _mean(r["reciprocal_rank"] for r in ans),
        "citation_precision": round(sum(r["citations_gold"] for r in ans) / n_citations, DIGITS) if n_citations else None,
        "citation_recall": _mean(r["cites_gold"] for r in correct),
        "refusal_rate": _mean(r["declined"] for r in unans),
        "false_refusal_rate": _mean(r["declined"] for r in ans),
        "latency_p50_s": _percentile(latencies, 50),
        "latency_p95_s": _percentile(latencies, 95),
        "paths": {p: round(paths.get(p, 0) / len(rows), DIGITS) if rows else None
                  for p in (*ANSWER_PATHS, *sorted(set(paths) - set(ANSWER_PATHS)))},
    }


def refusal_curve(rows: Sequence[dict[str, Any]], thresholds: Sequence[float] = CURVE_THRESHOLDS,
                  current: float | None = None) -> list[dict[str, Any]] | None:
    """(refusal_rate, false_refusal_rate) had the refusal threshold been t, for each t.

    A question is declined exactly when its best evidence score is below the threshold (or it had no evidence), so
    the rates are exact without re-running. ``answer_accuracy`` (over answerable questions) is given only for
    thresholds at or above ``current``: there every answered question was also answered in this run, so its
    correctness is known. ``None`` when the answers carry no evidence score."""
    if not rows or all(r.get("evidence_score") is None for r in rows):
        return None
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]

    def declined(r: dict, t: float) -> bool:
        return r.get("evidence_score") is None or r["evidence_score"] < t

    points = []
    for t in sorted(set(thresholds) | ({round(current, 4)} if current is not None else set())):
        accuracy = None
        if current is not None and t >= current - 1e-9 and ans:
            accuracy = _mean(bool(r["correct"]) and not declined(r, t) for r in ans)
        points.append({
            "threshold": t,
            "refusal_rate": _mean(declined(r, t) for r in unans),
            "false_refusal_rate": _mean(declined(r, t) for r in ans),
            "answer_accuracy": accuracy,
        })
    return points


# --- the evaluation corpus ---------------------------------------------------------------------------------------
def _sha256_path(path: Path) -> str:
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if file != path:
            h.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def eval_collection_name(corpus_sha256: str, embedder: str, embed_backend: str, chunk_tokens: int,
                         chunk_overlap_tokens: int) -> str:
    """``eval-<12 hex>``: one collection per corpus content and indexing setup, reused across runs."""
    key = f"{corpus_sha256}|{embedder}|{embed_backend}|{chunk_tokens}|{chunk_overlap_tokens}"
    return "eval-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _count_jsonl_records(path: Path) -> int | None:
    if not path.is_file() or path.suffix.lower() != ".jsonl":
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _prepare_corpus(settings, corpus: Path, embedder):
    """Settings pointing at the corpus's own eval collection, built (or reused) now; plus a description of it."""
    from .embedders import embedder_identity

    corpus = Path(corpus)
    if not corpus.exists():
        raise InputError(f"corpus {corpus} does not exist; pass a .jsonl corpus (or a folder of articles)")
    sha = _sha256_path(corpus)
    embedder_name = embedder.name if embedder is not None else embedder_identity(settings.embedder)
    name = eval_collection_name(sha, embedder_name, settings.embed_backend, settings.chunk_tokens,
                                settings.chunk_overlap_tokens)
    return settings.model_copy(update={"collection": name}), {"path": str(corpus), "sha256": sha, "collection": name}


def _index_corpus(pipeline, corpus: Path, info: dict, progress: bool) -> None:
    expected = _count_jsonl_records(Path(corpus))
    store = pipeline.store(create=True)
    have = store.count_documents()
    if expected is not None and have == expected and store.count_chunks() > 0:
        info.update(docs=have, reused=True)
        return
    from tqdm import tqdm

    with tqdm(total=expected, desc="Indexing corpus", unit="doc", file=sys.stderr, disable=not progress) as bar:
        report = pipeline.ingest([corpus], progress=bar.update)
    for issue in report.issues:
        print(f"{'warning' if issue.level == 'warning' else 'skipped'}: {issue}", file=sys.stderr)
    info.update(docs=pipeline.store().count_documents(), reused=False, ingest=report.summary())


# --- Q&A evaluation ----------------------------------------------------------------------------------------------
def evaluate_qa(settings, gold_path: Path | str, corpus: Path | str | None = None, limit: int | None = None,
                out: Path | str | None = None, progress: bool = True, *, embedder=None, generator=None,
                client=None) -> dict[str, Any]:
    """Ask every gold question through one :class:`~qa_bot.pipeline.Pipeline` and score the answers.

    With ``corpus`` the questions run against that corpus, indexed in its own collection (``eval-<hash>`` in the
    same index folder; the configured collection is never touched). ``embedder``/``generator``/``client`` are handed
    to the Pipeline (tests pass fakes). With ``out`` the results, metrics and a Markdown report with plots are
    written there. Returns the metrics dict (see :data:`QA_KEYS`)."""
    from tqdm import tqdm

    from .pipeline import Pipeline

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    gold = load_gold(gold_path)
    if limit is not None:
        gold = gold[:limit]
    corpus_info = None
    if corpus is not None:
        settings, corpus_info = _prepare_corpus(settings, Path(corpus), embedder)
    pipeline = Pipeline(settings, embedder=embedder, generator=generator, client=client)
    if corpus is not None:
        _index_corpus(pipeline, Path(corpus), corpus_info, progress)

    if pipeline.store().count_chunks() == 0:
        raise IndexNotFoundError(f"the index {settings.collection!r} at {pipeline.location} is empty; add articles with "
                                 "qa-bot ingest PATH, or pass --corpus FILE")
    missing = _missing_gold_docs(pipeline, gold)
    if missing:
        print(f"warning: {len(missing)} gold document(s) are not in the index {settings.collection!r} "
              f"(first: {missing[0]}); retrieval recall cannot reach 1", file=sys.stderr)
    warmup = _warm_up(pipeline)

    rows: list[dict[str, Any]] = []
    for item in tqdm(gold, desc="Answering", unit="q", file=sys.stderr, disable=not progress):
        t0 = time.perf_counter()
        try:
            answer = pipeline.ask(item.question)
        except QABotError as err:  # shown as one line by the CLI: say which question
            raise type(err)(f"gold question {item.id!r} ({gold_path}:{item.line}): {err}") from err
        except Exception as err:
            err.add_note(f"while answering gold question {item.id!r} ({gold_path}:{item.line})")
            raise
        latency = time.perf_counter() - t0
        row = {"id": item.id, "question": item.question, "type": item.type, "source": item.source,
               "answerable": item.answerable, "gold_answers": list(item.answers), "gold_doc_ids": list(item.doc_ids),
               "answer": answer.text}
        row.update(score_answer(item, answer))
        row["citations"] = [{"n": c.n, "doc_id": c.doc_id, "title": c.title, "quote": c.quote}
                            for c in answer.citations]
        row["notes"] = list(answer.notes)
        row["timings"] = dict(answer.timings)  # the pipeline's own split: retrieve, evidence, generate
        row["latency_s"] = round(latency, DIGITS)
        rows.append(row)

    metrics = aggregate_qa(rows)
    metrics["k"] = settings.top_k
    metrics["model"] = pipeline.model_name
    metrics["embedder"] = pipeline.embedder.name
    metrics["prompt"] = pipeline.answerer.answer_prompt.label
    metrics["refusal_threshold"] = settings.refusal_threshold
    metrics["refusal_curve"] = refusal_curve(rows, current=settings.refusal_threshold)
    metrics["by_type"] = _grouped(rows, "type")
    metrics["by_source"] = _grouped(rows, "source")
    metrics["gold"] = str(gold_path)
    metrics["collection"] = settings.collection
    metrics["corpus"] = corpus_info
    metrics["gold_docs_missing"] = missing
    metrics["warmup_s"] = round(warmup, 3)
    metrics["settings"] = {"fusion": settings.fusion, "candidates": settings.candidates, "top_k": settings.top_k,
                           "evidence_sentences": settings.evidence_sentences, "temperature": settings.temperature,
                           "seed": settings.seed, "max_answer_tokens": settings.max_answer_tokens,
                           "chunk_tokens": settings.chunk_tokens, "chunk_overlap_tokens": settings.chunk_overlap_tokens,
                           "extract_threshold": settings.extract_threshold, "prefer_quotes": settings.prefer_quotes}
    if out is not None:
        _write_qa_outputs(Path(out), rows, metrics)
    return metrics


def _grouped(rows: Sequence[dict], key: str) -> dict[str, dict]:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get(key):
            groups.setdefault(r[key], []).append(r)
    return {name: aggregate_qa(group) for name, group in sorted(groups.items())}


def _missing_gold_docs(pipeline, gold: Sequence[GoldItem]) -> list[str]:
    wanted = sorted({d for item in gold for d in item.doc_ids})
    store = pipeline.store()
    return [d for d in wanted if store.document(d) is None]


def _warm_up(pipeline) -> float:
    """Load the models before the clock starts, so the first question's latency is not the model's load time."""
    t0 = time.perf_counter()
    pipeline.embedder.embed_query("warm up")
    _ = pipeline.generator
    _ = pipeline.retriever.lexical_index
    return time.perf_counter() - t0


# --- formatting ----------------------------------------------------------------------------------------------------
def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.3f}"
    return str(value)


_RATE_COLUMNS = [  # (key, heading, percentage?)
    ("n", "n", False), ("answer_accuracy", "accuracy", True), ("token_f1", "F1", False),
    ("retrieval_recall_at_k", "recall@k", True), ("mrr", "MRR", False), ("citation_precision", "cit. prec.", True),
    ("citation_recall", "cit. recall", True), ("refusal_rate", "refusal", True),
    ("false_refusal_rate", "false refusal", True),
]


def _text_table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headings)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(headings), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _md_table(headings: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A Markdown table; the first ``left`` columns (labels, text) align left, the rest (numbers) right."""
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    sep = ["---" if i < left else "---:" for i in range(len(headings))]
    return "\n".join("| " + " | ".join(esc(c) for c in r) + " |" for r in [headings, sep, *rows])


def _rate_rows(metrics: dict) -> list[list[str]]:
    rows = [["all", *(_fmt(metrics.get(k), pct) for k, _, pct in _RATE_COLUMNS)]]
    for name, group in (metrics.get("by_type") or {}).items():
        rows.append([name, *(_fmt(group.get(k), pct) for k, _, pct in _RATE_COLUMNS)])
    return rows


def format_qa_table(metrics: dict) -> str:
    """The metrics as a plain-text table for the terminal: overall and per question type, then paths and latency."""
    head = ["type", *(h for _, h, _ in _RATE_COLUMNS)]
    paths = ", ".join(f"{p} {_fmt(v, True)}" for p, v in (metrics.get("paths") or {}).items())
    lines = [
        f"Q&A evaluation: {metrics['n']} questions ({metrics['n_answerable']} answerable, "
        f"{metrics['n_unanswerable']} not), k={metrics['k']}",
        f"model {metrics['model']} · embedder {metrics['embedder']} · prompt {metrics['prompt']}",
        "",
        _text_table(head, _rate_rows(metrics)),
        "",
        f"answer paths: {paths}",
        f"latency per question: p50 {_fmt(metrics['latency_p50_s'])} s, p95 {_fmt(metrics['latency_p95_s'])} s",
    ]
    return "\n".join(lines)


# --- reports and plots -------------------------------------------------------------------------------------------
def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 110, "font.size": 10, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "qa-bot"})
    return plt


def _plot_accuracy_by_type(metrics: dict, path: Path) -> None:
    plt = _plt()
    groups = [(name, g) for name, g in (metrics.get("by_type") or {}).items()]
    labels, values, notes = [], [], []
    for name, g in groups:
        if g["n_answerable"]:  # answer accuracy for answerable types, refusal rate for the unanswerable ones
            labels.append(f"{name}\n(n={g['n']})")
            values.append(g["answer_accuracy"] or 0.0)
            notes.append("accuracy")
        else:
            labels.append(f"{name}\n(n={g['n']})")
            values.append(g["refusal_rate"] or 0.0)
            notes.append("refusal")
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(labels) + 2), 3.6))
    colors = ["#4C72B0" if n == "accuracy" else "#DD8452" for n in notes]
    bars = ax.bar(range(len(labels)), values, color=colors)
    for bar, value in zip(bars, values):
        ax.annotate(f"{value:.0%}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                    xytext=(0, 2), textcoords="offset points")
    if metrics.get("answer_accuracy") is not None:
        ax.axhline(metrics["answer_accuracy"], color="#4C72B0", linestyle="--", linewidth=1,
                   label=f"overall accuracy {metrics['answer_accuracy']:.0%}")
        ax.legend(loc="upper right", frameon=False)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of questions")
    ax.set_title("Answer accuracy by question type (orange: correctly declined)")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _plot_latency(latencies: Sequence[float], metrics: dict, path: Path, title: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(latencies, bins=min(20, max(5, len(latencies) // 2)), color="#55A868", edgecolor="white")
    for key, style in (("latency_p50_s", "--"), ("latency_p95_s", ":")):
        if metrics.get(key) is not None:
            ax.axvline(metrics[key], color="black", linestyle=style, linewidth=1,
                       label=f"{key.split('_')[1]} {metrics[key]:.2f} s")
    ax.set_xlabel("seconds per item (end to end)")
    ax.set_ylabel("items")
    ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _plot_refusal_curve(curve: list[dict], current: float, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    t = [p["threshold"] for p in curve]
    if curve[0]["refusal_rate"] is not None:
        ax.plot(t, [p["refusal_rate"] for p in curve], marker="o", markersize=3,
                label="refusal rate (unanswerable declined) ↑")
    if curve[0]["false_refusal_rate"] is not None:
        ax.plot(t, [p["false_refusal_rate"] for p in curve], marker="o", markersize=3,
                label="false refusal rate (answerable declined) ↓")
    acc = [(p["threshold"], p["answer_accuracy"]) for p in curve if p["answer_accuracy"] is not None]
    if acc:
        ax.plot(*zip(*acc), linestyle="--", color="grey", label="answer accuracy (known for t ≥ current)")
    ax.axvline(current, color="black", linewidth=1, linestyle=":", label=f"current threshold {current:g}")
    ax.set_xlabel("refusal threshold on the best evidence score")
    ax.set_ylabel("rate")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("Refusals vs false refusals by threshold")
    ax.legend(frameon=False, fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _short(text: str, n: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _write_qa_outputs(out: Path, rows: list[dict], metrics: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "results.jsonl", rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plots = {"accuracy_by_type.png": "Accuracy by question type", "latency.png": "Latency per question"}
    _plot_accuracy_by_type(metrics, out / "accuracy_by_type.png")
    _plot_latency([r["latency_s"] for r in rows], metrics, out / "latency.png", "Latency per question")
    if metrics.get("refusal_curve"):
        _plot_refusal_curve(metrics["refusal_curve"], metrics["refusal_threshold"], out / "refusal_curve.png")
        plots["refusal_curve.png"] = "Refusal curve"

    corpus = metrics.get("corpus")
    md = [
        "# Q&A evaluation",
        "",
        f"- **gold**: `{metrics['gold']}` — {metrics['n']} questions ({metrics['n_answerable']} answerable, "
        f"{metrics['n_unanswerable']} unanswerable)",
        f"- **index**: collection `{metrics['collection']}`"
        + (f", corpus `{corpus['path']}` ({corpus.get('docs')} documents, sha256 {corpus['sha256'][:12]}…)" if corpus else ""),
        f"- **model**: `{metrics['model']}` · **embedder**: `{metrics['embedder']}` · **prompt**: `{metrics['prompt']}`",
        f"- **retrieval**: k={metrics['k']}, fusion {metrics['settings']['fusion']}, "
        f"refusal threshold {metrics['refusal_threshold']}, quote threshold {metrics['settings'].get('extract_threshold')}"
        + (" (strong evidence quoted without the model)" if metrics["settings"].get("prefer_quotes") else ""),
        f"- **latency per question**: p50 {_fmt(metrics['latency_p50_s'])} s, p95 {_fmt(metrics['latency_p95_s'])} s "
        f"(models loaded beforehand in {metrics['warmup_s']} s)",
    ]
    if metrics.get("gold_docs_missing"):
        md.append(f"- **warning**: {len(metrics['gold_docs_missing'])} gold documents are not in the index: "
                  + ", ".join(f"`{d}`" for d in metrics["gold_docs_missing"][:10]))
    md += ["", "## Metrics", "",
           "Overall and per question type. Accuracy, F1, recall@k, MRR and the citation metrics are over answerable "
           "questions; refusal is over unanswerable ones, false refusal over answerable ones.", "",
           _md_table(["type", *(h for _, h, _ in _RATE_COLUMNS)], _rate_rows(metrics)), ""]
    if metrics.get("by_source"):
        md += ["By source:", "",
               _md_table(["source", *(h for _, h, _ in _RATE_COLUMNS)],
                         [[name, *(_fmt(g.get(k), pct) for k, _, pct in _RATE_COLUMNS)]
                          for name, g in metrics["by_source"].items()]), ""]
    md += ["![accuracy by question type](accuracy_by_type.png)", "", "## How questions were answered", "",
           _md_table(["path", "share"], [[p, _fmt(v, True)] for p, v in metrics["paths"].items()]), "",
           "*generated*: the model's answer, every sentence verified against the evidence; *extractive*: the model's "
           "draft was rejected and the best evidence sentence is quoted instead; *declined*: the evidence was too weak.",
           ""]
    curve = metrics.get("refusal_curve")
    if curve:
        md += ["## Refusal threshold", "",
               "What refusal and false refusal would have been with another threshold on the best evidence score "
               f"(current: {metrics['refusal_threshold']}). Accuracy is known only at or above the current threshold.",
               "",
               _md_table(["threshold", "refusal (unanswerable)", "false refusal (answerable)", "accuracy"],
                         [[("**" + f"{p['threshold']:g}" + "**") if abs(p["threshold"] - metrics["refusal_threshold"]) < 1e-9
                           else f"{p['threshold']:g}", _fmt(p["refusal_rate"], True),
                           _fmt(p["false_refusal_rate"], True), _fmt(p["answer_accuracy"], True)] for p in curve]),
               "", "![refusal curve](refusal_curve.png)", ""]
    md += ["## Latency", "", "![latency histogram](latency.png)", ""]
    misses = [r for r in rows if (r["answerable"] and not r["correct"]) or (not r["answerable"] and not r["declined"])]
    if misses:
        md += ["## Questions to look at", "",
               "Answerable questions answered wrongly or declined, and unanswerable questions that were answered.", "",
               _md_table(["id", "type", "question", "gold", "answer", "gold doc retrieved"],
                         [[r["id"], r["type"], _short(r["question"], 90), _short(" / ".join(r["gold_answers"]) or "(none)", 50),
                           _short(r["answer"], 140), _fmt(r["retrieval_hit"])] for r in misses], left=5), ""]
    md += ["Per-question details: `results.jsonl`; all metrics: `metrics.json`.", ""]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")


# --- summary evaluation ------------------------------------------------------------------------------------------
def evaluate_summaries(settings, ref_path: Path | str, limit: int | None = None, out: Path | str | None = None,
                       progress: bool = True, *, embedder=None, generator=None, client=None,
                       references_label: str | None = None) -> dict[str, Any]:
    """Summarise each reference record's text with the one-line summariser and score it (ROUGE with stemming,
    one-line and faithfulness rates), beside the lead-1 baseline computed in the same run. ``references_label`` names
    the references in the report when ``ref_path`` is a temporary file built from them."""
    from rouge_score import rouge_scorer
    from tqdm import tqdm

    from .pipeline import Pipeline
    from .summarize import is_faithful, is_one_line, lead_sentence

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    refs = load_summary_references(ref_path)
    if limit is not None:
        refs = refs[:limit]
    pipeline = Pipeline(settings, embedder=embedder, generator=generator, client=client)
    t0 = time.perf_counter()
    pipeline.embedder.embed_query("warm up")
    _ = pipeline.generator
    warmup = time.perf_counter() - t0
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    rows: list[dict[str, Any]] = []
    for ref in tqdm(refs, desc="Summarising", unit="doc", file=sys.stderr, disable=not progress):
        t0 = time.perf_counter()
        try:
            summary = pipeline.summarize_text(ref.text, ref.title)
        except QABotError as err:
            raise type(err)(f"record {ref.doc_id!r} ({ref_path}:{ref.line}): {err}") from err
        except Exception as err:
            err.add_note(f"while summarising {ref.doc_id!r} ({ref_path}:{ref.line})")
            raise
        latency = time.perf_counter() - t0
        lead = lead_sentence(ref.text)
        scores = scorer.score(ref.reference, summary.text)
        lead_scores = scorer.score(ref.reference, lead)
        rows.append({
            "doc_id": ref.doc_id,
            "summary": summary.text,
            "path": summary.path,
            "reference": ref.reference,
            "lead1": lead,
            **{k: round(v.fmeasure, DIGITS) for k, v in scores.items()},
            **{f"lead1_{k}": round(v.fmeasure, DIGITS) for k, v in lead_scores.items()},
            "one_line": is_one_line(summary.text),
            "faithful": is_faithful(summary.text, ref.text),
            "words": len(summary.text.split()),
            "latency_s": round(latency, DIGITS),
        })

    latencies = [r["latency_s"] for r in rows]
    paths = Counter(r["path"] for r in rows)
    metrics: dict[str, Any] = {
        "n": len(rows),
        **{k: _mean(r[k] for r in rows) for k in ("rouge1", "rouge2", "rougeL")},
        "one_line_rate": _mean(r["one_line"] for r in rows),
        "faithful_rate": _mean(r["faithful"] for r in rows),
        "mean_words": _mean(r["words"] for r in rows),
        "latency_p50_s": _percentile(latencies, 50),
        "latency_p95_s": _percentile(latencies, 95),
        **{f"lead1_{k}": _mean(r[f"lead1_{k}"] for r in rows) for k in ("rouge1", "rouge2", "rougeL")},
        "lead1_mean_words": _mean(len(r["lead1"].split()) for r in rows),
        "model": pipeline.model_name,
        "embedder": pipeline.embedder.name,
        "prompt": pipeline.summarizer.prompt.label,
        "paths": {p: round(c / len(rows), DIGITS) for p, c in sorted(paths.items())} if rows else {},
        "references": references_label or str(ref_path),
        "warmup_s": round(warmup, 3),
    }
    if out is not None:
        _write_summary_outputs(Path(out), rows, metrics)
    return metrics


_SUMMARY_ROWS = [("rouge1", "ROUGE-1"), ("rouge2", "ROUGE-2"), ("rougeL", "ROUGE-L")]


def _summary_table_rows(metrics: dict) -> list[list[str]]:
    rows = [[label, _fmt(metrics.get(key)), _fmt(metrics.get(f"lead1_{key}"))] for key, label in _SUMMARY_ROWS]
    rows.append(["mean words", _fmt(metrics.get("mean_words")), _fmt(metrics.get("lead1_mean_words"))])
    rows.append(["one-line rate", _fmt(metrics.get("one_line_rate"), True), "–"])
    rows.append(["faithful rate", _fmt(metrics.get("faithful_rate"), True), "–"])
    return rows


def format_summary_table(metrics: dict) -> str:
    """The summary metrics beside the lead-1 baseline, as plain text."""
    paths = ", ".join(f"{p} {_fmt(v, True)}" for p, v in (metrics.get("paths") or {}).items())
    return "\n".join([
        f"Summary evaluation: {metrics['n']} articles · model {metrics['model']} · prompt {metrics['prompt']}",
        "",
        _text_table(["metric", "summariser", "lead-1"], _summary_table_rows(metrics)),
        "",
        f"paths: {paths}",
        f"latency per summary: p50 {_fmt(metrics['latency_p50_s'])} s, p95 {_fmt(metrics.get('latency_p95_s'))} s",
    ])


def _plot_rouge(metrics: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    x = range(len(_SUMMARY_ROWS))
    ours = [metrics[k] or 0.0 for k, _ in _SUMMARY_ROWS]
    lead = [metrics[f"lead1_{k}"] or 0.0 for k, _ in _SUMMARY_ROWS]
    ax.bar([i - 0.2 for i in x], ours, width=0.4, label="summariser", color="#4C72B0")
    ax.bar([i + 0.2 for i in x], lead, width=0.4, label="lead-1 baseline", color="#BBBBBB")
    for i, (a, b) in enumerate(zip(ours, lead)):
        ax.annotate(f"{a:.3f}", (i - 0.2, a), ha="center", va="bottom", fontsize=8)
        ax.annotate(f"{b:.3f}", (i + 0.2, b), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [label for _, label in _SUMMARY_ROWS])
    ax.set_ylabel("F-measure (mean)")
    ax.set_ylim(0, max([*ours, *lead, 0.1]) * 1.25)
    ax.set_title("ROUGE of the summaries vs the lead-1 baseline")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _write_summary_outputs(out: Path, rows: list[dict], metrics: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "results.jsonl", rows)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _plot_rouge(metrics, out / "rouge.png")
    _plot_latency([r["latency_s"] for r in rows], metrics, out / "latency.png", "Latency per summary")
    md = [
        "# Summary evaluation", "",
        f"- **references**: `{metrics['references']}` — {metrics['n']} articles",
        f"- **model**: `{metrics['model']}` · **embedder**: `{metrics['embedder']}` · **prompt**: `{metrics['prompt']}`",
        f"- **latency per summary**: p50 {_fmt(metrics['latency_p50_s'])} s, p95 {_fmt(metrics['latency_p95_s'])} s",
        "", "## Metrics", "",
        "ROUGE F-measures (stemming on), averaged over articles; lead-1 is the article's first sentence. "
        "One-line: a single sentence on one line of at most 30 words. Faithful: every name and number of the summary "
        "occurs in the article.", "",
        _md_table(["metric", "summariser", "lead-1"], _summary_table_rows(metrics)), "",
        "![ROUGE vs lead-1](rouge.png)", "", "## How summaries were made", "",
        _md_table(["path", "share"], [[p, _fmt(v, True)] for p, v in metrics["paths"].items()]), "",
        "*generated*: the model's line, checked against the article; *extractive*: the most central sentence, trimmed.",
        "", "## Latency", "", "![latency histogram](latency.png)", "",
        "## Examples", "",
        _md_table(["doc_id", "summary", "reference", "ROUGE-L", "faithful"],
                  [[r["doc_id"], _short(r["summary"], 160), _short(r["reference"], 160), _fmt(r["rougeL"]),
                    _fmt(r["faithful"])] for r in rows[:15]], left=3), "",
        "Per-article details: `results.jsonl`; all metrics: `metrics.json`.", "",
    ]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
