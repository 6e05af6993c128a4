"""Choose the digest's clustering threshold (Settings.digest_similarity) on data: sweep it over the articles of an
index and report, per threshold, the number of topics, the share of one-article topics, the largest topic and the
mean silhouette (cosine distance; a one-article topic counts 0). The threshold with the best silhouette is the one
the settings ship.

    python benchmarks/digest_threshold.py --index-dir /tmp/news-small-index [--out docs/eval/digest-threshold.md]
    python benchmarks/digest_threshold.py --index-dir /tmp/idx --corpus ../shared/corpus/news.jsonl \
        --exclude ../shared/corpus/news-small.jsonl

With --corpus the corpus is indexed once into its own eval collection under --index-dir (as `qa-bot eval --corpus`
does); --exclude leaves out the articles of another corpus file (e.g. the set the digest is then checked on).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa_bot.digest import cluster  # noqa: E402
from qa_bot.eval.corpus import open_pipeline  # noqa: E402
from qa_bot.settings import Settings  # noqa: E402

THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(11)]


def silhouette(vectors: np.ndarray, groups: list[list[int]]) -> float:
    labels = np.empty(len(vectors), dtype=int)
    for k, group in enumerate(groups):
        labels[group] = k
    distance = 1.0 - vectors @ vectors.T
    onehot = np.zeros((len(vectors), len(groups)))
    onehot[np.arange(len(vectors)), labels] = 1.0
    sizes = onehot.sum(axis=0)
    sums = distance @ onehot  # (n, k): summed distance of each article to each topic
    own = sizes[labels]
    a = sums[np.arange(len(vectors)), labels] / np.maximum(own - 1, 1)
    others = np.where(onehot.astype(bool), np.inf, sums / sizes)
    b = others.min(axis=1) if len(groups) > 1 else np.zeros(len(vectors))
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--collection", default=Settings().collection)
    parser.add_argument("--corpus", type=Path, help="Index this corpus into its own collection and sweep over it.")
    parser.add_argument("--exclude", type=Path, help="Leave out the articles of this .jsonl.")
    parser.add_argument("--out", type=Path, help="Write the sweep as a markdown table here.")
    args = parser.parse_args()
    excluded = {json.loads(line)["doc_id"] for line in args.exclude.read_text(encoding="utf-8").splitlines()
                if line} if args.exclude else set()
    pipeline, _, _ = open_pipeline(Settings(index_dir=args.index_dir, collection=args.collection), args.corpus,
                                   progress=True)
    ids = [r.doc_id for r in pipeline.documents() if r.doc_id not in excluded]
    found = pipeline.store().document_vectors(ids)
    vectors = np.stack([found[i] for i in ids if i in found])
    rows = []
    for threshold in THRESHOLDS:
        groups = cluster(vectors, threshold)
        sizes = [len(g) for g in groups]
        rows.append({"threshold": threshold, "topics": len(groups),
                     "singleton_share": round(sum(s == 1 for s in sizes) / len(sizes), 3),
                     "largest": max(sizes), "silhouette": round(silhouette(vectors, groups), 4)})
    best = max(rows, key=lambda r: r["silhouette"])
    what = f"{args.corpus.name if args.corpus else args.index_dir}" + (f" not in {args.exclude.name}" if args.exclude else "")
    lines = [f"# Digest threshold sweep: {len(vectors)} articles of {what}", "",
             "| threshold | topics | one-article topics | largest topic | silhouette |", "|---|---|---|---|---|"]
    lines += [f"| {r['threshold']:.2f}{' **(best)**' if r is best else ''} | {r['topics']} | "
              f"{r['singleton_share']:.1%} | {r['largest']} | {r['silhouette']:.4f} |" for r in rows]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
