"""Metric functions, pure and deterministic, so they can be tested on hand-made cases.

Q&A (answerable = the gold says the corpus answers it):

- ``answer_accuracy``: answerable questions whose short answer (the direct answer; the quote when only a quote was
  given; citation markers removed) contains a gold answer after :func:`normalize_answer`, at word boundaries, and
  that were not declined. ``quote_accuracy``: the same for the quoted sentence that backs the answer.
- ``token_f1``: mean over answerable questions of the best SQuAD token F1 of the short answer against the gold
  answers (0 when declined).
- ``retrieval_recall_at_k``: answerable questions with a gold document among the retrieved passages' documents.
- ``mrr``: mean of 1/rank of the first gold document among the distinct documents of the retrieved passages, in order.
- ``citation_precision``: of all citations shown in answers to answerable questions, the share pointing at a gold doc.
- ``citation_recall``: of the correct answers, the share citing at least one gold document.
- ``refusal_rate``: unanswerable questions declined; ``false_refusal_rate``: answerable questions declined.
- ``*_ci95``: Wilson 95 % intervals of the rates above.
- ``refusal_curve``: both rates had the answer threshold been t, for a sweep of t, from each answer's confidence
  (the sentence model's probability for its best sentence; an answer is declined exactly when it is below the
  threshold).

Article extraction: the scrapinghub / Zyte article-extraction-benchmark's shingle scoring (:func:`score_extraction`,
:func:`metrics_from_scores`). Latencies: :func:`percentile`.
"""
from __future__ import annotations

import math
import re
import statistics
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..text import strip_citation_marks

if TYPE_CHECKING:
    from .records import GoldItem

ANSWER_PATHS = ("generated", "extracted", "quoted", "declined")
CURVE_THRESHOLDS = tuple(round(i * 0.05, 2) for i in range(21))  # 0.00, 0.05, …, 1.00
DIGITS = 4


# --- numbers -------------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method), ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def rounded(value: float | None, digits: int = DIGITS) -> float | None:
    return None if value is None else round(float(value), digits)


def mean(values: Iterable[float | bool]) -> float | None:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), DIGITS) if values else None


def wilson_interval(successes: int, n: int, z: float = 1.96) -> list[float] | None:
    """The Wilson score interval of a rate (95 % by default); ``None`` when there is nothing to count."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), DIGITS), round(min(1.0, centre + half), DIGITS)]


# --- answers -------------------------------------------------------------------------------------------------------
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
    confidence = answer.confidence
    row: dict[str, Any] = {
        "declined": declined,
        "path": answer.path,
        "retrieved_doc_ids": retrieved,
        "cited_doc_ids": cited,
        "confidence": None if confidence is None else float(confidence),
        "correct": None, "quote_correct": None, "token_f1": None, "retrieval_hit": None, "reciprocal_rank": None,
        "citations_gold": None, "cites_gold": None,
    }
    if item.answerable:
        correct = not declined and answer_contains(answer.short, item.answers)
        rank = next((i for i, d in enumerate(retrieved, start=1) if d in gold_docs), None)
        row.update(
            correct=correct,
            quote_correct=not declined and answer_contains(answer.quote, item.answers),
            token_f1=0.0 if declined else round(token_f1(answer.short, item.answers), DIGITS),
            retrieval_hit=rank is not None,
            reciprocal_rank=round(1.0 / rank, DIGITS) if rank else 0.0,
            citations_gold=sum(d in gold_docs for d in cited),
            cites_gold=any(d in gold_docs for d in cited),
        )
    return row


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
        "answer_accuracy": mean(r["correct"] for r in ans),
        "answer_accuracy_ci95": wilson_interval(sum(bool(r["correct"]) for r in ans), len(ans)),
        "quote_accuracy": mean(bool(r.get("quote_correct")) for r in ans),
        "token_f1": mean(r["token_f1"] for r in ans),
        "retrieval_recall_at_k": mean(r["retrieval_hit"] for r in ans),
        "mrr": mean(r["reciprocal_rank"] for r in ans),
        "citation_precision": round(sum(r["citations_gold"] for r in ans) / n_citations, DIGITS) if n_citations else None,
        "citation_recall": mean(r["cites_gold"] for r in correct),
        "refusal_rate": mean(r["declined"] for r in unans),
        "refusal_rate_ci95": wilson_interval(sum(bool(r["declined"]) for r in unans), len(unans)),
        "false_refusal_rate": mean(r["declined"] for r in ans),
        "false_refusal_rate_ci95": wilson_interval(sum(bool(r["declined"]) for r in ans), len(ans)),
        "latency_p50_s": rounded(percentile(latencies, 50)),
        "latency_p95_s": rounded(percentile(latencies, 95)),
        "paths": {p: round(paths.get(p, 0) / len(rows), DIGITS) if rows else None
                  for p in (*ANSWER_PATHS, *sorted(set(paths) - set(ANSWER_PATHS)))},
    }


def grouped_qa(rows: Sequence[dict], key: str) -> dict[str, dict]:
    """:func:`aggregate_qa` per value of ``key`` (question type, source), rows without one left out."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get(key):
            groups.setdefault(r[key], []).append(r)
    return {name: aggregate_qa(group) for name, group in sorted(groups.items())}


def refusal_curve(rows: Sequence[dict[str, Any]], thresholds: Sequence[float] = CURVE_THRESHOLDS,
                  current: float | None = None) -> list[dict[str, Any]] | None:
    """(refusal_rate, false_refusal_rate) had the answer threshold been t, for each t.

    A question is declined exactly when its confidence is below the threshold (or it had no candidate sentence), so
    the rates are exact without re-running. ``answer_accuracy`` (over answerable questions) is given only for
    thresholds at or above ``current``: there every answered question was also answered in this run, so its
    correctness is known. ``None`` when the answers carry no confidence."""
    if not rows or all(r.get("confidence") is None for r in rows):
        return None
    ans = [r for r in rows if r["answerable"]]
    unans = [r for r in rows if not r["answerable"]]

    def declined(r: dict, t: float) -> bool:
        return r.get("confidence") is None or r["confidence"] < t

    points = []
    for t in sorted(set(thresholds) | ({round(current, 4)} if current is not None else set())):
        accuracy = None
        if current is not None and t >= current - 1e-9 and ans:
            accuracy = mean(bool(r["correct"]) and not declined(r, t) for r in ans)
        points.append({
            "threshold": t,
            "refusal_rate": mean(declined(r, t) for r in unans),
            "false_refusal_rate": mean(declined(r, t) for r in ans),
            "answer_accuracy": accuracy,
        })
    return points


# --- article extraction --------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)
_NGRAM = 4


def _shingles(text: str, n: int = _NGRAM) -> Counter:
    tokens = _TOKEN_RE.findall(text or "")
    if not tokens:
        return Counter()
    # As upstream: a text shorter than n tokens still yields one (shorter) shingle.
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def score_extraction(pred: str, truth: str) -> tuple[float, float, float]:
    """Per-page ``(tp, fp, fn)`` over 4-token shingles, normalised so that they sum to 1.

    Both texts empty (no tokens) counts as a perfect match, ``(1, 0, 0)``. An empty prediction for a non-empty
    truth gives ``(0, 0, 1)``; a non-empty prediction for an empty truth gives ``(0, 1, 0)``.
    """
    t, p = _shingles(truth), _shingles(pred)
    tp = fp = fn = 0
    for key in t.keys() | p.keys():
        tc, pc = t.get(key, 0), p.get(key, 0)
        tp += min(tc, pc)
        fp += max(0, pc - tc)
        fn += max(0, tc - pc)
    total = tp + fp + fn
    if total == 0:
        return (1.0, 0.0, 0.0)
    return (tp / total, fp / total, fn / total)


def _precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def _recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def metrics_from_scores(scores: list[tuple[float, float, float]]) -> dict[str, float]:
    """Benchmark precision / recall / F1 from per-page ``(tp, fp, fn)`` triples (upstream formulas)."""
    precisions = [_precision(*s) for s in scores if s[0] + s[1] > 0]
    recalls = [_recall(*s) for s in scores if s[0] + s[2] > 0]
    precision = statistics.fmean(precisions) if precisions else 0.0
    recall = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


# --- benchmark ratios ------------------------------------------------------------------------------------------------
def ratio(baseline: float | None, configured: float | None) -> float | None:
    """How many times better the configured figure is, for a time (lower is better): baseline / configured."""
    if not baseline or not configured:
        return None
    return round(baseline / configured, 2)
