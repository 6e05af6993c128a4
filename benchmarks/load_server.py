"""Load test of the OpenAI-compatible API (`qa-bot serve`) on the real models: N clients (the openai package, on
the loopback address only) ask a mix of questions for a fixed time; reports errors, latency percentiles, requests
done and the server's memory before and after.

    python benchmarks/load_server.py [--clients 20] [--seconds 60] [--out results.json]

It indexes examples/000_b060f3c20b339b0c.txt into a temporary folder (unless --index-dir names an index), starts
`qa-bot serve` on a free 127.0.0.1 port in a subprocess, samples that process's RSS every second, and stops it at the
end. The mix: questions the article answers, one it does not (declined), a follow-up sent with its conversation, half
of them streamed. Requests still running at the deadline are waited for (each is bounded by --timeout), so the run
stops by itself."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import openai
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.eval.measure import free_port  # noqa: E402
from qa_bot.eval.metrics import percentile  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402
ARTICLE = REPO / "examples" / "000_b060f3c20b339b0c.txt"
MODEL = "qa-bot"
FIRST = "Who greeted Vladimir Putin?"
# (question, asked after FIRST in the same conversation?, expected to be answered with a source?)
MIX = [
    ("What did Russia reportedly give North Korea in exchange?", False, True),
    (FIRST, False, True),
    ("Which country will the Russian president visit after North Korea?", False, True),
    ("When did he greet him?", True, True),
    ("What is the capital of Australia?", False, False),
]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def qa_bot(index_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "qa_bot.cli", "--index-dir", str(index_dir), *args]


def run(clients: int, seconds: float, timeout: float, index_dir: Path, log: Path) -> dict:
    port = free_port()
    server = ServerProcess("qa-bot serve", qa_bot(index_dir, "serve", "--port", str(port)),
                           f"http://127.0.0.1:{port}/healthz", log, startup_s=300, env=environment(), cwd=REPO).start()
    try:
        return measure(clients, seconds, timeout, port, psutil.Process(server.pid))
    finally:
        server.stop()


def measure(clients: int, seconds: float, timeout: float, port: int, process: psutil.Process) -> dict:
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=timeout)
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FIRST}])
    conversation = [{"role": "user", "content": FIRST},
                    {"role": "assistant", "content": first.choices[0].message.content}]
    rss_before = process.memory_info().rss / 2**20  # models loaded and one question answered: the warm server
    rss: list[tuple[float, float]] = []  # (seconds since the start, MB)
    results: list[dict] = []
    lock = threading.Lock()
    load_before = os.getloadavg()
    started = time.monotonic()
    deadline = started + seconds
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            rss.append((time.monotonic() - started, process.memory_info().rss / 2**20))
            stop_sampling.wait(1.0)

    def ask(question: str, follow_up: bool, stream: bool) -> tuple[str, list]:
        messages = [*(conversation if follow_up else []), {"role": "user", "content": question}]
        if not stream:
            reply = client.chat.completions.create(model=MODEL, messages=messages)
            return reply.choices[0].message.content or "", reply.model_extra.get("citations") or []
        text, citations = "", []
        for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
            citations = (chunk.model_extra or {}).get("citations") or citations
        return text, citations

    def user(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            question, follow_up, answerable = MIX[i % len(MIX)]
            stream = (i // len(MIX)) % 2 == 1  # each question both ways, in turn
            i += 1
            record = {"client": n, "question": question, "stream": stream}
            t0 = time.perf_counter()
            try:
                text, citations = ask(question, follow_up, stream)
                # complete: text came back, and it cites a source exactly when the article answers the question
                record.update(complete=bool(text) and bool(citations) == answerable and ("[1]" in text) == answerable)
            except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
                record.update(error=f"{type(err).__name__}: {err}", complete=False)
            record["latency_s"] = time.perf_counter() - t0
            with lock:
                results.append(record)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:  # each request is bounded by the client's timeout, so this ends
        t.join()
    wall = time.monotonic() - started
    stop_sampling.set()
    sampler.join()
    rss_after = process.memory_info().rss / 2**20
    load_after = os.getloadavg()

    latencies = [r["latency_s"] for r in results if "error" not in r]
    return {
        "clients": clients,
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "requests": len(results),
        "errors": sum("error" in r for r in results),
        "incomplete": sum(not r["complete"] for r in results),
        "streamed": sum(r["stream"] for r in results),
        "latency_s": {"p50": round(statistics.median(latencies), 2), "p95": round(percentile(latencies, 95), 2),
                      "max": round(max(latencies), 2)} if latencies else {},
        "throughput_per_min": round(len(latencies) / wall * 60, 1),
        "server_rss_mb": {"before": round(rss_before), "after": round(rss_after),
                          "peak": round(max((v for _, v in rss), default=0))},
        # one sample a minute, to tell warm-up (growth that stops) from a leak (growth that does not)
        "server_rss_mb_by_minute": [round(v) for at, v in rss if at % 60 < 1],
        "loadavg_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "cpu_count": os.cpu_count(),
        "failures": [r for r in results if not r["complete"]][:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=300, help="seconds one request may take before it counts as "
                        "an error (default %(default)s)")
    parser.add_argument("--index-dir", type=Path, default=None, help="an index to use (default: a temporary one of "
                        "the example article)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qa-bot-load-server-") as scratch:
        index_dir = args.index_dir or Path(scratch) / "index"
        if not (index_dir / "chroma.sqlite3").exists():
            subprocess.run(qa_bot(index_dir, "ingest", str(ARTICLE)), cwd=REPO, env=environment(), check=True,
                           capture_output=True)
        figures = run(args.clients, args.seconds, args.timeout, index_dir, Path(scratch) / "serve.log")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return 0 if figures["errors"] == figures["incomplete"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
