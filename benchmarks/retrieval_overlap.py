"""Retrieval latency with the BM25 side overlapped (``Retriever.search``) vs run after the dense side, interleaved
question by question in one process so that machine noise hits both alike.

    python benchmarks/retrieval_overlap.py --index-dir /tmp/bench-idx/<key>-onnx-int8 --embed-backend onnx-int8

The index is the one `qa-bot bench --corpus ../shared/corpus/news.jsonl …` builds (collection ``bench``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.eval.bench import COLLECTION  # noqa: E402
from qa_bot.eval.records import load_gold  # noqa: E402
from qa_bot.pipeline import Pipeline  # noqa: E402
from qa_bot.retrieve import Filters  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--collection", default=COLLECTION)
    parser.add_argument("--embed-backend", default="torch")
    parser.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "gold" / "dev.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(index_dir=args.index_dir, collection=args.collection, embed_backend=args.embed_backend)
    retriever = Pipeline(settings).retriever
    questions = [item.question for item in load_gold(args.gold)]

    def one_after_the_other(question: str) -> None:  # the order before the overlap: embed, dense, then BM25
        filters = Filters()
        dense = retriever.store.query(retriever.embedder.embed_query(question), retriever.candidates,
                                      filters.chroma_where())
        lexical = retriever.lexical_index.search(question, retriever.candidates, filters)
        seen = {chunk.chunk_id for chunk, _ in dense}
        retriever.store.get_chunks([chunk_id for chunk_id, _ in lexical if chunk_id not in seen])

    retriever.search("warm up")
    one_after_the_other("warm up")
    sequential, overlapped = [], []
    for _ in range(args.rounds):
        for question in questions:
            t0 = time.perf_counter()
            one_after_the_other(question)
            t1 = time.perf_counter()
            retriever.search(question)
            overlapped.append((time.perf_counter() - t1) * 1000)
            sequential.append((t1 - t0) * 1000)
            time.sleep(0.05)

    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))]

    print(f"{len(questions)} questions x {args.rounds} rounds, {retriever.store.count_chunks()} chunks")
    print(f"one after the other: p50 {statistics.median(sequential):.1f} ms, p95 {p(sequential, 0.95):.1f} ms")
    print(f"overlapped:          p50 {statistics.median(overlapped):.1f} ms, p95 {p(overlapped, 0.95):.1f} ms")
    print(f"ratio (p50): {statistics.median(sequential) / statistics.median(overlapped):.2f}x")


if __name__ == "__main__":
    main()
