"""``qa-bot eval-summaries``: summarise each reference record's text with the one-line summariser and score it
(ROUGE with stemming, one-line and faithfulness rates) beside the lead-1 baseline and the extractive oracle computed
in the same run."""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import InputError, QABotError
from .metrics import DIGITS, mean, percentile, rounded
from .records import load_summary_references
from .reports import write_summary_report

# Keys `qa-bot eval-summaries --json` always prints (more are present).
SUMMARY_KEYS = (
    "rouge1", "rouge2", "rougeL", "one_line_rate", "faithful_rate", "mean_words", "latency_p50_s",
    "lead1_rouge1", "lead1_rouge2", "lead1_rougeL", "oracle_rouge1", "oracle_rouge2", "oracle_rougeL",
)


def evaluate_summaries(settings, ref_path: Path | str, limit: int | None = None, out: Path | str | None = None,
                       progress: bool = True, *, embedder=None, generator=None, client=None,
                       references_label: str | None = None) -> dict[str, Any]:
    """Summarise each reference record's text with the one-line summariser and score it (ROUGE with stemming,
    one-line and faithfulness rates), beside the lead-1 baseline and the oracle (the one article sentence, trimmed to
    one line, that scores best against the reference: the ceiling of any sentence pick) computed in the same run. ``references_label`` names
    the references in the report when ``ref_path`` is a temporary file built from them."""
    from rouge_score import rouge_scorer
    from tqdm import tqdm

    from ..pipeline import Pipeline
    from ..summarize import is_faithful, is_one_line, lead_sentence, one_line, source_sentences

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
        oracle_scores = max((scorer.score(ref.reference, one_line(s)) for s in source_sentences(ref.text)),
                            key=lambda sc: sc["rougeL"].fmeasure, default=scorer.score(ref.reference, ""))
        rows.append({
            "doc_id": ref.doc_id,
            "summary": summary.text,
            "path": summary.path,
            "reference": ref.reference,
            "lead1": lead,
            **{k: round(v.fmeasure, DIGITS) for k, v in scores.items()},
            **{f"lead1_{k}": round(v.fmeasure, DIGITS) for k, v in lead_scores.items()},
            **{f"oracle_{k}": round(v.fmeasure, DIGITS) for k, v in oracle_scores.items()},
            "one_line": is_one_line(summary.text),
            "faithful": is_faithful(summary.text, ref.text),
            "words": len(summary.text.split()),
            "latency_s": round(latency, DIGITS),
        })

    latencies = [r["latency_s"] for r in rows]
    paths = Counter(r["path"] for r in rows)
    metrics: dict[str, Any] = {
        "n": len(rows),
        **{k: mean(r[k] for r in rows) for k in ("rouge1", "rouge2", "rougeL")},
        "one_line_rate": mean(r["one_line"] for r in rows),
        "faithful_rate": mean(r["faithful"] for r in rows),
        "mean_words": mean(r["words"] for r in rows),
        "latency_p50_s": rounded(percentile(latencies, 50)),
        "latency_p95_s": rounded(percentile(latencies, 95)),
        **{f"lead1_{k}": mean(r[f"lead1_{k}"] for r in rows) for k in ("rouge1", "rouge2", "rougeL")},
        "lead1_mean_words": mean(len(r["lead1"].split()) for r in rows),
        **{f"oracle_{k}": mean(r[f"oracle_{k}"] for r in rows) for k in ("rouge1", "rouge2", "rougeL")},
        "model": pipeline.model_name,
        "embedder": pipeline.embedder.name,
        "prompt": pipeline.summarizer.prompt.label,
        "ranker": pipeline.summarizer.ranker.label,
        "paths": {p: round(c / len(rows), DIGITS) for p, c in sorted(paths.items())} if rows else {},
        "references": references_label or str(ref_path),
        "warmup_s": round(warmup, 3),
    }
    if out is not None:
        write_summary_report(Path(out), rows, metrics)
    return metrics
