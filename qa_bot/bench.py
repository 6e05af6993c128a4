"""`qa-bot bench`: where the time goes, for the configured setup beside the straightforward baseline, in one run.

Baseline = sentence-transformers on its default PyTorch backend (batch 32, no caching) and a fresh llama model and
context for every generation. Configured = the settings as given (by default the ONNX int8 embedder and one loaded
model whose KV cache keeps the fixed prompt prefix). Both sides run in the same process (or its children) one after the
other, so a busy machine slows both; ratios are the figures to read, and the load average is recorded beside them.

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

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, QABotError

# Keys the issue requires in the --json output (more are present).
BENCH_KEYS = (
    "embed_speedup", "recall_at_5", "baseline_recall_at_5", "retrieval_p50_ms", "ttft_p50_s", "answer_p50_s",
    "cold_start_s", "ingest_s", "chunks_per_s", "baseline_chunks_per_s", "peak_rss_mb",
)
BASELINE_BACKEND = "torch"
BASELINE_BATCH = 32
COLLECTION = "bench"
APP_TIMEOUT_S = 300.0

Log = Callable[[str], None]


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


# --- small helpers ---------------------------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def ratio(baseline: float | None, configured: float | None) -> float | None:
    """How many times better the configured figure is, for a time (lower is better): baseline / configured."""
    if not baseline or not configured:
        return None
    return round(baseline / configured, 2)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def settings_env(settings, **overrides: Any) -> dict[str, str]:
    """The environment that gives a child ``qa-bot`` process these settings (QA_BOT_* for every field set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    values = settings.model_dump()
    values.update(overrides)
    for name, value in values.items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"QA_BOT_{name.upper()}"] = str(value)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1",
               GRADIO_ANALYTICS_ENABLED="False")
    return env


def _run_measured(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, int, str, str, float]:
    """Run a child to completion: (seconds, exit code, stdout, stderr, its peak RSS in MB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: dict[str, str] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: out.__setitem__(n, s.read())) for n, s in
               (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for reader in readers:
        reader.start()
    # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would mix in every earlier child).
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - t0
    for reader in readers:
        reader.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, out.get("stdout", ""), out.get("stderr", ""), usage.ru_maxrss / 1024.0


# --- ingest ------------------------------------------------------------------------------------------------------------
def _clear_index(folder: Path) -> None:
    """Remove an index but keep its exported ONNX models (a one-time cost per machine, not per ingest)."""
    if not folder.exists():
        return
    for child in folder.iterdir():
        if child.name == ".onnx":
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()


def run_ingest(settings, corpus: Path, record_file: Path, reuse: bool, log: Log) -> dict:
    """Ingest ``corpus`` into ``settings.index_dir`` with ``qa-bot ingest`` in a child process, timed; the figures are
    kept in ``record_file`` and reused instead when ``reuse`` and the index is still there."""
    index_dir = Path(settings.index_dir)
    if reuse and record_file.is_file() and (index_dir / "chroma.sqlite3").is_file():
        record = json.loads(record_file.read_text(encoding="utf-8"))
        record["reused"] = True
        log(f"  reusing the index in {index_dir} (built {record.get('built_at', '?')})")
        return record
    _clear_index(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    onnx_cached = any((index_dir / ".onnx").glob("*.onnx"))
    env = settings_env(settings)
    cmd = [sys.executable, "-m", "qa_bot.cli", "ingest", str(corpus), "--json"]
    log(f"  {settings.embed_backend} (batch {settings.embed_batch_size}) → {index_dir}")
    load0 = os.getloadavg()[0]
    elapsed, code, stdout, stderr, rss = _run_measured(cmd, env)
    if code != 0:
        raise QABotError(f"the benchmark's ingest failed (exit {code}): {stderr.strip()[-500:]}")
    report = json.loads(stdout.strip().splitlines()[-1])
    chunks = report["chunks_written"]
    docs = report["added"] + report["updated"] + report["unchanged"]
    t = report["timings"]
    record = {
        "backend": settings.embed_backend, "batch_size": settings.embed_batch_size, "ingest_s": round(elapsed, 2),
        "docs": docs, "chunks": chunks, "articles_per_s": _r(docs / elapsed, 2), "chunks_per_s": _r(chunks / elapsed, 2),
        "embed_chunks_per_s": _r(chunks / t["embed_s"], 2) if t["embed_s"] else None,
        "split_s": {"clean": t["load_s"], "chunk": t["chunk_s"], "embed": t["embed_s"], "store": t["store_s"],
                    "other": round(elapsed - sum(t.values()), 3)},
        "peak_rss_mb": round(rss, 1), "onnx_export_included": settings.embed_backend != BASELINE_BACKEND and not onnx_cached,
        "load_avg_1m": round((load0 + os.getloadavg()[0]) / 2, 2), "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "reused": False,
    }
    record_file.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def run_reingest(settings, corpus: Path) -> float:
    """Seconds for a second ingest of the unchanged corpus (every document skipped by its content hash)."""
    elapsed, code, _, stderr, _ = _run_measured([sys.executable, "-m", "qa_bot.cli", "ingest", str(corpus), "--json"],
                                                settings_env(settings))
    if code != 0:
        raise QABotError(f"the benchmark's second ingest failed (exit {code}): {stderr.strip()[-500:]}")
    return round(elapsed, 2)


# --- embedding throughput --------------------------------------------------------------------------------------------
def sample_chunk_texts(store, n: int) -> list[str]:
    """``n`` indexed chunks spread evenly over the index (deterministic)."""
    texts = [c.text for c in sorted(store.iter_chunks(), key=lambda c: c.chunk_id)]
    if len(texts) <= n:
        return texts
    step = len(texts) / n
    return [texts[int(i * step)] for i in range(n)]


def compare_embedders(baseline, configured, texts: Sequence[str], rounds: int, log: Log) -> dict:
    baseline.embed_documents(["warm up"])  # model load is not throughput
    configured.embed_documents(["warm up"])
    speeds: dict[str, list[float]] = {"baseline": [], "configured": []}
    vectors = {}
    for r in range(max(1, rounds)):
        for side, embedder in (("baseline", baseline), ("configured", configured)):
            t0 = time.perf_counter()
            vectors[side] = embedder.embed_documents(texts)
            speeds[side].append(len(texts) / (time.perf_counter() - t0))
        log(f"  round {r + 1}: baseline {speeds['baseline'][-1]:.1f} chunks/s, "
            f"configured {speeds['configured'][-1]:.1f} chunks/s")
    cosines = (vectors["baseline"] * vectors["configured"]).sum(axis=1)
    base, conf = statistics.median(speeds["baseline"]), statistics.median(speeds["configured"])
    return {"n": len(texts), "baseline_chunks_per_s": round(base, 2), "chunks_per_s": round(conf, 2),
            "embed_speedup": round(conf / base, 2), "rounds": {k: [round(x, 2) for x in v] for k, v in speeds.items()},
            "cosine_min": round(float(cosines.min()), 4), "cosine_mean": round(float(cosines.mean()), 4)}


# --- queries ---------------------------------------------------------------------------------------------------------
def measure_retrieval(pipeline, gold, k: int = 5) -> dict:
    retriever = pipeline.retriever
    retriever.search("warm up", k=k)  # loads the embedder and the BM25 index
    latencies, hits = [], []
    for item in gold:
        t0 = time.perf_counter()
        results = retriever.search(item.question, k=k)
        latencies.append((time.perf_counter() - t0) * 1000)
        if item.answerable:
            hits.append(bool({h.chunk.doc_id for h in results} & set(item.doc_ids)))
    return {"recall_at_5": _r(sum(hits) / len(hits), 4) if hits else None, "p50_ms": _r(percentile(latencies, 50), 1),
            "p95_ms": _r(percentile(latencies, 95), 1), "n": len(latencies)}


def measure_answers(pipeline, gold, log: Log) -> dict:
    from .evaluate import aggregate_qa, score_answer

    ttfts, totals, rows = [], [], []
    for i, item in enumerate(gold, start=1):
        t0 = time.perf_counter()
        first = None
        answer = None
        for event in pipeline.ask_stream(item.question):
            if event.kind == "token" and first is None:
                first = time.perf_counter() - t0
            elif event.kind == "answer":
                answer = event.answer
        total = time.perf_counter() - t0
        totals.append(total)
        ttfts.append(first if first is not None else total)
        rows.append({"answerable": item.answerable, **score_answer(item, answer)})
        if i % 10 == 0:
            log(f"  {i}/{len(gold)} questions, median answer {statistics.median(totals):.2f} s")
    metrics = aggregate_qa(rows)
    return {"ttft_p50_s": _r(percentile(ttfts, 50)), "ttft_p95_s": _r(percentile(ttfts, 95)),
            "answer_p50_s": _r(percentile(totals, 50)), "answer_p95_s": _r(percentile(totals, 95)),
            "answer_accuracy": metrics["answer_accuracy"], "paths": metrics["paths"], "n": len(rows)}


def measure_summaries(pipeline, documents) -> dict:
    times = []
    for doc in documents:
        t0 = time.perf_counter()
        pipeline.summarize_text(doc.text, doc.title)
        times.append(time.perf_counter() - t0)
    return {"s_per_article": _r(statistics.mean(times)) if times else None, "n": len(times)}


class FreshModelGenerator:
    """The baseline generator: a new llama model and context for every call, so nothing is reused between calls."""

    def __init__(self, settings):
        from .generate import make_generator

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


# --- startup ---------------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_app_start(env: dict[str, str], app: Path) -> float:
    """Seconds from ``python app.py`` to its first HTTP 200; the server is then stopped."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(app), "--port", str(port), "--no-examples"], env=env, cwd=app.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        while time.perf_counter() - t0 < APP_TIMEOUT_S:
            if proc.poll() is not None:
                raise QABotError(f"app.py exited with {proc.returncode} before serving: "
                                 f"{proc.stderr.read().decode(errors='replace')[-500:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise QABotError(f"app.py did not serve within {APP_TIMEOUT_S:.0f} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and nothing else
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        proc.stderr.close()


def measure_ask_start(env: dict[str, str], question: str) -> tuple[float, float]:
    """(seconds to the first byte ``qa-bot ask`` prints, seconds until it exits)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa_bot.cli", "ask", question], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    first_byte = proc.stdout.read(1)
    first = time.perf_counter() - t0
    proc.stdout.read()
    err = proc.stderr.read()
    code = proc.wait()
    total = time.perf_counter() - t0
    if code != 0 or not first_byte:
        raise QABotError(f"qa-bot ask failed in the benchmark (exit {code}): {err.decode(errors='replace')[-500:]}")
    return first, total


def measure_startup(settings, baseline_settings, question: str, runs: int, log: Log) -> dict:
    app = Path(__file__).resolve().parent.parent / "app.py"
    result: dict[str, Any] = {}
    for side, s in (("configured", settings), ("baseline", baseline_settings)):
        env = settings_env(s)
        asks = [measure_ask_start(env, question) for _ in range(max(1, runs))]
        result[f"{side}_ask_first_output_s"] = _r(statistics.median(a[0] for a in asks), 2)
        result[f"{side}_ask_total_s"] = _r(statistics.median(a[1] for a in asks), 2)
        if app.is_file():
            result[f"{side}_app_start_s"] = _r(statistics.median(measure_app_start(env, app) for _ in range(max(1, runs))), 2)
        log(f"  {side}: ask first output {result[f'{side}_ask_first_output_s']} s"
            + (f", app serving after {result[f'{side}_app_start_s']} s" if app.is_file() else " (no app.py beside the package)"))
    return result


# --- the whole run ---------------------------------------------------------------------------------------------------
def run_bench(settings, options: BenchOptions, log: Log = lambda _: None) -> dict:
    from .embedders import make_embedder
    from .embedders.torch_backend import SentenceTransformerEmbedder
    from .evaluate import load_gold
    from .load import load_paths
    from .pipeline import Pipeline
    from .records import Document

    corpus, gold_path = Path(options.corpus), Path(options.gold)
    for path, what in ((corpus, "corpus"), (gold_path, "gold file")):
        if not path.is_file():
            raise InputError(f"{what} {path} does not exist; pass a .jsonl file")
    gold = load_gold(gold_path)
    if options.questions:
        gold = gold[: options.questions]
    started = time.perf_counter()
    load_start = os.getloadavg()
    key = _sha256(corpus)[:12]
    work = Path(options.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    configured = settings.model_copy(update={"index_dir": work / f"{key}-{settings.embed_backend}", "collection": COLLECTION})
    # The straightforward pipeline asks the model for every answer: no quoting of strong evidence without it.
    baseline = settings.model_copy(update={"index_dir": work / f"{key}-baseline", "collection": COLLECTION,
                                           "embed_backend": BASELINE_BACKEND, "embed_batch_size": BASELINE_BATCH,
                                           "prefer_quotes": False})
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
    """The flat figures (the issue's keys and their baseline twins and ratios)."""
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


def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    else:
        text = str(value)
    return text + unit


def format_bench_table(r: dict) -> str:
    ing, base_ing = r["ingest"]["configured"], r["ingest"]["baseline"]
    ratios = r["ratios"]
    rows = [
        ("embedding throughput (chunks/s)", r["chunks_per_s"], r["baseline_chunks_per_s"], r["embed_speedup"]),
        ("recall@5 on dev", r["recall_at_5"], r["baseline_recall_at_5"], None),
        ("answer accuracy on dev", r["answer_accuracy"], r["baseline_answer_accuracy"], None),
        ("ingest end to end (s)", r["ingest_s"], r["baseline_ingest_s"], ratios["ingest_s"]),
        ("  load + clean (s)", ing["split_s"]["clean"], base_ing["split_s"]["clean"], None),
        ("  chunk (s)", ing["split_s"]["chunk"], base_ing["split_s"]["chunk"], None),
        ("  embed (s)", ing["split_s"]["embed"], base_ing["split_s"]["embed"], None),
        ("  store (s)", ing["split_s"]["store"], base_ing["split_s"]["store"], None),
        ("  startup, export, other (s)", ing["split_s"]["other"], base_ing["split_s"]["other"], None),
        ("ingest articles/s", r["ingest_articles_per_s"], base_ing["articles_per_s"], None),
        ("ingest chunks/s", r["ingest_chunks_per_s"], r["baseline_ingest_chunks_per_s"], None),
        ("ingest peak RSS (MB)", r["peak_rss_mb"], r["baseline_peak_rss_mb"], ratios["peak_rss"]),
        ("re-ingest, nothing changed (s)", r["unchanged_reingest_s"], None, None),
        ("retrieval p50 (ms)", r["retrieval_p50_ms"], r["baseline_retrieval_p50_ms"], ratios["retrieval_p50"]),
        ("retrieval p95 (ms)", r["retrieval_p95_ms"], r["baseline_retrieval_p95_ms"], None),
        ("time to first token p50 (s)", r["ttft_p50_s"], r["baseline_ttft_p50_s"], ratios["ttft_p50"]),
        ("answer p50 (s)", r["answer_p50_s"], r["baseline_answer_p50_s"], ratios["answer_p50"]),
        ("answer p95 (s)", r["answer_p95_s"], r["baseline_answer_p95_s"], None),
        ("summary (s/article)", r["summary_s_per_article"], r["baseline_summary_s_per_article"], ratios["summary_per_article"]),
        ("qa-bot ask to first output (s)", r["cold_start_s"], r["baseline_cold_start_s"], ratios["cold_start"]),
        ("python app.py to serving (s)", r["app_start_s"], r["baseline_app_start_s"], ratios["app_start"]),
    ]
    head = ("", f"configured ({r['backend']})", f"baseline ({r['baseline_backend']})", "ratio")
    table = [head] + [(name, _cell(a), _cell(b), _cell(c, "×")) for name, a, b, c in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in table]
    lines.insert(1, "-" * len(lines[0]))
    notes = [f"corpus {r['corpus']} ({ing['docs']} articles, {ing['chunks']} chunks); {r['cpu_threads']} CPU threads; "
             f"load average {r['load_avg_start'][0]} at start, {r['load_avg_end'][0]} at end; bench took {r['bench_s']} s",
             f"embedding: {r['embed']['n']} indexed chunks, rounds {r['embed']['rounds']}, cosine to the baseline "
             f"vectors min {r['embed']['cosine_min']} mean {r['embed']['cosine_mean']}"]
    if base_ing["reused"]:
        notes.append(f"baseline ingest figures are from the run that built its index ({base_ing['built_at']}, "
                     f"load {base_ing['load_avg_1m']}); pass --rebuild-baseline to time it again")
    if ing["reused"]:
        notes.append(f"configured ingest figures are from an earlier run ({ing['built_at']}); drop --reuse-index to time it")
    if ing.get("onnx_export_included"):
        notes.append("the configured ingest included the one-time ONNX export")
    return "\n".join(lines + [""] + notes)
