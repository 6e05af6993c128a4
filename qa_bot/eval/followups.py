"""``qa-bot eval-followups``: two-turn conversations, asked as a person would: the first question alone, the second
with the first exchange as history. Scores the second turn's answer (and the first's), whether a follow-up was
rewritten and whether an independent second question was left untouched — beside the same second questions asked
with no history at all, in the same run."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from .corpus import open_pipeline
from .metrics import DIGITS, answer_contains, mean, percentile, rounded, token_f1, wilson_interval
from .records import load_conversations
from .reports import write_jsonl

def evaluate_followups(settings, path: Path | str, corpus: Path | str | None = None, limit: int | None = None,
                       out: Path | str | None = None, progress: bool = True, *, embedder=None, generator=None,
                       client=None) -> dict[str, Any]:
    from tqdm import tqdm

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    conversations = load_conversations(path)[:limit]
    pipeline, settings, corpus_info = open_pipeline(settings, corpus, progress, embedder=embedder,
                                                    generator=generator, client=client)
    pipeline.embedder.embed_query("warm up")

    rows = []
    for conv in tqdm(conversations, desc="Conversations", unit="conv", file=sys.stderr, disable=not progress):
        first, second = conv.turns
        a1 = pipeline.ask(first.question)
        t0 = time.perf_counter()
        a2 = pipeline.ask(second.question, history=[a1.as_turn()])
        latency = time.perf_counter() - t0
        alone = pipeline.ask(second.question)
        rows.append({
            "id": conv.id, "independent": second.independent, "dependency": second.dependency,
            "first_question": first.question, "first_answer": a1.short,
            "first_correct": answer_contains(a1.short, first.answers) and not a1.declined,
            "question": second.question, "standalone": a2.standalone_question, "reference": second.standalone,
            "gold_answers": second.answers, "answer": a2.short, "declined": a2.declined,
            "correct": answer_contains(a2.short, second.answers) and not a2.declined,
            # the gold answer anywhere in what was shown (direct answer and quote): the measure answers had when they
            # were whole sentences, kept to compare with them
            "text_correct": answer_contains(a2.text, second.answers) and not a2.declined,
            "token_f1": 0.0 if a2.declined else round(token_f1(a2.short, second.answers), DIGITS),
            "rewritten": a2.standalone_question is not None,
            "alone_answer": alone.short, "alone_correct": answer_contains(alone.short, second.answers) and not alone.declined,
            "cited_doc_ids": [c.doc_id for c in a2.citations], "latency_s": round(latency, DIGITS),
        })
    followups = [r for r in rows if not r["independent"]]
    independent = [r for r in rows if r["independent"]]
    n_correct = sum(r["correct"] for r in followups)
    metrics: dict[str, Any] = {
        "n": len(rows), "n_followups": len(followups), "n_independent": len(independent),
        "followup_accuracy": mean(r["correct"] for r in followups),
        "followup_accuracy_ci95": wilson_interval(n_correct, len(followups)),
        "followup_accuracy_in_text": mean(r["text_correct"] for r in followups),
        "followup_accuracy_without_history": mean(r["alone_correct"] for r in followups),
        "followup_accuracy_when_first_correct": mean(r["correct"] for r in followups if r["first_correct"]),
        "followup_token_f1": mean(r["token_f1"] for r in followups),
        "followups_rewritten": mean(r["rewritten"] for r in followups),
        "independent_untouched": mean(not r["rewritten"] for r in independent),
        "independent_accuracy": mean(r["correct"] for r in independent),
        "first_turn_accuracy": mean(r["first_correct"] for r in rows),
        "by_dependency": {kind: mean(r["correct"] for r in followups if r["dependency"] == kind)
                          for kind in sorted({r["dependency"] for r in followups if r["dependency"]})},
        "latency_p50_s": rounded(percentile([r["latency_s"] for r in rows], 50)),
        "model": pipeline.model_name, "answer_model": pipeline.answerer.models.label,
        "conversations": str(path), "collection": settings.collection, "corpus": corpus_info,
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_jsonl(out / "results.jsonl", rows)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return metrics


def format_followup_table(metrics: dict) -> str:
    pct = lambda v: "–" if v is None else f"{v:.0%}"  # noqa: E731
    lines = [
        f"Follow-up evaluation: {metrics['n']} conversations ({metrics['n_followups']} follow-ups, "
        f"{metrics['n_independent']} independent second questions) · answering models {metrics['answer_model']}",
        f"follow-up accuracy        {pct(metrics['followup_accuracy'])}  (95 % CI {metrics['followup_accuracy_ci95']})",
        f"  answer anywhere in the shown text (quote included) {pct(metrics['followup_accuracy_in_text'])}",
        f"  same questions, no history {pct(metrics['followup_accuracy_without_history'])}",
        f"  when the first answer was right {pct(metrics['followup_accuracy_when_first_correct'])}",
        f"follow-ups rewritten      {pct(metrics['followups_rewritten'])}",
        f"independent left as asked {pct(metrics['independent_untouched'])}; answered right "
        f"{pct(metrics['independent_accuracy'])}",
        f"first turns answered right {pct(metrics['first_turn_accuracy'])}",
        "by kind: " + ", ".join(f"{k} {pct(v)}" for k, v in metrics["by_dependency"].items()),
    ]
    return "\n".join(lines)
