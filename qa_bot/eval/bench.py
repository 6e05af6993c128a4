"""`qa-bot bench`: where the time goes, for the configured setup beside the straightforward baseline, in one run.

Baseline = sentence-transformers on its default PyTorch backend (batch 32, no caching) and a fresh llama model and
context for every generation. Configured = the settings as given (the embedder backend QA_BOT_EMBED_BACKEND names,
torch unless set, and one loaded model whose KV cache keeps the fixed prompt prefix). Both sides run in the same
process (or its children) one after the other, so a busy machine slows both; ratios are the figures to read, and the load average is recorded beside them.

Measured:

- ingest (``qa-bot ingest`` in a child process, so the figure includes imports, model load and ONNX export if any):
  seconds split into load+clean / chunk / embed / store, articles/s, chunks/s, peak RSS; plus a second ingest of the
  unchanged corpus (everything skipped by content hash). The baseline index takes minutes to build, so it is built
  once per corpus under ``work_dir`` and reused (its figures are then from the run that built it, flagged
  ``baseline_ingest_reused``); the configured index is rebuilt every run unless ``reuse_index``.
- embedding throughput: the same sample of indexed chunks embedded by both embedders in this run, alternating, and the
  cosine between their vectors;
- retrieval: ``Retriever.search`` (query embedding + dense + BM25 + fusion) per dev question, and recall@5 (a gold
  document among the top-5 hits' documents) on each side's own index;
- answering: time to the first answer token (the product only shows verified text, so this is the first ``token``
  event of ``Pipeline.ask_stream``) and to the final answer, plus answer accuracy as ``qa-bot eval`` scores it;
- summarising: seconds per article for the first articles of the corpus;
- startup: ``python app.py`` until it answers HTTP, and ``qa-bot ask`` until its first byte of output.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .corpus import sha256_path
from .measure import (
    BASELINE_BACKEND,
    Log,
    compare_embedders,
    measure_answers,
    measure_retrieval,
    measure_startup,
    measure_summaries,
    run_ingest,
    run_reingest,
    sample_chunk_texts,
)
from .metrics import ratio
from .records import load_gold

# Keys `qa-bot bench --json` always prints (more are present).
BENCH_KEYS = (
    "embed_speedup", "recall_at_5", "baseline_recall_at_5", "retrieval_p50_ms", "ttft_p50_s", "answer_p50_s",
    "cold_start_s", "ingest_s", "chunks_per_s", "baseline_chunks_per_s", "peak_rss_mb",
)
BASELINE_BATCH = 32
COLLECTION = "bench"


@dataclass
class BenchOptions:
    corpus: Path
    gold: Path
    work_dir: Path = Path("/tmp/bench-idx")
    sample_chunks: int = 512  # chunks embedded by both embedders for the throughput ratio
    rounds: int = 2  # alternating rounds of that comparison
    questions: int | None = None  # only the first N dev questions (all by default)
    summaries: int = 5  # articles summarised on each side
    startup_runs: int = 2
    reuse_index: bool = False  # reuse the configured side's index from an earlier run instead of timing a fresh ingest
    rebuild_baseline: bool = False
    startup: bool = True


class FreshModelGenerator:
    """The baseline generator: a new llama model and context for every call, so nothing is reused between calls."""

    def __init__(self, settings):
        from ..generate import make_generator

        self._make = lambda: make_generator(settings)
        probe = self._make()
        self.name, self.n_ctx = probe.name, probe.n_ctx
        self._counter = probe  # token counting only, not generation

    def count_tokens(self, text: str) -> int:
        return self._counter.count_tokens(text)

    def generate(self, messages, max_tokens: int, stop: Sequence[str] = ()) -> str:
        return self._make().generate(messages, max_tokens, stop)

    def stream(self, messages, max_tokens: int, stop: Sequence[str] = ()):
        yield from self._make().stream(messages, max_tokens, stop)


# --- the whole run ---------------------------------------------------------------------------------------------------
def run_bench(settings, options: BenchOptions, log: Log = lambda _: None) -> dict:
    from ..embedders import make_embedder
    from ..embedders.torch_backend import SentenceTransformerEmbedder
    from ..load import load_paths
    from ..pipeline import Pipeline
    from ..records import Document

    corpus, gold_path = Path(options.corpus), Path(options.gold)
    for path, what in ((corpus, "corpus"), (gold_path, "gold file")):
        if not path.is_file():
            raise InputError(f"{what} {path} does not exist; pass a .jsonl file")
    gold = load_gold(gold_path)
    if options.questions:
        gold = gold[: options.questions]
    started = time.perf_counter()
    load_start = os.getloadavg()
    key = sha256_path(corpus)[:12]
    work = Path(options.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    configured = settings.model_copy(update={"index_dir": work / f"{key}-{settings.embed_backend}", "collection": COLLECTION})
    # The straightforward pipeline asks the model to word every answer.
    baseline = settings.model_copy(update={"index_dir": work / f"{key}-baseline", "collection": COLLECTION,
                                           "embed_backend": BASELINE_BACKEND, "embed_batch_size": BASELINE_BATCH,
                                           "answer": settings.answer.model_copy(update={"wording": "model"})})
    result: dict[str, Any] = {"corpus": str(corpus), "gold": str(gold_path), "work_dir": str(work),
                              "backend": settings.embed_backend, "baseline_backend": f"{BASELINE_BACKEND}, batch {BASELINE_BATCH}",
                              "cpu_threads": len(os.sched_getaffinity(0)), "load_avg_start": [round(x, 2) for x in load_start]}

    log("ingest (configured)")
    ingest = run_ingest(configured, corpus, work / f"{key}-{settings.embed_backend}.json", options.reuse_index, log)
    log("ingest (baseline)")
    base_ingest = run_ingest(baseline, corpus, work / f"{key}-baseline.json", not options.rebuild_baseline, log)
    log("ingest again, nothing changed")
    reingest_s = run_reingest(configured, corpus)
    result["ingest"] = {"configured": ingest, "baseline": base_ingest, "unchanged_reingest_s": reingest_s}

    conf_pipe = Pipeline(configured)
    base_pipe = Pipeline(baseline, embedder=SentenceTransformerEmbedder(settings.embedder, batch_size=BASELINE_BATCH),
                         generator=FreshModelGenerator(baseline))
    log(f"embedding throughput ({options.sample_chunks} chunks, {options.rounds} rounds)")
    texts = sample_chunk_texts(conf_pipe.store(), options.sample_chunks)
    embed = compare_embedders(base_pipe.embedder, make_embedder(configured), texts, options.rounds, log)
    result["embed"] = embed

    log(f"retrieval ({len(gold)} questions)")
    retrieval = {"configured": measure_retrieval(conf_pipe, gold), "baseline": measure_retrieval(base_pipe, gold)}
    result["retrieval"] = retrieval

    log("answers (configured)")
    _ = conf_pipe.generator  # the model loads once, before the clock starts (a server keeps it loaded)
    answers = {"configured": measure_answers(conf_pipe, gold, log)}
    log("answers (baseline: a fresh model and context per generation)")
    answers["baseline"] = measure_answers(base_pipe, gold, log)
    result["answers"] = answers

    documents = [d for d in load_paths([corpus]) if isinstance(d, Document)][: options.summaries]
    log(f"summaries ({len(documents)} articles)")
    result["summaries"] = {"configured": measure_summaries(conf_pipe, documents),
                           "baseline": measure_summaries(base_pipe, documents)}

    if options.startup:
        log("startup")
        result["startup"] = measure_startup(configured, baseline, gold[0].question, options.startup_runs, log)

    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["bench_s"] = round(time.perf_counter() - started, 1)
    result.update(headline(result))
    return result


def headline(r: dict) -> dict:
    """The flat figures (:data:`BENCH_KEYS` and their baseline twins and ratios)."""
    ing, base_ing = r["ingest"]["configured"], r["ingest"]["baseline"]
    ret, ans, summ = r["retrieval"], r["answers"], r["summaries"]
    startup = r.get("startup", {})
    flat = {
        "embed_speedup": r["embed"]["embed_speedup"],
        "chunks_per_s": r["embed"]["chunks_per_s"],
        "baseline_chunks_per_s": r["embed"]["baseline_chunks_per_s"],
        "embed_cosine_min": r["embed"]["cosine_min"],
        "recall_at_5": ret["configured"]["recall_at_5"],
        "baseline_recall_at_5": ret["baseline"]["recall_at_5"],
        "retrieval_p50_ms": ret["configured"]["p50_ms"],
        "retrieval_p95_ms": ret["configured"]["p95_ms"],
        "baseline_retrieval_p50_ms": ret["baseline"]["p50_ms"],
        "baseline_retrieval_p95_ms": ret["baseline"]["p95_ms"],
        "ttft_p50_s": ans["configured"]["ttft_p50_s"],
        "baseline_ttft_p50_s": ans["baseline"]["ttft_p50_s"],
        "answer_p50_s": ans["configured"]["answer_p50_s"],
        "answer_p95_s": ans["configured"]["answer_p95_s"],
        "baseline_answer_p50_s": ans["baseline"]["answer_p50_s"],
        "baseline_answer_p95_s": ans["baseline"]["answer_p95_s"],
        "answer_accuracy": ans["configured"]["answer_accuracy"],
        "baseline_answer_accuracy": ans["baseline"]["answer_accuracy"],
        "summary_s_per_article": summ["configured"]["s_per_article"],
        "baseline_summary_s_per_article": summ["baseline"]["s_per_article"],
        "cold_start_s": startup.get("configured_ask_first_output_s"),
        "baseline_cold_start_s": startup.get("baseline_ask_first_output_s"),
        "app_start_s": startup.get("configured_app_start_s"),
        "baseline_app_start_s": startup.get("baseline_app_start_s"),
        "ingest_s": ing["ingest_s"],
        "baseline_ingest_s": base_ing["ingest_s"],
        "baseline_ingest_reused": base_ing["reused"],
        "ingest_articles_per_s": ing["articles_per_s"],
        "ingest_chunks_per_s": ing["chunks_per_s"],
        "baseline_ingest_chunks_per_s": base_ing["chunks_per_s"],
        "unchanged_reingest_s": r["ingest"]["unchanged_reingest_s"],
        "peak_rss_mb": ing["peak_rss_mb"],
        "baseline_peak_rss_mb": base_ing["peak_rss_mb"],
    }
    flat["ratios"] = {
        "embed_throughput": flat["embed_speedup"],
        "ingest_s": ratio(flat["baseline_ingest_s"], flat["ingest_s"]),
        "retrieval_p50": ratio(flat["baseline_retrieval_p50_ms"], flat["retrieval_p50_ms"]),
        "ttft_p50": ratio(flat["baseline_ttft_p50_s"], flat["ttft_p50_s"]),
        "answer_p50": ratio(flat["baseline_answer_p50_s"], flat["answer_p50_s"]),
        "summary_per_article": ratio(flat["baseline_summary_s_per_article"], flat["summary_s_per_article"]),
        "cold_start": ratio(flat["baseline_cold_start_s"], flat["cold_start_s"]),
        "app_start": ratio(flat["baseline_app_start_s"], flat["app_start_s"]),
        "peak_rss": ratio(flat["baseline_peak_rss_mb"], flat["peak_rss_mb"]),
    }
    return flat
