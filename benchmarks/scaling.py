"""How ingest and queries grow with the index: 1k, 10k and 100k chunks, embedded store vs a Chroma server.

    python benchmarks/scaling.py --sizes 1000 10000 100000 --modes embedded server --out scaling-results.json

The chunks are the real corpus (../shared/corpus/news.jsonl), chunked with the real MiniLM tokenizer; sizes past the
corpus repeat it (each copy gets its own ids and a "Copy k." line, so no two chunks are identical). Vectors are
hashed bag-of-words vectors of MiniLM's dimension (384), not MiniLM's: embedding is measured once on its own
(``embed_chunks_per_s``), so a real ingest takes about ``chunks / embed_chunks_per_s`` more than the figures here.
Each (mode, size) runs in its own process, so its peak memory is its own. Results are JSON (one object per run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from qa_bot.chunk import chunk_document  # noqa: E402
from qa_bot.embedders.torch_backend import SentenceTransformerEmbedder  # noqa: E402
from qa_bot.load import load_paths  # noqa: E402
from qa_bot.records import Document  # noqa: E402

SHARED = REPO.parent / "shared"
N_QUESTIONS = 20


class HashedEmbedder:
    """MiniLM's tokenizer (so chunks are sized as in real use) with hashed 384-d vectors instead of the model."""

    name = "hashed-384"
    dim = 384

    def __init__(self):
        self.tokenizer_source = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
        self.max_tokens = self.tokenizer_source.max_tokens

    def count_tokens(self, texts):
        return self.tokenizer_source.count_tokens(texts)

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % self.dim] += 1.0
        return v / (np.linalg.norm(v) or 1.0)

    def embed_documents(self, texts):
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text):
        return self._vector(text)


def corpus_documents(n_chunks: int, embedder: HashedEmbedder) -> list[Document]:
    """Whole documents, repeating the corpus as needed, until they hold about ``n_chunks`` chunks (a copy is
    counted as its original; its extra line rarely adds a chunk)."""
    gold = {d for line in (SHARED / "gold" / "dev.jsonl").open(encoding="utf-8") for d in json.loads(line)["doc_ids"]}
    base = [d for d in load_paths([SHARED / "corpus" / "news.jsonl"]) if isinstance(d, Document)]
    base.sort(key=lambda d: d.doc_id not in gold)  # the articles the questions are about first: in every size
    docs, total, copy = [], 0, 0
    counts: dict[str, int] = {}
    while total < n_chunks:
        for doc in base:
            if doc.doc_id not in counts:
                counts[doc.doc_id] = len(chunk_document(doc, embedder.count_tokens, embedder.max_tokens, 60))
            text = doc.text if copy == 0 else f"{doc.text}\n\nCopy {copy}."
            docs.append(Document(doc_id=doc.doc_id if copy == 0 else f"{doc.doc_id}~{copy}", text=text,
                                 title=doc.title, url=doc.url, source=doc.source, published=doc.published,
                                 path=doc.path,
                                 content_hash=hashlib.sha256(f"{doc.content_hash}{copy}".encode()).hexdigest()))
            total += counts[doc.doc_id]
            if total >= n_chunks:
                break
        copy += 1
    return docs


def rss_mb(pid: int | None = None) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def median_ms(fn, items) -> float:
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 1)


def run_one(mode: str, size: int, workdir: Path) -> dict:
    from qa_bot.pipeline import Pipeline
    from qa_bot.retrieve import ChromaFullTextIndex, LexicalIndex, Retriever
    from qa_bot.settings import Settings
    from tests.conftest import ScriptedGenerator
    from tests.servers import chroma_server, url_of

    embedder = HashedEmbedder()
    docs = corpus_documents(size, embedder)
    gold = [json.loads(line) for line in (SHARED / "gold" / "dev.jsonl").open(encoding="utf-8")]
    questions = [g for g in gold if g["answerable"]][:N_QUESTIONS]

    server = chroma_server(workdir / "chroma-data").start() if mode == "server" else None
    try:
        settings = Settings(index_dir=workdir / "index", collection="scale", _env_file=None,
                            chroma_url=url_of(server) if server else None)
        pipeline = Pipeline(settings, embedder=embedder, generator=ScriptedGenerator())
        import bm25s

        bm25s.BM25().index(bm25s.tokenize(["warm up the imports"], show_progress=False), show_progress=False)
        t0 = time.perf_counter()
        report = pipeline.ingest_documents(docs)
        ingest_s = time.perf_counter() - t0
        store = pipeline.store()
        n_chunks = report.chunks
        assert store.count_chunks() == n_chunks and store.count_documents() == len(docs)

        t0 = time.perf_counter()
        store.sweep_orphans()
        sweep_s = time.perf_counter() - t0

        vectors = [embedder.embed_query(q["question"]) for q in questions]
        dense_ms = median_ms(lambda v: store.query(v, 30), vectors)

        rss_before = rss_mb()
        t0 = time.perf_counter()
        bm25 = LexicalIndex(store, None)
        bm25_build_s = time.perf_counter() - t0
        rss_after_bm25 = rss_mb()
        bm25_arrays_mb = sum(a.nbytes for a in bm25.retriever.scores.values() if hasattr(a, "nbytes")) / 2**20
        bm25_ms = median_ms(lambda q: bm25.search(q["question"], 30), questions)

        t0 = time.perf_counter()
        fts = ChromaFullTextIndex(store)
        fts_init_ms = (time.perf_counter() - t0) * 1000
        fts_cold_ms = median_ms(lambda q: fts.search(q["question"], 30), questions)  # postings not cached yet
        fts_warm_ms = median_ms(lambda q: fts.search(q["question"], 30), questions)

        def doc_recall(search) -> float:
            found = 0
            for q in questions:
                ids = [cid for cid, _ in search(q["question"], 10)]
                docs_found = {c.doc_id.split("~")[0] for c in store.get_chunks(ids)}
                found += bool(docs_found & set(q["doc_ids"]))
            return round(found / len(questions), 3)

        overlap = statistics.mean(
            len({c for c, _ in bm25.search(q["question"], 10)} & {c for c, _ in fts.search(q["question"], 10)}) / 10
            for q in questions)
        retriever = Retriever(store, embedder, lexical_strategy="chroma-fts")
        hybrid_fts_ms = median_ms(lambda q: retriever.search(q["question"], 5), questions)

        disk = (workdir / "chroma-data") if server else (workdir / "index")
        result = {
            "mode": mode, "chunks": n_chunks, "documents": len(docs),
            "ingest_s": round(ingest_s, 1), "ingest_chunks_per_s": round(n_chunks / ingest_s),
            "ingest_parts_s": {k: round(v, 1) for k, v in report.timings.items()},
            "sweep_orphans_s": round(sweep_s, 2),
            "dense_query_ms": dense_ms,
            "bm25s_build_s": round(bm25_build_s, 1), "bm25s_query_ms": bm25_ms,
            "bm25s_extra_rss_mb": round(rss_after_bm25 - rss_before, 0),
            "bm25s_matrix_mb": round(bm25_arrays_mb, 1),
            "fts_init_ms": round(fts_init_ms, 1), "fts_query_cold_ms": fts_cold_ms, "fts_query_warm_ms": fts_warm_ms,
            "hybrid_query_fts_ms": hybrid_fts_ms,
            "lexical_doc_recall_at_10": {"bm25s": doc_recall(bm25.search), "chroma-fts": doc_recall(fts.search)},
            "fts_bm25s_top10_overlap": round(overlap, 3),
            "qa_bot_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
            "server_rss_mb": round(rss_mb(server.pid), 0) if server else None,
            "disk_mb": round(sum(p.stat().st_size for p in disk.rglob("*") if p.is_file()) / 2**20, 1),
            "load_avg_1m": round(os.getloadavg()[0], 1),
        }
        return result
    finally:
        if server:
            server.stop()


def embed_throughput() -> float:
    """Chunks per second for the real MiniLM embedder (torch, batch 64), on 256 real chunks."""
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=64)
    docs = [d for d in load_paths([SHARED / "corpus" / "news-small.jsonl"]) if isinstance(d, Document)][:40]
    texts = [c.text for d in docs for c in chunk_document(d, embedder.count_tokens, embedder.max_tokens, 60)][:256]
    embedder.embed_documents(texts[:16])  # load and warm up
    t0 = time.perf_counter()
    embedder.embed_documents(texts)
    return round(len(texts) / (time.perf_counter() - t0), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--modes", nargs="+", default=["embedded", "server"], choices=["embedded", "server"])
    parser.add_argument("--out", type=Path, default=Path("scaling-results.json"))
    parser.add_argument("--one", nargs=2, metavar=("MODE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        workdir = Path(tempfile.mkdtemp(prefix="qa-bot-scale-"))
        try:
            print(json.dumps(run_one(args.one[0], int(args.one[1]), workdir)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return

    results = {"embed_chunks_per_s": embed_throughput(), "cpus": os.cpu_count(), "runs": []}
    print(f"MiniLM embedding: {results['embed_chunks_per_s']} chunks/s", file=sys.stderr)
    for size in args.sizes:
        for mode in args.modes:
            done = subprocess.run([sys.executable, __file__, "--one", mode, str(size)], capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{mode} {size} failed:\n{done.stderr[-3000:]}")
            run = json.loads(done.stdout.strip().splitlines()[-1])
            results["runs"].append(run)
            print(json.dumps(run), file=sys.stderr)
            args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
