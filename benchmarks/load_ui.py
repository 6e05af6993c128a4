"""Load test of the served chat on the real models: N simulated users (gradio_client, localhost only) ask questions
concurrently for a fixed time; reports errors, incomplete answers, latency percentiles and the server's memory.

    python benchmarks/load_ui.py [--users 20] [--seconds 120] [--out results.json]

It builds an index of ../shared/corpus/news-small.jsonl (once, in a temporary folder unless --index-dir names one),
starts `python app.py` on a free 127.0.0.1 port in a subprocess, samples that process's RSS every second, and stops
it at the end. Requests still running at the deadline are waited for, so every answer is checked. Traffic goes to
the loopback address only, and the run stops by itself."""
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

import psutil
from gradio_client import Client

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.eval.measure import free_port  # noqa: E402
from qa_bot.eval.metrics import percentile  # noqa: E402  linear interpolation, as statistics.quantiles(method="inclusive")
from tests.servers import ServerProcess  # noqa: E402
SHARED = REPO.parent / "shared"


def environment(index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               GRADIO_ANALYTICS_ENABLED="False", QA_BOT_INDEX_DIR=str(index_dir))
    return env


def build_index(corpus: Path, index_dir: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "qa_bot.cli", "ingest", str(corpus), "--json"], cwd=REPO,
                         env=environment(index_dir), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def run(users: int, seconds: float, index_dir: Path, questions: list[str], log: Path) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = ServerProcess("app.py", [sys.executable, "app.py", "--port", str(port), "--no-examples"], url, log,
                           startup_s=300, env=environment(index_dir), cwd=REPO).start()
    process = psutil.Process(server.pid)
    rss: list[tuple[float, float]] = []
    results: list[dict] = []
    lock = threading.Lock()
    load_before = os.getloadavg()
    started = time.monotonic()
    deadline = started + seconds
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.is_set():
            rss.append((round(time.monotonic() - started, 1), process.memory_info().rss / 2**20))
            stop_sampling.wait(1.0)

    def user(n: int) -> None:
        try:  # a browser waits for the page; the client's default 5 s for the API description is too short here
            client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})
        except Exception as err:  # noqa: BLE001 — a user who cannot even connect is an error too
            with lock:
                results.append({"user": n, "error": f"connect: {type(err).__name__}: {err}", "complete": False,
                                "latency_s": 0.0})
            return
        i = n
        while time.monotonic() < deadline:
            question = questions[i % len(questions)]
            i += users
            t0 = time.perf_counter()
            record = {"user": n, "question": question}
            try:
                chat, _, sources = client.predict(question, [], 5, [], "", "", False, api_name="/ask")
                content = chat[-1]["content"] if chat else ""
                text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
                state = "declined" if 'data-state="declined"' in sources else (
                    "answered" if 'data-state="answered"' in sources else "none")
                record.update(text=text, state=state,
                              complete=bool(text) and state != "none" and not text.startswith("Sorry"))
            except Exception as err:  # noqa: BLE001 — counted and reported, the run goes on
                record.update(error=f"{type(err).__name__}: {err}", complete=False)
            record["latency_s"] = time.perf_counter() - t0
            with lock:
                results.append(record)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    stop_sampling.set()
    sampler.join()
    load_after = os.getloadavg()
    server.stop()

    latencies = [r["latency_s"] for r in results if "error" not in r]
    warm = next((v for at, v in rss if at >= 10), rss[0][1])
    return {
        "users": users,
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "requests": len(results),
        "errors": sum("error" in r for r in results),
        "incomplete": sum(not r["complete"] for r in results),
        "answered": sum(r.get("state") == "answered" for r in results),
        "declined": sum(r.get("state") == "declined" for r in results),
        "per_user": [sum(r["user"] == n for r in results) for n in range(users)],
        "latency_s": {"p50": round(statistics.median(latencies), 2), "p95": round(percentile(latencies, 95), 2),
                      "max": round(max(latencies), 2)} if latencies else {},
        "throughput_per_min": round(len(latencies) / wall * 60, 1),
        # one sample a minute, to tell warm-up (growth that stops) from a leak (growth that does not)
        "server_rss_mb_by_minute": [round(v) for at, v in rss if at % 60 < 1],
        "server_rss_mb": {"start": round(rss[0][1]), "after_10s": round(warm), "end": round(rss[-1][1]),
                          "peak": round(max(v for _, v in rss))},
        "loadavg_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "cpu_count": os.cpu_count(),
        "failures": [r for r in results if not r["complete"]][:10],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--index-dir", type=Path, default=None, help="an index to use (default: build a temporary one)")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "news-small.jsonl")
    parser.add_argument("--questions", type=Path, default=SHARED / "gold" / "dev.jsonl")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()

    questions = [json.loads(line)["question"] for line in args.questions.open() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="qa-bot-load-") as scratch:
        index_dir = args.index_dir or Path(scratch) / "index"
        if not (index_dir / "chroma.sqlite3").exists():
            t0 = time.perf_counter()
            report = build_index(args.corpus, index_dir)
            print(f"indexed {report['index']['docs']} documents, {report['index']['chunks']} chunks "
                  f"in {time.perf_counter() - t0:.0f} s", flush=True)
        figures = run(args.users, args.seconds, index_dir, questions, Path(scratch) / "app.log")
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    return 0 if figures["errors"] == figures["incomplete"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
