"""``qa-bot eval``: ask every gold question through :meth:`Pipeline.ask` (the same path as ``qa-bot ask``), score the
answers (:mod:`.metrics`) and write the report (:mod:`.reports`). Nothing here is random: two runs with the same
settings give the same answers and metrics (latencies apart)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, QABotError
from .corpus import missing_gold_docs, open_pipeline
from .metrics import DIGITS, aggregate_qa, grouped_qa, refusal_curve, score_answer
from .records import load_gold
from .reports import write_qa_report

# Keys `qa-bot eval --json` always prints (more are present); tests and scripts may rely on them.
QA_KEYS = (
    "n", "n_answerable", "n_unanswerable", "answer_accuracy", "token_f1", "retrieval_recall_at_k", "mrr", "k",
    "citation_precision", "citation_recall", "refusal_rate", "false_refusal_rate", "latency_p50_s", "latency_p95_s",
    "model", "embedder", "prompt",
)


def evaluate_qa(settings, gold_path: Path | str, corpus: Path | str | None = None, limit: int | None = None,
                out: Path | str | None = None, progress: bool = True, *, embedder=None, generator=None,
                client=None) -> dict[str, Any]:
    """Ask every gold question through one :class:`~qa_bot.pipeline.Pipeline` and score the answers.

    With ``corpus`` the questions run against that corpus, indexed in its own collection (``eval-<hash>`` in the
    same index folder; the configured collection is never touched). ``embedder``/``generator``/``client`` are handed
    to the Pipeline (tests pass fakes). With ``out`` the results, metrics and a Markdown report with plots are
    written there. Returns the metrics dict (see :data:`QA_KEYS`)."""
    from tqdm import tqdm

    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    gold = load_gold(gold_path)
    if limit is not None:
        gold = gold[:limit]
    pipeline, settings, corpus_info = open_pipeline(settings, corpus, progress, embedder=embedder,
                                                    generator=generator, client=client)
    missing = missing_gold_docs(pipeline, gold)
    if missing:
        print(f"warning: {len(missing)} gold document(s) are not in the index {settings.collection!r} "
              f"(first: {missing[0]}); retrieval recall cannot reach 1", file=sys.stderr)
    warmup = warm_up(pipeline)

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
               "answer": answer.short, "shown": answer.text}
        row.update(score_answer(item, answer))
        row["citations"] = [{"n": c.n, "doc_id": c.doc_id, "title": c.title, "quote": c.quote}
                            for c in answer.citations]
        row["notes"] = list(answer.notes) + ([answer.fallback] if answer.fallback else [])
        row["timings"] = dict(answer.timings)  # the pipeline's own split: retrieve, evidence, generate
        row["latency_s"] = round(latency, DIGITS)
        rows.append(row)

    models = pipeline.answerer.models
    threshold = models.thresholds.answer
    metrics = aggregate_qa(rows)
    metrics["k"] = settings.answer.top_k
    metrics["model"] = pipeline.model_name
    metrics["embedder"] = pipeline.embedder.name
    metrics["prompt"] = pipeline.answerer.wording_prompt.label
    metrics["answer_model"] = {"file": models.label, "fitted": models.info.get("fitted"),
                               "thresholds": vars(models.thresholds)}
    metrics["refusal_threshold"] = threshold
    metrics["refusal_curve"] = refusal_curve(rows, current=threshold)
    metrics["by_type"] = grouped_qa(rows, "type")
    metrics["by_source"] = grouped_qa(rows, "source")
    metrics["gold"] = str(gold_path)
    metrics["collection"] = settings.collection
    metrics["corpus"] = corpus_info
    metrics["gold_docs_missing"] = missing
    metrics["warmup_s"] = round(warmup, 3)
    metrics["settings"] = {"fusion": settings.fusion, "candidates": settings.candidates, "top_k": settings.answer.top_k,
                           "wording": settings.answer.wording, "temperature": settings.temperature,
                           "seed": settings.seed, "max_answer_tokens": settings.answer.max_answer_tokens,
                           "chunk_tokens": settings.chunk_tokens, "chunk_overlap_tokens": settings.chunk_overlap_tokens}
    if out is not None:
        write_qa_report(Path(out), rows, metrics)
    return metrics


def warm_up(pipeline) -> float:
    """Load the models before the clock starts, so the first question's latency is not the model's load time."""
    t0 = time.perf_counter()
    pipeline.embedder.embed_query("warm up")
    _ = pipeline.generator
    _ = pipeline.retriever.lexical_index
    return time.perf_counter() - t0
