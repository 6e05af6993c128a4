"""Article-extraction benchmark: score :func:`qa_bot.extract.extract_article` against hand-checked article text.

The data is the scrapinghub / Zyte article-extraction-benchmark (181 news pages). Scoring follows that
benchmark's ``evaluate.py``: both texts are tokenised into ``\\w+`` tokens, turned into 4-token shingles with
counts, and per page TP/FP/FN are the shingle-count overlaps, normalised to sum to 1 so that long articles do not
weigh more. Precision is the mean over pages where it is defined (tp + fp > 0), recall the mean over pages where it
is defined (tp + fn > 0), and F1 is computed from those two means.

Measured on the 181 pages with trafilatura 2.3.1: ``extract_article`` P 0.972 / R 0.985 / F1 0.978;
plain ``trafilatura.extract`` defaults F1 0.953, ``favor_precision=True`` 0.959 (same scorer, same run).
Run it with ``python -m qa_bot.eval_extraction [html_dir]``.
"""
from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from qa_bot.errors import InputError

__all__ = ["score_extraction", "metrics_from_scores", "evaluate_extraction"]

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


def _load(html_dir: Path) -> tuple[dict[str, Any], list[Path]]:
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
    return truth, pages


def _decode(raw: bytes) -> str:
    # The benchmark pages are UTF-8 (as fetched); fall back gracefully for anything else.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def evaluate_extraction(html_dir: Path, progress: bool = False) -> dict:
    """Run the extractor over every benchmark page and score it.

    Returns ``precision``, ``recall``, ``f1``, ``n`` (pages scored) and ``extract_p50_ms`` (median extraction
    time per page), plus ``per_page``: a list of ``{"key", "tp", "fp", "fn", "ms"}`` dicts.
    """
    from qa_bot.extract import extract_article

    truth, pages = _load(Path(html_dir))
    keys = [p.name[: -len(".html.gz")] for p in pages]
    missing = [k for k in keys if k not in truth]
    if missing:
        raise InputError(
            f"{len(missing)} page(s) in {Path(html_dir) / 'html'} have no entry in ground-truth.json "
            f"(first: {missing[0]}); the folder must be an unmodified benchmark copy."
        )
    iterator: Any = zip(keys, pages)
    if progress:
        try:
            from tqdm import tqdm

            iterator = tqdm(list(iterator), desc="extract", unit="page")
        except ImportError:  # pragma: no cover - tqdm is a dependency
            pass
    scores: list[tuple[float, float, float]] = []
    times: list[float] = []
    per_page: list[dict[str, Any]] = []
    for key, path in iterator:
        html = _decode(gzip.decompress(path.read_bytes()))
        entry = truth[key] or {}
        t0 = time.perf_counter()
        art = extract_article(html, url=entry.get("url"))
        ms = (time.perf_counter() - t0) * 1000.0
        s = score_extraction(art.text, entry.get("articleBody", "") or "")
        scores.append(s)
        times.append(ms)
        per_page.append({"key": key, "tp": s[0], "fp": s[1], "fn": s[2], "ms": ms})
    result: dict[str, Any] = metrics_from_scores(scores)
    result["n"] = len(scores)
    result["extract_p50_ms"] = statistics.median(times) if times else 0.0
    result["per_page"] = per_page
    return result


if __name__ == "__main__":  # python -m qa_bot.eval_extraction [html_dir]
    import sys

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1].parent / "shared" / "html"
    res = evaluate_extraction(folder, progress=True)
    print(json.dumps({k: res[k] for k in ("precision", "recall", "f1", "n", "extract_p50_ms")}, indent=2))
