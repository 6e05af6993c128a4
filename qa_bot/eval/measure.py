"""The benchmark's measurements, each timing one thing for one side (configured or baseline): an ingest in a child
process, embedding throughput, retrieval, answers, summaries, and start-up."""
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
from pathlib import Path
from typing import Any

from ..errors import QABotError
from .metrics import aggregate_qa, percentile, rounded, score_answer

BASELINE_BACKEND = "torch"
APP_TIMEOUT_S = 300.0

Log = Callable[[str], None]


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
        "docs": docs, "chunks": chunks, "articles_per_s": rounded(docs / elapsed, 2), "chunks_per_s": rounded(chunks / elapsed, 2),
        "embed_chunks_per_s": rounded(chunks / t["embed_s"], 2) if t["embed_s"] else None,
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


# --- queries (retrieval, answers, summaries) ---------------------------------------------------------------------------------------------------------
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
    return {"recall_at_5": rounded(sum(hits) / len(hits), 4) if hits else None,
            "p50_ms": rounded(percentile(latencies, 50), 1), "p95_ms": rounded(percentile(latencies, 95), 1),
            "n": len(latencies)}


def measure_answers(pipeline, gold, log: Log) -> dict:
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
    return {"ttft_p50_s": rounded(percentile(ttfts, 50), 3), "ttft_p95_s": rounded(percentile(ttfts, 95), 3),
            "answer_p50_s": rounded(percentile(totals, 50), 3), "answer_p95_s": rounded(percentile(totals, 95), 3),
            "answer_accuracy": metrics["answer_accuracy"], "paths": metrics["paths"], "n": len(rows)}


def measure_summaries(pipeline, documents) -> dict:
    times = []
    for doc in documents:
        t0 = time.perf_counter()
        pipeline.summarize_text(doc.text, doc.title)
        times.append(time.perf_counter() - t0)
    return {"s_per_article": rounded(statistics.mean(times), 3) if times else None, "n": len(times)}


# --- startup ---------------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A localhost port that is free now (the benchmark, the load test and the test suite all use this one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure_app_start(env: dict[str, str], app: Path) -> float:
    """Seconds from ``python app.py`` to its first HTTP 200; the server is then stopped."""
    port = free_port()
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
    app = Path(__file__).resolve().parents[2] / "app.py"
    result: dict[str, Any] = {}
    for side, s in (("configured", settings), ("baseline", baseline_settings)):
        env = settings_env(s)
        asks = [measure_ask_start(env, question) for _ in range(max(1, runs))]
        result[f"{side}_ask_first_output_s"] = rounded(statistics.median(a[0] for a in asks), 2)
        result[f"{side}_ask_total_s"] = rounded(statistics.median(a[1] for a in asks), 2)
        if app.is_file():
            result[f"{side}_app_start_s"] = rounded(statistics.median(measure_app_start(env, app) for _ in range(max(1, runs))), 2)
        log(f"  {side}: ask first output {result[f'{side}_ask_first_output_s']} s"
            + (f", app serving after {result[f'{side}_app_start_s']} s" if app.is_file() else " (no app.py beside the package)"))
    return result
